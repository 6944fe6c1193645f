"""What the benchmarks share: a throw-away database for one run."""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper


@contextlib.contextmanager
def banco_descartavel(nome: str) -> Iterator[Path]:
    """A fresh database for one benchmark run, dropped at the end; yields a temporary folder.

    SQLite: a file in that folder. PostgreSQL (DATABASE_URL): `test_fiscal_<nome>`, never the test
    suite's own database, so a test run going on at the same time keeps its data.
    """
    banco = settings.DATABASES["default"]
    with tempfile.TemporaryDirectory() as temporaria:
        sqlite = connection.vendor == "sqlite"  # the ENGINE is fiscal_app.sqlite, not Django's name
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


@contextlib.contextmanager
def copia_do_banco(sufixo: str) -> Iterator[BaseDatabaseWrapper]:
    """A copy of the throw-away database as it is now, as a second connection; dropped at the end.

    With `usando()`, a benchmark keeps two sizes of the same data side by side and alternates its requests
    between them, so a change in the machine's load (other processes) moves both sides alike.
    """
    from core.registro_requisicoes import registro

    registro.parar()  # its thread holds a connection, and PostgreSQL copies only a database nobody is in
    origem = connection.settings_dict["NAME"]
    postgres = connection.vendor == "postgresql"
    if postgres:
        destino = f"{origem}_{sufixo}"
        connection.close()
        with _servidor() as cursor:
            nomes = connection.ops.quote_name(destino), connection.ops.quote_name(origem)
            cursor.execute("DROP DATABASE IF EXISTS %s" % nomes[0])
            cursor.execute("CREATE DATABASE %s TEMPLATE %s" % nomes)
    else:
        destino = str(Path(origem).with_name(f"{Path(origem).stem}_{sufixo}.sqlite3"))
        connection.ensure_connection()
        with contextlib.closing(sqlite3.connect(destino)) as copia:
            connection.connection.backup(copia)
    outra = type(connections[DEFAULT_DB_ALIAS])({**connection.settings_dict, "NAME": destino}, DEFAULT_DB_ALIAS)
    try:
        yield outra
    finally:
        outra.close()
        if postgres:
            with _servidor() as cursor:
                cursor.execute("DROP DATABASE IF EXISTS %s" % connection.ops.quote_name(destino))
        else:
            for arquivo in (destino, f"{destino}-wal", f"{destino}-shm"):
                Path(arquivo).unlink(missing_ok=True)


@contextlib.contextmanager
def usando(banco: BaseDatabaseWrapper) -> Iterator[None]:
    """Run Django's default connection (`django.db.connection`, every query of a request) on `banco`."""
    anterior = connections[DEFAULT_DB_ALIAS]
    connections[DEFAULT_DB_ALIAS] = banco
    try:
        yield
    finally:
        connections[DEFAULT_DB_ALIAS] = anterior


@contextlib.contextmanager
def _servidor():
    """A cursor on PostgreSQL's `postgres` database, for CREATE/DROP DATABASE (never inside a transaction)."""
    servidor = type(connections[DEFAULT_DB_ALIAS])({**connection.settings_dict, "NAME": "postgres"}, "bench_servidor")
    try:
        with servidor.cursor() as cursor:
            yield cursor
    finally:
        servidor.close()


def confiar_na_ac_de_teste(pasta: Path) -> None:
    """Trust the test CA that signs the bench's documents, so every import runs the whole ICP-Brasil chain
    check (leaf -> AC -> root), as a real document does, instead of stopping at an unknown issuer."""
    from django.conf import settings

    from core.geracao.certificado import pem_autoridade_teste

    arquivo = pasta / "ac-teste.pem"
    arquivo.write_bytes(pem_autoridade_teste())
    settings.FISCAL_CADEIA_CERTIFICADOS_EXTRAS = [str(arquivo)]
