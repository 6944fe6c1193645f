"""`{% painel_admin as painel %}`: the admin index dashboard (templates/admin/index.html).

A template tag rather than a custom AdminSite: the default site stays in place (no change to
INSTALLED_APPS or the URLconf), and the numbers still come from one function in core
(core.consultas.painel_admin), the charts from core.graficos.
"""

from django import template
from django.utils.formats import date_format
from django.utils.safestring import mark_safe

from core.admin.base import organizacao_do_admin
from core.consultas.painel_admin import organizacao_do_painel, organizacoes_para_escolher, painel_admin
from core.graficos import Linha, Serie, barras_empilhadas, barras_horizontais

register = template.Library()

COR_NFE, COR_CTE = "#417690", "#e0a030"


@register.simple_tag(takes_context=True)
def painel_admin_do_usuario(context):
    """The dashboard of the request's user, or None (a staff user without organization, or no
    organization at all yet)."""
    request = context["request"]
    usuario = request.user
    organizacao = organizacao_do_painel(usuario, request.GET.get("organizacao"), organizacao_do_admin(request))
    if organizacao is None:
        return None
    painel = painel_admin(organizacao=organizacao)
    # mark_safe: core.graficos escapes every piece of text it puts in the SVG.
    return {
        **painel,
        "organizacoes": organizacoes_para_escolher(usuario),
        "grafico_documentos": mark_safe(_grafico_documentos(painel["dias"])),
        "grafico_webhooks": mark_safe(_grafico_webhooks(painel["webhooks"])) if painel["webhooks"] else "",
    }


def _grafico_documentos(dias: list[dict]) -> str:
    rotulos = [date_format(d["dia"], "d/m") for d in dias]
    series = [Serie("NF-e", COR_NFE, [d["nfe"] for d in dias]), Serie("CT-e", COR_CTE, [d["cte"] for d in dias])]
    return barras_empilhadas(rotulos, series, titulo="Documentos por dia de emissão, últimos 30 dias")


def _grafico_webhooks(webhooks: list[dict]) -> str:
    linhas = [
        Linha(
            rotulo=w["nome"] + ("" if w["ativo"] else " (inativo)"),
            valor=w["taxa_de_sucesso"],
            detalhe=f"{w['entregas']} entregas · {w['falhas']} falhas · {w['falhas_consecutivas']} falhas seguidas",
        )
        for w in webhooks
    ]
    return barras_horizontais(linhas, titulo="Taxa de sucesso das entregas por webhook, últimos 30 dias")
