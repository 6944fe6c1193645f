"""Event ids: a leaf module (no imports from the project), so anything may make or compare them."""

from __future__ import annotations

import os
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

_ultimo = [0, 0]  # (milliseconds, random part) of the last id made in this process
_trava = threading.Lock()


def novo_id_de_evento() -> str:
    """"evt_" + a monotonic ULID (48-bit milliseconds + 80 random bits, Crockford base32).

    Within one process ids strictly increase, even inside the same millisecond (the random part is
    incremented), so the events of one import batch keep their order in the feed.
    """
    with _trava:
        agora = time.time_ns() // 1_000_000
        if agora <= _ultimo[0]:
            _ultimo[1] += 1
        else:
            _ultimo[:] = [agora, int.from_bytes(os.urandom(10), "big") >> 1]  # headroom for increments
        valor = _ultimo[0] << 80 | _ultimo[1]
    return _id_do_valor(valor)


def menor_id_de_evento(instante) -> str:
    """The smallest event id of the millisecond `instante`: ids below it were made before it.

    The cleanup bounds its walk over old events with it (`core/tarefas/limpeza.py`).
    """
    return _id_do_valor(int(instante.timestamp() * 1000) << 80)


def _id_do_valor(valor: int) -> str:
    caracteres = []
    for _ in range(26):
        valor, resto = divmod(valor, 32)
        caracteres.append(_CROCKFORD[resto])
    return "evt_" + "".join(reversed(caracteres))
