"""AvisoEspacado: a failing dependency is logged once per interval, with the count of warnings left out."""

import logging

from core import aviso_espacado
from core.aviso_espacado import AvisoEspacado


def test_it_logs_once_per_interval_and_counts_what_it_left_out(caplog, monkeypatch):
    agora = [1000.0]
    monkeypatch.setattr(aviso_espacado.time, "monotonic", lambda: agora[0])
    aviso = AvisoEspacado(logging.getLogger("teste.aviso"), intervalo=60)

    with caplog.at_level(logging.WARNING, logger="teste.aviso"):
        for segundos in (0, 10, 59):
            agora[0] = 1000.0 + segundos
            aviso.avisar("cache %r fora do ar", "default")
        agora[0] = 1061.0
        aviso.avisar("cache %r fora do ar", "default")

    assert [r.getMessage() for r in caplog.records] == [
        "cache 'default' fora do ar (0 falhas omitidas desde o último aviso)",
        "cache 'default' fora do ar (2 falhas omitidas desde o último aviso)",
    ]
