"""Counts and sums of a filtered document list, overall, by situação and (NF-e) by finalidade, in one query."""

from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from core.models import CTe, Finalidade, NFe

# The reform's figures are NULL on a document without the group; their sums cover the documents that have it.
CAMPOS_DE_VALOR = {
    NFe: (
        "valor_total", "valor_produtos", "valor_icms", "valor_ipi",
        "valor_nf", "valor_nf_tot", "valor_ibs", "valor_cbs", "valor_is",
    ),
    CTe: ("valor_prestacao", "valor_receber", "valor_carga", "valor_ibs", "valor_cbs", "valor_total_dfe"),
}  # fmt: skip
ZERO = Decimal("0.00")


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
    resultado = {**_somar(linhas, campos), "por_situacao": _dividir(linhas, "situacao", campos)}
    if documentos.model is NFe:
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
