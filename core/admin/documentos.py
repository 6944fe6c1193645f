"""Admin of the documents and their events: legal records, so read-only here; imports go through the
pipeline (upload API or `importar_xml`). `ArquivoXML` (the stored original) is reached through each
document's "baixar XML" link, and `NFeItem` is shown inline in its NF-e.
"""

from django.contrib import admin, messages
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from .. import formatacao as fmt
from ..consultas.busca import BuscaInvalida, condicao, interpretar
from ..documentos.manifestacao_estado import dias_restantes
from ..models import CTe, EventoDocumento, NFe, NFeItem, OutroDocumento
from .acoes_documentos import PaginaDaNFeMixin, PaginaDoCTeMixin
from .base import BuscaSemMascaraMixin, CamposLegiveisMixin, DaOrganizacaoAdmin, SomenteLeituraMixin

class BuscaDeDocumentosMixin:
    """The search box is core.consultas.busca, the API's /api/buscar/: a CNPJ/CPF with or without mask, any
    part of the chave (spaces allowed), the número, or a name of emitente/destinatário (tomador on a CT-e)."""

    search_fields = ["chave"]  # only so the admin draws the box: get_search_results does the search
    search_help_text = "Chave (inteira ou parte), número, CNPJ/CPF com ou sem máscara, ou nome do emitente ou destinatário."

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        try:
            termo = interpretar(search_term)
        except BuscaInvalida as erro:
            messages.warning(request, str(erro))
            return queryset.none(), False
        return queryset.filter(condicao(self.model, termo)), False


class ColunasDeDocumentoMixin:
    """Compact list columns: two lines per cell where a name has its CNPJ, so the value and the situação
    fit a 1366 px screen."""

    @admin.display(description="Número/série", ordering="numero")
    def numero_serie(self, doc):
        return f"{doc.numero}/{doc.serie}"

    @admin.display(description="Emissão", ordering="data_emissao")
    def emissao(self, doc):
        data, hora = fmt.formatar_data_hora(doc.data_emissao).split(" ")
        return format_html("{}<br><small>{}</small>", data, hora)

    @admin.display(description="Emitente", ordering="emitente_nome")
    def emitente(self, doc):
        return _parte(doc.emitente_nome, doc.emitente_documento)

    @admin.display(description="Destinatário", ordering="destinatario_nome")
    def destinatario(self, doc):
        return _parte(doc.destinatario_nome, doc.destinatario_documento)

    @admin.display(description="Valor total", ordering="valor_total")
    def valor(self, doc):
        return fmt.VAZIO if doc.valor_total is None else _inteiro(fmt.formatar_moeda(doc.valor_total))


def _inteiro(texto: str):
    """A value that must not break across lines (R$ 1.234,56 split after "R$" reads as two values)."""
    return format_html('<span style="white-space: nowrap">{}</span>', texto)


def _parte(nome: str, documento: str):
    return format_html("{}<br><small>{}</small>", nome or fmt.VAZIO, _inteiro(fmt.formatar_documento(documento)))


class XMLOriginalMixin:
    """Adds a download link for the original XML bytes as stored."""

    sufixo_xml = "procNFe"

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        extra = [path("<int:pk>/xml/", self.admin_site.admin_view(self.baixar_xml), name="%s_%s_xml" % info)]
        return extra + super().get_urls()

    def baixar_xml(self, request, pk):
        documento = self.get_queryset(request).select_related("arquivo").filter(pk=pk).first()
        if documento is None:
            raise Http404("documento não encontrado")
        resposta = HttpResponse(documento.arquivo.bytes_originais(), content_type="application/xml")
        resposta["Content-Disposition"] = f'attachment; filename="{documento.chave}-{self.sufixo_xml}.xml"'
        return resposta

    @admin.display(description="XML original")
    def link_xml(self, obj):
        info = obj._meta.app_label, obj._meta.model_name
        return format_html('<a href="{}">baixar XML</a>', reverse("admin:%s_%s_xml" % info, args=[obj.pk]))


# The reform's fields on a page of their own section, so a 2025 document's page reads as before. The
# finalidade (finNFe) stays with the document's own fields: a devolução matters with or without the reform.
CAMPOS_REFORMA = (
    "valor_nf", "valor_nf_tot", "valor_bc_ibs_cbs", "valor_ibs", "valor_ibs_uf", "valor_ibs_mun",
    "valor_cbs", "valor_credito_presumido_ibs", "valor_credito_presumido_cbs", "valor_is", "cst_ibs_cbs",
    "classificacao_tributaria", "aliquota_ibs_uf", "aliquota_ibs_mun", "aliquota_cbs", "valor_total_dfe",
    "tributos_reforma",
)  # fmt: skip


class SecaoReformaMixin:
    """Moves the tax reform's fields (IBS, CBS, IS, finNFe...) to their own "Reforma tributária" section."""

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        campos = [campo for _, opcoes in fieldsets for campo in opcoes["fields"]]
        reforma = [campo for campo in campos if campo in CAMPOS_REFORMA]
        demais = [campo for campo in campos if campo not in CAMPOS_REFORMA]
        secao = {"fields": reforma}
        if obj is not None and not obj.tributos_reforma:
            secao["classes"] = ["collapse"]  # a document without the reform's groups: a page of "—" otherwise
        return [(None, {"fields": demais}), ("Reforma tributária (IBS, CBS, IS)", secao)]


CAMPOS_REFORMA_DO_ITEM = ("valor_item", "cst_ibs_cbs", "classificacao_tributaria", "valor_ibs", "valor_cbs", "valor_is")


class NFeItemInline(CamposLegiveisMixin, admin.TabularInline):
    model = NFeItem
    fields = ["numero", "codigo", "descricao", "ncm", "cfop", "quantidade", "valor_unitario", "valor_total",
              "valor_item", "cst_ibs_cbs", "classificacao_tributaria", "valor_ibs", "valor_cbs", "valor_is"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_fields(self, request, obj=None):
        # The reform's columns only on a note that has the reform's groups: without them the table fits the page.
        if obj is not None and all(getattr(obj, campo) is None for campo in ("valor_ibs", "valor_cbs", "valor_is")):
            return [campo for campo in self.fields if campo not in CAMPOS_REFORMA_DO_ITEM]
        return self.fields


class NomeDoEventoMixin:
    """The catalogue's name of the event type (core.documentos.tipos_evento) and whether another event cancelled it."""

    @admin.display(description="Evento")
    def nome(self, evento):
        return evento.nome

    @admin.display(description="Tipo de evento", ordering="tipo_evento")
    def tipo_evento_legivel(self, evento):
        return fmt.nome_do_tipo_evento(evento.tipo_documento, evento.tipo_evento)

    @admin.display(description="Cancelado", boolean=True)
    def cancelado(self, evento):
        return evento.cancelado


@admin.register(NFe)
class NFeAdmin(
    PaginaDaNFeMixin, BuscaDeDocumentosMixin, ColunasDeDocumentoMixin, CamposLegiveisMixin, SecaoReformaMixin, XMLOriginalMixin,
    SomenteLeituraMixin, DaOrganizacaoAdmin,
):  # fmt: skip
    # Destinatário (most often the organization itself) on the page and in the search, not in the list: with it
    # the list no longer fits 1366 px beside the admin's menu and filters.
    list_display = ["numero_serie", "emissao", "emitente", "valor", "situacao", "manifestacao_e_prazo"]
    list_filter = ["situacao", "finalidade", "assinatura", "completa", "modelo", "tipo_operacao", "origem", "emitente_uf",
                   "data_emissao", "manifestacao"]  # fmt: skip
    date_hierarchy = "data_emissao"
    readonly_fields = ["dias_para_manifestar"]  # the XML is the page's "Baixar XML" button (acoes_documentos)
    exclude = ["arquivo", "organizacao"]
    # The document's events are the page's timeline (acoes_documentos), with more than a table would show.
    inlines = [NFeItemInline]

    @admin.display(description="dias até o prazo da manifestação")
    def dias_para_manifestar(self, nfe):
        dias = dias_restantes(nfe.prazo_manifestacao)
        return "—" if dias is None else dias

    @admin.display(description="Manifestação", ordering="manifestacao")
    def manifestacao_e_prazo(self, nfe):
        if nfe.manifestacao or not nfe.prazo_manifestacao:
            return nfe.get_manifestacao_display()
        return format_html("{}<br><small>prazo {}</small>", nfe.get_manifestacao_display(),
                           fmt.formatar_data(nfe.prazo_manifestacao))  # fmt: skip

    list_select_related = ["organizacao"]
    show_full_result_count = False


@admin.register(CTe)
class CTeAdmin(
    PaginaDoCTeMixin, BuscaDeDocumentosMixin, ColunasDeDocumentoMixin, CamposLegiveisMixin, SecaoReformaMixin, XMLOriginalMixin,
    SomenteLeituraMixin, DaOrganizacaoAdmin,
):  # fmt: skip
    sufixo_xml = "procCTe"
    # The tomador is on the page and in the search; in the list it would push the value out of a 1366 px screen.
    list_display = ["numero_serie", "emissao", "emitente", "modal_e_percurso", "valor_do_cte", "situacao"]
    list_filter = ["situacao", "assinatura", "modal", "modelo", "origem", "uf_inicio", "uf_fim", "data_emissao"]
    date_hierarchy = "data_emissao"
    exclude = ["arquivo", "organizacao"]
    inlines = []  # the events are the page's timeline, as on the NF-e page
    show_full_result_count = False

    @admin.display(description="Modal", ordering="modal")
    def modal_e_percurso(self, cte):
        percurso = f"{cte.uf_inicio or fmt.VAZIO} → {cte.uf_fim or fmt.VAZIO}"
        return format_html("{}<br><small>{}</small>", fmt.nome_do_modal(cte.modal), percurso)

    @admin.display(description="Valor", ordering="valor_prestacao")
    def valor_do_cte(self, cte):
        return _inteiro(fmt.formatar_moeda(cte.valor_prestacao))


@admin.register(OutroDocumento)
class OutroDocumentoAdmin(
    BuscaDeDocumentosMixin, ColunasDeDocumentoMixin, CamposLegiveisMixin, XMLOriginalMixin, SomenteLeituraMixin,
    DaOrganizacaoAdmin,
):  # fmt: skip
    sufixo_xml = "proc"
    list_display = ["tipo", "numero_serie", "emissao", "emitente", "valor", "situacao"]  # assinatura, origem: filters
    list_filter = ["tipo", "situacao", "assinatura", "origem", "data_emissao"]
    date_hierarchy = "data_emissao"
    readonly_fields = ["link_xml"]
    exclude = ["arquivo", "organizacao"]
    show_full_result_count = False


@admin.register(EventoDocumento)
class EventoDocumentoAdmin(
    BuscaSemMascaraMixin, CamposLegiveisMixin, NomeDoEventoMixin, XMLOriginalMixin, SomenteLeituraMixin,
    DaOrganizacaoAdmin,
):  # fmt: skip
    sufixo_xml = "procEvento"
    # Tipo de documento, categoria, completo and origem are filters; the sequência is on the page.
    list_display = ["chave_legivel", "tipo_evento_legivel", "data_evento_legivel", "codigo_status", "cancelado"]
    list_filter = ["tipo_documento", "categoria", "tipo_evento", "completo", "origem"]
    search_fields = ["=chave", "=autor_documento", "protocolo"]
    readonly_fields = ["link_xml", "nome", "cancelado"]
    exclude = ["arquivo", "organizacao", "nfe", "cte", "outro", "cancelado_por"]
