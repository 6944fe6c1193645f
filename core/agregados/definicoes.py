"""What each rollup holds: the one description the triggers, the rebuild and the compaction are generated from."""

from __future__ import annotations

from dataclasses import dataclass

from core.consultas.reforma import FINALIDADES_DE_OPERACAO


@dataclass(frozen=True)
class Definicao:
    tabela: str  # the rollup's table
    origem: str  # the documents' table
    # rollup column -> SQL expression over a source row; "{r}" stands for the row (NEW, OLD or an alias)
    dimensoes: dict[str, str]
    # value columns: the same name in the source (decimal reais) and in the rollup (integer cents)
    somas: tuple[str, ...]
    # SQL condition over a source row ("{r}."): the rows that count; empty means all
    condicao: str = ""
    # the columns the statistics and the dashboard group and sum (SQLite gets an index of them: see gatilhos)
    lidas: tuple[str, ...] = ()

    @property
    def colunas(self) -> tuple[str, ...]:
        return ("organizacao_id", "grao", "periodo", *self.dimensoes, "quantidade", *self.somas)

    @property
    def chave(self) -> tuple[str, ...]:
        return ("organizacao_id", "grao", "periodo", *self.dimensoes)


_OPERACOES = ", ".join(str(int(f)) for f in FINALIDADES_DE_OPERACAO)

NFE = Definicao(
    tabela="core_agregadonfe",
    origem="core_nfe",
    dimensoes={
        "modelo": "{r}.modelo", "situacao": "{r}.situacao", "finalidade": "COALESCE({r}.finalidade, 0)",
        "completa": "{r}.completa", "tipo_operacao": "{r}.tipo_operacao", "emitente_uf": "{r}.emitente_uf",
    },
    somas=("valor_total", "valor_produtos", "valor_icms", "valor_ipi", "valor_nf", "valor_nf_tot", "valor_ibs",
           "valor_cbs", "valor_is"),
    lidas=("situacao", "finalidade", "emitente_uf", "quantidade", "valor_total", "valor_ibs", "valor_cbs"),
)  # fmt: skip

CTE = Definicao(
    tabela="core_agregadocte",
    origem="core_cte",
    dimensoes={
        "modelo": "{r}.modelo", "situacao": "{r}.situacao", "completa": "{r}.completa", "modal": "{r}.modal",
        "emitente_uf": "{r}.emitente_uf", "uf_inicio": "{r}.uf_inicio",
    },
    somas=("valor_prestacao", "valor_receber", "valor_carga", "valor_ibs", "valor_cbs", "valor_total_dfe"),
    lidas=("situacao", "uf_inicio", "quantidade", "valor_prestacao", "valor_ibs", "valor_cbs"),
)  # fmt: skip

EMITENTES = Definicao(
    tabela="core_agregadoemitente",
    origem="core_nfe",
    dimensoes={"emitente_documento": "{r}.emitente_documento", "emitente_nome": "{r}.emitente_nome"},
    somas=("valor_total",),
    # core.consultas.reforma.so_operacoes, in SQL
    condicao=f"({{r}}.finalidade IN ({_OPERACOES}) OR {{r}}.finalidade IS NULL)",
    lidas=("emitente_documento", "emitente_nome", "quantidade", "valor_total"),
)

ROTAS = Definicao(
    tabela="core_agregadorota",
    origem="core_cte",
    dimensoes={
        "uf_inicio": "{r}.uf_inicio", "municipio_inicio": "{r}.municipio_inicio",
        "uf_fim": "{r}.uf_fim", "municipio_fim": "{r}.municipio_fim",
    },
    somas=("valor_prestacao",),
    lidas=("uf_inicio", "municipio_inicio", "uf_fim", "municipio_fim", "quantidade", "valor_prestacao"),
)  # fmt: skip

DEFINICOES = (NFE, CTE, EMITENTES, ROTAS)
