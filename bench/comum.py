"""What the benchmarks share: a throw-away database for one run."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection


@contextlib.contextmanager
def banco_descartavel(nome: str) -> Iterator[Path]:
    """A fresh database for one benchmark run, dropped at the end; yields a temporary folder.

    SQLite: a file in that folder. PostgreSQL (DATABASE_URL): `test_fiscal_<nome>`, never the test
    suite's own database, so a test run going on at the same time keeps its data.
    """
    banco = settings.DATABASES["default"]
    with tempfile.TemporaryDirectory() as temporaria:
        sqlite = banco["ENGINE"].endswith("sqlite3")
        banco.setdefault("TEST", {})["NAME"] = str(Path(temporaria) / f"{nome}.sqlite3") if sqlite else f"test_fiscal_{nome}"
        nome_original = banco["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            yield Path(temporaria)
        finally:
            from core.registro_requisicoes import registro

            registro.parar()  # the API request log rows still queued go to this database, not the real one
            connection.close()
            connection.creation.destroy_test_db(nome_original, verbosity=0)


def confiar_na_ac_de_teste(pasta: Path) -> None:
    """Trust the test CA that signs the bench's documents, so every import runs the whole ICP-Brasil chain
    check (leaf -> AC -> root), as a real document does, instead of stopping at an unknown issuer."""
    from django.conf import settings

    from core.geracao.certificado import pem_autoridade_teste

    arquivo = pasta / "ac-teste.pem"
    arquivo.write_bytes(pem_autoridade_teste())
    settings.FISCAL_CADEIA_CERTIFICADOS_EXTRAS = [str(arquivo)]
