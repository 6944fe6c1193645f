"""`{% painel_admin_do_usuario as painel %}` and `{% saude_webhooks_do_usuario as saude %}`: the admin
index dashboard (templates/admin/index.html) and the webhook health page
(templates/admin/core/webhook/saude.html), with the `moeda`, `documento` and `data_hora` filters.

Template tags rather than a custom AdminSite: the default site stays in place (no change to
INSTALLED_APPS or the URLconf), and the numbers still come from functions in core
(core.consultas.painel_admin, core.consultas.saude_webhooks), the charts from core.graficos.
"""

from django import template
from django.utils.formats import date_format
from django.utils.safestring import mark_safe

from core import formatacao
from core.admin.base import organizacao_do_admin
from core.consultas.painel_admin import organizacao_do_painel, organizacoes_para_escolher, painel_admin
from core.consultas.saude_webhooks import saude_dos_webhooks
from core.graficos import Linha, Serie, barras_empilhadas, barras_horizontais

register = template.Library()

COR_NFE, COR_CTE = "#417690", "#e0a030"


@register.filter
def moeda(valor) -> str:
    """R$ 1.234,56."""
    return formatacao.formatar_moeda(valor)


@register.filter
def documento(valor) -> str:
    """CNPJ/CPF masked."""
    return formatacao.formatar_documento(valor)


@register.filter
def data_hora(valor) -> str:
    """dd/mm/aaaa hh:mm in the current time zone (the organization's, core.fuso_horario); "—" when absent."""
    return formatacao.formatar_data_hora(valor) or formatacao.VAZIO


def _organizacao(context):
    request = context["request"]
    usuario = request.user
    return usuario, organizacao_do_painel(usuario, request.GET.get("organizacao"), organizacao_do_admin(request))


@register.simple_tag(takes_context=True)
def painel_admin_do_usuario(context):
    """The dashboard of the request's user, or None (a staff user without organization, or no
    organization at all yet)."""
    usuario, organizacao = _organizacao(context)
    if organizacao is None:
        return None
    painel = painel_admin(organizacao=organizacao)
    # mark_safe: core.graficos escapes every piece of text it puts in the SVG.
    return {
        **painel,
        "organizacoes": organizacoes_para_escolher(usuario),
        "grafico_documentos": mark_safe(_grafico_documentos(painel["dias"])),  # noqa: S308
    }


@register.simple_tag(takes_context=True)
def saude_webhooks_do_usuario(context):
    """The webhook health of the request's user's organization (a superuser's chosen one), or None."""
    usuario, organizacao = _organizacao(context)
    if organizacao is None:
        return None
    saude = saude_dos_webhooks(organizacao=organizacao)
    grafico = mark_safe(_grafico_webhooks(saude["webhooks"])) if saude["webhooks"] else ""  # noqa: S308
    return {**saude, "organizacoes": organizacoes_para_escolher(usuario), "grafico_webhooks": grafico}


def _grafico_documentos(dias: list[dict]) -> str:
    rotulos = [date_format(d["dia"], "d/m") for d in dias]
    series = [Serie("NF-e", COR_NFE, [d["nfe"] for d in dias]), Serie("CT-e", COR_CTE, [d["cte"] for d in dias])]
    return barras_empilhadas(rotulos, series, titulo="Documentos recebidos por dia de emissão, neste mês")


def _grafico_webhooks(webhooks: list[dict]) -> str:
    linhas = [
        Linha(
            rotulo=w["nome"] + ("" if w["ativo"] else " (inativo)"),
            valor=w["taxa_de_sucesso"],
            detalhe=f"{w['entregas']} entregas · {w['falhas']} falhas · {w['falhas_consecutivas']} falhas seguidas",
        )
        for w in webhooks
    ]
    return barras_horizontais(linhas, titulo="Taxa de sucesso das entregas por webhook, últimas 24 horas")
