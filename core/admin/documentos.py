"""Admin of the documents and their events: legal records, so read-only here; imports go through the
pipeline (upload API or `importar_xml`). `ArquivoXML` (the stored original) is reached through each
document's "baixar XML" link, and `NFeItem` is shown inline in its NF-e.
"""

from django.contrib import admin
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from ..documentos.manifestacao_estado import dias_restantes
from ..models import CTe, EventoDocumento, NFe, NFeItem, OutroDocumento
from .acoes_documentos import PaginaDaNFeMixin, PaginaDoCTeMixin
from .base import DaOrganizacaoAdmin, SomenteLeituraMixin


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


# The reform's fields on a page of their own section, so a 2025 document's page reads as before.
CAMPOS_REFORMA = (
    "finalidade", "valor_nf", "valor_nf_tot", "valor_bc_ibs_cbs", "valor_ibs", "valor_ibs_uf", "valor_ibs_mun",
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
        return [(None, {"fields": demais}), ("Reforma tributária (IBS, CBS, IS)", {"fields": reforma})]


class NFeItemInline(admin.TabularInline):
    model = NFeItem
    fields = ["numero", "codigo", "descricao", "ncm", "cfop", "quantidade", "valor_unitario", "valor_total",
              "valor_item", "cst_ibs_cbs", "classificacao_tributaria", "valor_ibs", "valor_cbs", "valor_is"]
    readonly_fields = fields
    extra = 0
    can_delete = False


class NomeDoEventoMixin:
    """The catalogue's name of the event type (core.documentos.tipos_evento) and whether another event cancelled it."""

    @admin.display(description="evento")
    def nome(self, evento):
        return evento.nome

    @admin.display(description="cancelado", boolean=True)
    def cancelado(self, evento):
        return evento.cancelado


class EventoInline(NomeDoEventoMixin, admin.TabularInline):
    model = EventoDocumento
    fields = ["tipo_evento", "nome", "cancelado", "sequencia", "data_evento", "codigo_status", "protocolo"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    fk_name = "nfe"


class EventoCTeInline(EventoInline):
    fk_name = "cte"


@admin.register(NFe)
class NFeAdmin(PaginaDaNFeMixin, SecaoReformaMixin, XMLOriginalMixin, SomenteLeituraMixin, DaOrganizacaoAdmin):
    list_display = [
        "numero", "serie", "modelo", "data_emissao", "emitente_nome", "emitente_documento",
        "destinatario_nome", "valor_total", "situacao", "assinatura", "completa", "origem", "manifestacao",
        "prazo_manifestacao",
    ]
    list_filter = ["situacao", "finalidade", "assinatura", "completa", "modelo", "tipo_operacao", "origem", "emitente_uf",
                   "data_emissao", "manifestacao"]  # fmt: skip
    search_fields = ["=chave", "=numero", "emitente_documento", "destinatario_documento", "emitente_nome", "destinatario_nome"]
    date_hierarchy = "data_emissao"
    readonly_fields = ["link_xml", "dias_para_manifestar"]
    exclude = ["arquivo", "organizacao"]
    inlines = [NFeItemInline, EventoInline]

    @admin.display(description="dias até o prazo da manifestação")
    def dias_para_manifestar(self, nfe):
        dias = dias_restantes(nfe.prazo_manifestacao)
        return "—" if dias is None else dias
    list_select_related = ["organizacao"]
    show_full_result_count = False


@admin.register(CTe)
class CTeAdmin(PaginaDoCTeMixin, SecaoReformaMixin, XMLOriginalMixin, SomenteLeituraMixin, DaOrganizacaoAdmin):
    sufixo_xml = "procCTe"
    list_display = [
        "numero", "serie", "modelo", "data_emissao", "emitente_nome", "tomador_nome", "modal",
        "uf_inicio", "uf_fim", "valor_prestacao", "situacao", "assinatura", "origem",
    ]
    list_filter = ["situacao", "assinatura", "modal", "modelo", "origem", "uf_inicio", "uf_fim", "data_emissao"]
    search_fields = ["=chave", "=numero", "emitente_documento", "tomador_documento", "remetente_documento",
                     "destinatario_documento", "emitente_nome", "tomador_nome"]
    date_hierarchy = "data_emissao"
    readonly_fields = ["link_xml"]
    exclude = ["arquivo", "organizacao"]
    inlines = [EventoCTeInline]
    show_full_result_count = False


@admin.register(OutroDocumento)
class OutroDocumentoAdmin(XMLOriginalMixin, SomenteLeituraMixin, DaOrganizacaoAdmin):
    sufixo_xml = "proc"
    list_display = ["tipo", "numero", "serie", "modelo", "data_emissao", "emitente_nome", "emitente_documento",
                    "valor_total", "situacao", "assinatura", "origem"]
    list_filter = ["tipo", "situacao", "assinatura", "origem", "data_emissao"]
    search_fields = ["=chave", "=numero", "emitente_documento", "emitente_nome"]
    date_hierarchy = "data_emissao"
    readonly_fields = ["link_xml"]
    exclude = ["arquivo", "organizacao"]
    show_full_result_count = False


@admin.register(EventoDocumento)
class EventoDocumentoAdmin(NomeDoEventoMixin, XMLOriginalMixin, SomenteLeituraMixin, DaOrganizacaoAdmin):
    sufixo_xml = "procEvento"
    list_display = ["chave", "tipo_documento", "tipo_evento", "nome", "categoria", "cancelado", "sequencia",
                    "data_evento", "codigo_status", "completo", "origem"]
    list_filter = ["tipo_documento", "categoria", "tipo_evento", "completo", "origem"]
    search_fields = ["=chave", "autor_documento", "protocolo"]
    readonly_fields = ["link_xml", "nome", "cancelado"]
    exclude = ["arquivo", "organizacao", "nfe", "cte", "outro", "cancelado_por"]
