"""Upkeep of the rollups: fold each key's delta rows into one (`compactar`, PostgreSQL: SQLite's triggers leave
none), rebuild them from the documents (`reconstruir`), or compare the two (`diferencas`). Every sum stays exact
while imports go on."""

from __future__ import annotations

from django.db import connection, transaction

from .definicoes import DEFINICOES, Definicao
from .gatilhos import selecao


def _somas(definicao: Definicao) -> tuple[str, str]:
    colunas = ("quantidade", *definicao.somas)
    return ", ".join(f"SUM({c})" for c in colunas), " OR ".join(f"SUM({c}) <> 0" for c in colunas)


def _do_filtro(organizacao_id: int | None, prefixo: str = "AND") -> tuple[str, list]:
    return (f"{prefixo} organizacao_id = %s", [organizacao_id]) if organizacao_id else ("", [])


def _chaves_com_deltas(definicao: Definicao, organizacao_id: int | None) -> tuple[str, list]:
    """The distinct keys that have a delta row (the partial index *_deltas_idx finds them)."""
    filtro, parametros = _do_filtro(organizacao_id)
    return f"SELECT DISTINCT {', '.join(definicao.chave)} FROM {definicao.tabela} WHERE NOT compactada {filtro}", parametros  # noqa: S608 (names from core.agregados.definicoes, no input)


def _da_chave(definicao: Definicao, tabela: str, outra: str) -> str:
    # Every key column is NOT NULL (finalidade is stored as 0 without finNFe): plain equality is exact.
    return " AND ".join(f"{tabela}.{coluna} = {outra}.{coluna}" for coluna in definicao.chave)


def linhas_a_compactar(organizacao_id: int | None = None) -> int:
    """How many delta rows the next compaction folds."""
    total = 0
    filtro, parametros = _do_filtro(organizacao_id)
    with connection.cursor() as cursor:
        for definicao in DEFINICOES:
            cursor.execute(f"SELECT COUNT(*) FROM {definicao.tabela} WHERE NOT compactada {filtro}", parametros)  # noqa: S608 (names from core.agregados.definicoes, no input)
            total += cursor.fetchone()[0]
    return total


def compactar(organizacao_id: int | None = None) -> int:
    """Fold every key that has delta rows into one row (dropping keys that sum to zero); returns the rows
    removed. The work is proportional to the deltas since the last compaction, not to the table."""
    if connection.vendor != "postgresql":
        return 0  # SQLite's triggers add to each key's one row in place (core.agregados.gatilhos): no deltas
    removidas = 0
    for definicao in DEFINICOES:
        with transaction.atomic(), connection.cursor() as cursor:
            removidas += _compactar(cursor, definicao, organizacao_id)
    return removidas


def _compactar(cursor, definicao: Definicao, organizacao_id: int | None) -> int:
    chaves, parametros = _chaves_com_deltas(definicao, organizacao_id)
    somas, alguma = _somas(definicao)
    chave, colunas, tabela = ", ".join(definicao.chave), ", ".join(definicao.colunas), definicao.tabela
    # One statement, one snapshot: the rows folded are exactly the rows deleted. A delta an import commits
    # meanwhile is not in the snapshot, so it is neither deleted nor summed: it stays for the next run.
    cursor.execute(
        f"WITH chaves AS ({chaves}), "  # noqa: S608 (names from core.agregados.definicoes, no input)
        f"apagadas AS (DELETE FROM {tabela} USING chaves WHERE {_da_chave(definicao, tabela, 'chaves')} "
        f"RETURNING {', '.join(f'{tabela}.{c}' for c in definicao.colunas)}), "
        f"novas AS (INSERT INTO {tabela} ({colunas}, compactada) SELECT {chave}, {somas}, TRUE FROM apagadas "
        f"GROUP BY {chave} HAVING {alguma} RETURNING 1) "
        "SELECT (SELECT COUNT(*) FROM apagadas) - (SELECT COUNT(*) FROM novas)",
        parametros,
    )
    return cursor.fetchone()[0]


def reconstruir(organizacao_id: int | None = None) -> int:
    """Rebuild the rollups (of one organization, or of all) from the documents; returns the rows written.

    On PostgreSQL the documents' tables are locked in SHARE mode for the rebuild: writers wait (reads go on),
    so no import commits a delta the rebuilt sums already count, or misses one."""
    escritas = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("LOCK TABLE core_nfe, core_cte IN SHARE MODE")
        for definicao in DEFINICOES:
            filtro, parametros = _do_filtro(organizacao_id, "WHERE")
            cursor.execute(f"DELETE FROM {definicao.tabela} {filtro}", parametros)  # noqa: S608 (names from core.agregados.definicoes, no input)
            origem = f"(SELECT * FROM {definicao.origem} {filtro})"  # noqa: S608 (names from core.agregados.definicoes, no input)
            selecoes = " UNION ALL ".join(
                selecao(definicao, connection.vendor, "r", 1, grao, origem) for grao in ("d", "m")
            )
            somas, alguma = _somas(definicao)
            chave = ", ".join(definicao.chave)
            cursor.execute(
                f"INSERT INTO {definicao.tabela} ({', '.join(definicao.colunas)}, compactada) SELECT {chave}, {somas}, TRUE "  # noqa: S608 (names from core.agregados.definicoes, no input)
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
