"""The triggers that keep the rollups, generated from core.agregados.definicoes for PostgreSQL and SQLite.

PostgreSQL runs one statement-level trigger per rollup and operation, reading the statement's transition
tables: an import batch (or a COPY) appends one signed delta row per key it touched, not one per document
(core.models.agregados says why deltas), and an UPDATE that changes no dimension nor value nets to zero and
appends nothing. SQLite has row triggers only, one per document and operation (the UPDATE one only when a
column the rollup reads changed), and a single writer at a time: there a trigger adds to the key's one row
in place (an UPSERT on a unique index of the key, which only SQLite has), so no delta ever needs compacting.

`instalar` drops and recreates them all, so a migration that changes a definition just calls it again.
"""

from __future__ import annotations

import re

from .definicoes import DEFINICOES, Definicao

# grain -> the period's first day, per database ("{r}" is the source row)
PERIODO = {
    "postgresql": {"d": "{r}.data_emissao_local", "m": "date_trunc('month', {r}.data_emissao_local)::date"},
    "sqlite": {"d": "{r}.data_emissao_local", "m": "date({r}.data_emissao_local, 'start of month')"},
}
CENTAVOS = {
    "postgresql": "ROUND(COALESCE({r}.{campo}, 0) * 100)::bigint",
    "sqlite": "CAST(ROUND(COALESCE({r}.{campo}, 0) * 100) AS INTEGER)",
}
OPERACOES = ("insert", "update", "delete")


def instalar(cursor, vendor: str) -> None:
    for sql in remocoes(vendor) + criacoes(vendor):
        cursor.execute(sql)


def remover(cursor, vendor: str) -> None:
    for sql in remocoes(vendor):
        cursor.execute(sql)


def _nome(definicao: Definicao, operacao: str) -> str:
    return f"{definicao.tabela}_{operacao}"


def remocoes(vendor: str) -> list[str]:
    sqls = []
    for definicao in DEFINICOES:
        for operacao in OPERACOES:
            nome = _nome(definicao, operacao)
            if vendor == "postgresql":
                sqls += [f"DROP TRIGGER IF EXISTS {nome} ON {definicao.origem}", f"DROP FUNCTION IF EXISTS {nome}()"]
            else:
                sqls.append(f"DROP TRIGGER IF EXISTS {nome}")
    if vendor == "postgresql":
        sqls += ["DROP TRIGGER IF EXISTS agregados_organizacao ON core_organizacao",
                 "DROP FUNCTION IF EXISTS agregados_organizacao()"]  # fmt: skip
    else:
        sqls.append("DROP TRIGGER IF EXISTS agregados_organizacao")
        sqls += [f"DROP INDEX IF EXISTS {definicao.tabela}_{nome}" for definicao in DEFINICOES for nome in ("chave_uniq", "leitura")]
    return sqls


def criacoes(vendor: str) -> list[str]:
    if vendor == "postgresql":
        sqls = [sql for definicao in DEFINICOES for sql in _postgresql(definicao)]
    else:
        sqls = [sql for definicao in DEFINICOES for sql in _sqlite(definicao)]
    return sqls + _limpeza_da_organizacao(vendor)


def selecao(definicao: Definicao, vendor: str, linha: str, sinal: int, grao: str, origem: str = "", compactada: bool = False) -> str:
    """SELECT of one source row (or of every row of `origem`, aliased `linha`) as a delta at one grain."""
    r = {"r": linha}
    colunas = [
        f"{linha}.organizacao_id",
        f"'{grao}'",
        PERIODO[vendor][grao].format(**r),
        *(expressao.format(**r) for expressao in definicao.dimensoes.values()),
        str(sinal),
        *(f"{sinal} * {CENTAVOS[vendor].format(r=linha, campo=campo)}" for campo in definicao.somas),
        "TRUE" if compactada else "FALSE",  # FALSE: a delta, until compactar_agregados folds it
    ]
    nomes = (*definicao.colunas, "compactada")
    sql = "SELECT " + ", ".join(f"{expressao} AS {nome}" for expressao, nome in zip(colunas, nomes, strict=True))
    if origem:
        sql += f" FROM {origem} AS {linha}"
    if definicao.condicao:
        sql += " WHERE " + definicao.condicao.format(**r)
    return sql


def _deltas(definicao: Definicao, vendor: str, partes: list[tuple[str, int, str]]) -> str:
    """INSERT of the grouped deltas of (alias, sign, transition table) parts, skipping keys that net to zero."""
    selecoes = [
        selecao(definicao, vendor, alias, sinal, grao, origem)
        for alias, sinal, origem in partes
        for grao in ("d", "m")
    ]
    chave = ", ".join(definicao.chave)
    somas = ", ".join(f"SUM({coluna})" for coluna in ("quantidade", *definicao.somas))
    algum = " OR ".join(f"SUM({coluna}) <> 0" for coluna in ("quantidade", *definicao.somas))
    return (
        f"INSERT INTO {definicao.tabela} ({', '.join(definicao.colunas)}, compactada) "  # noqa: S608 (names from core.agregados.definicoes, no input)
        f"SELECT {chave}, {somas}, FALSE FROM ({' UNION ALL '.join(selecoes)}) AS deltas "
        f"GROUP BY {chave} HAVING {algum}"
    )


def _postgresql(definicao: Definicao) -> list[str]:
    partes = {
        "insert": ([("n", 1, "novas")], "REFERENCING NEW TABLE AS novas"),
        "update": ([("a", -1, "antigas"), ("n", 1, "novas")], "REFERENCING OLD TABLE AS antigas NEW TABLE AS novas"),
        "delete": ([("a", -1, "antigas")], "REFERENCING OLD TABLE AS antigas"),
    }
    sqls = []
    for operacao, (deltas, transicao) in partes.items():
        nome = _nome(definicao, operacao)
        sqls.append(
            f"CREATE FUNCTION {nome}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"{_deltas(definicao, 'postgresql', deltas)}; RETURN NULL; END $$"
        )
        sqls.append(
            f"CREATE TRIGGER {nome} AFTER {operacao.upper()} ON {definicao.origem} {transicao} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {nome}()"
        )
    return sqls


def colunas_lidas(definicao: Definicao) -> list[str]:
    """The source columns a rollup reads: an UPDATE that changes none of them leaves it as it was."""
    expressoes = [*definicao.dimensoes.values(), definicao.condicao]
    lidas = {m for expressao in expressoes for m in re.findall(r"\{r\}\.(\w+)", expressao)}
    return sorted(lidas | {"organizacao_id", "data_emissao_local", *definicao.somas})


def _sqlite(definicao: Definicao) -> list[str]:
    chave = ", ".join(definicao.chave)
    somar = ", ".join(f"{coluna} = {coluna} + excluded.{coluna}" for coluna in ("quantidade", *definicao.somas))

    def inserir(*partes: tuple[str, int]) -> str:
        selecoes = [selecao(definicao, "sqlite", linha, sinal, grao, compactada=True) for linha, sinal in partes for grao in ("d", "m")]
        # "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT (sqlite.org/lang_upsert.html, 2.2)
        onde = "" if definicao.condicao else " WHERE true"
        return (
            f"INSERT INTO {definicao.tabela} ({', '.join(definicao.colunas)}, compactada) {' UNION ALL '.join(selecoes)}{onde} "
            f"ON CONFLICT ({chave}) DO UPDATE SET {somar};"
        )

    mudou = " OR ".join(f"OLD.{coluna} IS NOT NEW.{coluna}" for coluna in colunas_lidas(definicao))
    origem = definicao.origem
    return [
        # The tables are empty or compacted when this runs (migration 0019 creates them empty).
        f"CREATE UNIQUE INDEX {definicao.tabela}_chave_uniq ON {definicao.tabela} ({chave})",
        # Covering: the statistics' and the dashboard's grouped sums read this index alone, never the table's
        # rows (about a third of their time on SQLite at a million documents). PostgreSQL meets its goal
        # without one (README, "Desempenho da API"), and there every delta row would pay for it.
        f"CREATE INDEX {definicao.tabela}_leitura ON {definicao.tabela} "
        f"(organizacao_id, grao, periodo, {', '.join(definicao.lidas)})",
        f"CREATE TRIGGER {_nome(definicao, 'insert')} AFTER INSERT ON {origem} BEGIN {inserir(('NEW', 1))} END",
        f"CREATE TRIGGER {_nome(definicao, 'update')} AFTER UPDATE ON {origem} WHEN {mudou} "
        f"BEGIN {inserir(('OLD', -1), ('NEW', 1))} END",
        f"CREATE TRIGGER {_nome(definicao, 'delete')} AFTER DELETE ON {origem} BEGIN {inserir(('OLD', -1))} END",
    ]


def _limpeza_da_organizacao(vendor: str) -> list[str]:
    apagar = " ".join(f"DELETE FROM {definicao.tabela} WHERE organizacao_id = OLD.id;" for definicao in DEFINICOES)  # noqa: S608 (names from core.agregados.definicoes, no input)
    if vendor == "postgresql":
        return [
            f"CREATE FUNCTION agregados_organizacao() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {apagar} "
            "RETURN NULL; END $$",
            "CREATE TRIGGER agregados_organizacao AFTER DELETE ON core_organizacao FOR EACH ROW "
            "EXECUTE FUNCTION agregados_organizacao()",
        ]
    return [f"CREATE TRIGGER agregados_organizacao AFTER DELETE ON core_organizacao BEGIN {apagar} END"]
