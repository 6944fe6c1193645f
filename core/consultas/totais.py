"""Counts and sums of a filtered document list, overall, by situação and (NF-e) by finalidade, in one query.

When every filter is one the rollups keep (core.agregados: whole local days, situação, finalidade, completa,
modelo, tipo de operação, modal, UF do emitente, UF de início), the sums come from them and cost the same at
any size; any other filter (a CNPJ, a value range, a number, the signature, the reform's figures, a time of
day) is answered by one GROUP BY over the documents, bounded by the indexes the filter uses.
"""

from datetime import date, time
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from core.agregados.leitura import do_periodo, em_reais
from core.models import AgregadoCTe, AgregadoNFe, CTe, Finalidade, NFe, Organizacao

# The reform's figures are NULL on a document without the group; their sums cover the documents that have it.
CAMPOS_DE_VALOR = {
    NFe: (
        "valor_total", "valor_produtos", "valor_icms", "valor_ipi",
        "valor_nf", "valor_nf_tot", "valor_ibs", "valor_cbs", "valor_is",
    ),
    CTe: ("valor_prestacao", "valor_receber", "valor_carga", "valor_ibs", "valor_cbs", "valor_total_dfe"),
}  # fmt: skip
ZERO = Decimal("0.00")
AGREGADOS = {NFe: AgregadoNFe, CTe: AgregadoCTe}
# filter name -> the rollup column it reads (the dates are handled apart)
FILTROS_DO_AGREGADO = {
    NFe: {"emitente_uf": "emitente_uf", "situacao": "situacao", "completa": "completa", "modelo": "modelo",
          "tipo_operacao": "tipo_operacao", "finalidade": "finalidade"},
    CTe: {"emitente_uf": "emitente_uf", "situacao": "situacao", "completa": "completa", "modelo": "modelo",
          "modal": "modal", "uf_inicio": "uf_inicio"},
}  # fmt: skip
# The whole history when a bound is missing: the years the date filters accept.
PRIMEIRO_DIA, ULTIMO_DIA = date(1900, 1, 1), date(2999, 12, 31)


def totais_filtrados(documentos: QuerySet, *, organizacao: Organizacao, filtros: dict) -> dict:
    """`totais(documentos)`, read from the rollups when the validated `filtros` (name -> value) allow it."""
    condicoes = _no_agregado(documentos.model, filtros)
    if condicoes is None:
        return totais(documentos)
    inicio, fim, colunas = condicoes
    campos = CAMPOS_DE_VALOR[documentos.model]
    grupos = ("situacao", "finalidade") if documentos.model is NFe else ("situacao",)
    periodo = do_periodo(AGREGADOS[documentos.model], organizacao, inicio, fim).filter(**colunas)
    agrupadas = periodo.linhas.values(*grupos).annotate(**periodo.somas(*campos)).filter(soma_quantidade__gt=0).order_by(*grupos)
    linhas = [
        {
            **{grupo: (linha[grupo] or None) if grupo == "finalidade" else linha[grupo] for grupo in grupos},
            "quantidade": linha["soma_quantidade"],
            **{campo: em_reais(linha[f"soma_{campo}"]) for campo in campos},
        }
        for linha in agrupadas
    ]
    return _resultado(documentos.model, linhas, campos)


def _no_agregado(modelo, filtros: dict) -> tuple[date, date, dict] | None:
    """(first day, last day, {rollup lookup: value}) when the rollup can answer `filtros`, else None."""
    usados = {nome: valor for nome, valor in filtros.items() if valor not in (None, "", [])}
    inicio, fim = usados.pop("data_inicio", None), usados.pop("data_fim", None)
    inicio = _dia_inteiro(inicio, time.min) if inicio else PRIMEIRO_DIA
    fim = _dia_inteiro(fim, time.max) if fim else ULTIMO_DIA
    if inicio is None or fim is None or not usados.keys() <= FILTROS_DO_AGREGADO[modelo].keys():
        return None
    colunas = {}
    for nome, valor in usados.items():
        coluna = FILTROS_DO_AGREGADO[modelo][nome]
        if isinstance(valor, list):
            colunas[f"{coluna}__in"] = [int(v) for v in valor] if coluna == "finalidade" else valor
        else:
            colunas[coluna] = valor
    return inicio, fim, colunas


def _dia_inteiro(momento, limite: time) -> date | None:
    """The local day of `momento` when it is that day's first (time.min) or last (time.max) instant."""
    local = timezone.localtime(momento, timezone.get_default_timezone())
    return local.date() if local.time() == limite else None


def totais(documentos: QuerySet) -> dict:
    """{"quantidade", <sums>, "por_situacao": {situacao: {"quantidade", <sums>}}} of `documentos`; an NF-e list
    also gets "por_finalidade": [{"finalidade", "finalidade_nome", "quantidade", <sums>}], so returns and credit
    and debit notes can be told from purchases. Both splits come from one GROUP BY (situacao, finalidade)."""
    campos = CAMPOS_DE_VALOR[documentos.model]
    grupos = ("situacao", "finalidade") if documentos.model is NFe else ("situacao",)
    linhas = list(
        documentos.order_by()
        .values(*grupos)
        .annotate(quantidade=Count("id"), **{campo: Sum(campo) for campo in campos})
        .order_by(*grupos)
    )
    return _resultado(documentos.model, linhas, campos)


def _resultado(modelo, linhas: list[dict], campos) -> dict:
    resultado = {**_somar(linhas, campos), "por_situacao": _dividir(linhas, "situacao", campos)}
    if modelo is NFe:
        por_finalidade = _dividir(linhas, "finalidade", campos)
        resultado["por_finalidade"] = [
            {"finalidade": f, "finalidade_nome": _nome(f), **por_finalidade[f]}
            for f in sorted(por_finalidade, key=lambda f: (f is None, f))
        ]
    return resultado


def _dividir(linhas: list[dict], grupo: str, campos) -> dict:
    por_grupo: dict = {}
    for linha in linhas:
        por_grupo.setdefault(linha[grupo], []).append(linha)
    return {valor: _somar(do_grupo, campos) for valor, do_grupo in por_grupo.items()}


def _somar(linhas: list[dict], campos) -> dict:
    return {
        "quantidade": sum(linha["quantidade"] for linha in linhas),
        **{campo: sum((linha[campo] or ZERO for linha in linhas), ZERO) for campo in campos},
    }


def _nome(finalidade: int | None) -> str | None:
    return Finalidade(finalidade).label if finalidade is not None else None
