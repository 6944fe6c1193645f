"""Upkeep of the rollups: fold each key's delta rows into one (`compactar`), or rebuild from the documents
(`reconstruir`). Both keep every sum exact while imports go on."""

from __future__ import annotations

from django.db import connection, transaction

from .definicoes import DEFINICOES, Definicao
from .gatilhos import selecao


def _somas(definicao: Definicao) -> tuple[str, str]:
    colunas = ("quantidade", *definicao.somas)
    return ", ".join(f"SUM({c})" for c in colunas), " OR ".join(f"SUM({c}) <> 0" for c in colunas)


def _repetidas(definicao: Definicao, organizacao_id: int | None) -> tuple[str, list]:
    """The ids of the rows whose key has more than one row (of one organization, or of all)."""
    filtro, parametros = ("WHERE organizacao_id = %s", [organizacao_id]) if organizacao_id else ("", [])
    chave = ", ".join(definicao.chave)
    return (
        f"SELECT id FROM (SELECT id, COUNT(*) OVER (PARTITION BY {chave}) AS linhas FROM {definicao.tabela} {filtro}) "  # noqa: S608 (names from core.agregados.definicoes, no input)
        "AS contadas WHERE linhas > 1"
    ), parametros


def linhas_a_compactar(organizacao_id: int | None = None) -> int:
    """How many rows share their key with another (what `compactar` would fold)."""
    total = 0
    with connection.cursor() as cursor:
        for definicao in DEFINICOES:
            repetidas, parametros = _repetidas(definicao, organizacao_id)
            cursor.execute(f"SELECT COUNT(*) FROM ({repetidas}) AS repetidas", parametros)  # noqa: S608 (names from core.agregados.definicoes, no input)
            total += cursor.fetchone()[0]
    return total


def compactar(organizacao_id: int | None = None) -> int:
    """Fold every key's rows into one row (dropping keys that sum to zero); returns the rows removed."""
    removidas = 0
    for definicao in DEFINICOES:
        with transaction.atomic(), connection.cursor() as cursor:
            removidas += _compactar(cursor, definicao, organizacao_id)
    return removidas


def _compactar(cursor, definicao: Definicao, organizacao_id: int | None) -> int:
    repetidas, parametros = _repetidas(definicao, organizacao_id)
    somas, alguma = _somas(definicao)
    chave, colunas = ", ".join(definicao.chave), ", ".join(definicao.colunas)
    if connection.vendor == "postgresql":
        # One statement: the rows folded are exactly the rows deleted. A delta committed meanwhile by an
        # import is not in this statement's snapshot, so it is neither deleted nor summed: it stays a delta.
        cursor.execute(
            f"WITH apagadas AS (DELETE FROM {definicao.tabela} WHERE id IN ({repetidas}) RETURNING {colunas}), "  # noqa: S608 (names from core.agregados.definicoes, no input)
            f"novas AS (INSERT INTO {definicao.tabela} ({colunas}) SELECT {chave}, {somas} FROM apagadas "
            f"GROUP BY {chave} HAVING {alguma} RETURNING 1) "
            "SELECT (SELECT COUNT(*) FROM apagadas) - (SELECT COUNT(*) FROM novas)",
            parametros,
        )
        return cursor.fetchone()[0]
    # SQLite: the transaction is IMMEDIATE (settings), so no other writer runs between these statements.
    cursor.execute("CREATE TEMP TABLE IF NOT EXISTS agregados_repetidas (id INTEGER PRIMARY KEY)")
    cursor.execute("DELETE FROM agregados_repetidas")
    cursor.execute(f"INSERT INTO agregados_repetidas {repetidas}", parametros)
    cursor.execute(
        f"INSERT INTO {definicao.tabela} ({colunas}) SELECT {chave}, {somas} FROM {definicao.tabela} "  # noqa: S608 (names from core.agregados.definicoes, no input)
        f"WHERE id IN (SELECT id FROM agregados_repetidas) GROUP BY {chave} HAVING {alguma}"
    )
    novas = cursor.rowcount
    cursor.execute(f"DELETE FROM {definicao.tabela} WHERE id IN (SELECT id FROM agregados_repetidas)")  # noqa: S608 (names from core.agregados.definicoes, no input)
    return cursor.rowcount - novas


def reconstruir(organizacao_id: int | None = None) -> int:
    """Rebuild the rollups (of one organization, or of all) from the documents; returns the rows written.

    On PostgreSQL the documents' tables are locked in SHARE mode for the rebuild: writers wait (reads go on),
    so no import commits a delta the rebuilt sums already count, or misses one."""
    escritas = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("LOCK TABLE core_nfe, core_cte IN SHARE MODE")
        for definicao in DEFINICOES:
            filtro, parametros = ("WHERE organizacao_id = %s", [organizacao_id]) if organizacao_id else ("", [])
            cursor.execute(f"DELETE FROM {definicao.tabela} {filtro}", parametros)  # noqa: S608 (names from core.agregados.definicoes, no input)
            origem = f"(SELECT * FROM {definicao.origem} {filtro})"  # noqa: S608 (names from core.agregados.definicoes, no input)
            selecoes = " UNION ALL ".join(
                selecao(definicao, connection.vendor, "r", 1, grao, origem) for grao in ("d", "m")
            )
            somas, alguma = _somas(definicao)
            chave = ", ".join(definicao.chave)
            cursor.execute(
                f"INSERT INTO {definicao.tabela} ({', '.join(definicao.colunas)}) SELECT {chave}, {somas} "  # noqa: S608 (names from core.agregados.definicoes, no input)
                f"FROM ({selecoes}) AS linhas GROUP BY {chave} HAVING {alguma}",
                parametros * 2,
            )
            escritas += cursor.rowcount
    return escritas


def diferencas(organizacao_id: int) -> list[tuple[str, tuple]]:
    """The (table, key) pairs where the rollups' sums differ from the documents' (nothing when exact)."""
    erradas = []
    with connection.cursor() as cursor:
        for definicao in DEFINICOES:
            somas, alguma = _somas(definicao)
            chave = ", ".join(definicao.chave)
            cursor.execute(
                f"SELECT {chave}, {somas} FROM {definicao.tabela} WHERE organizacao_id = %s "  # noqa: S608 (names from core.agregados.definicoes, no input)
                f"GROUP BY {chave} HAVING {alguma}",
                [organizacao_id],
            )
            guardadas = _por_chave(cursor.fetchall(), len(definicao.chave))
            origem = f"(SELECT * FROM {definicao.origem} WHERE organizacao_id = %s)"  # noqa: S608 (names from core.agregados.definicoes, no input)
            selecoes = " UNION ALL ".join(selecao(definicao, connection.vendor, "r", 1, grao, origem) for grao in ("d", "m"))
            cursor.execute(
                f"SELECT {chave}, {somas} FROM ({selecoes}) AS linhas GROUP BY {chave}",  # noqa: S608 (names from core.agregados.definicoes, no input)
                [organizacao_id] * 2,
            )
            esperadas = _por_chave(cursor.fetchall(), len(definicao.chave))
            erradas += [(definicao.tabela, c) for c in sorted(guardadas.keys() | esperadas.keys(), key=str)
                        if guardadas.get(c) != esperadas.get(c)]  # fmt: skip
    return erradas


def _por_chave(linhas, tamanho: int) -> dict[tuple, tuple]:
    # Dates come back as text from SQLite's date() and as date objects elsewhere: compare them as text.
    return {tuple(str(v) for v in linha[:tamanho]): tuple(int(v) for v in linha[tamanho:]) for linha in linhas}
