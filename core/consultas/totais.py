"""Counts and sums of a filtered document list, overall and by situação, in one query."""

from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from core.models import CTe, NFe

CAMPOS_DE_VALOR = {
    NFe: ("valor_total", "valor_produtos", "valor_icms", "valor_ipi"),
    CTe: ("valor_prestacao", "valor_receber", "valor_carga"),
}


def totais(documentos: QuerySet) -> dict:
    """{"quantidade", <sums>, "por_situacao": {situacao: {"quantidade", <sums>}}} of `documentos`."""
    campos = CAMPOS_DE_VALOR[documentos.model]
    linhas = (
        documentos.order_by()
        .values("situacao")
        .annotate(quantidade=Count("id"), **{campo: Sum(campo) for campo in campos})
        .order_by("situacao")
    )
    por_situacao = {
        linha["situacao"]: {"quantidade": linha["quantidade"], **{c: linha[c] or Decimal("0.00") for c in campos}}
        for linha in linhas
    }
    geral = {"quantidade": sum(s["quantidade"] for s in por_situacao.values())}
    geral.update({c: sum((s[c] for s in por_situacao.values()), Decimal("0.00")) for c in campos})
    return {**geral, "por_situacao": por_situacao}
