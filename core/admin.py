"""Django admin: documents are legal records, so they are read-only here; imports go through the
pipeline (upload API or `importar_xml`). Staff see only their organization; superusers see all."""

from django.contrib import admin
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from .models import CTe, EventoDocumento, ImportLog, Membro, NFe, NFeItem, Organizacao
from .tenancy import SemOrganizacao, escopo, organizacao_do_usuario


class DaOrganizacaoAdmin(admin.ModelAdmin):
    """Scopes every list, detail and lookup to the staff user's organization."""

    def get_queryset(self, request):
        if request.user.is_superuser:
            return super().get_queryset(request)
        try:
            return escopo(self.model, organizacao_do_usuario(request.user))
        except SemOrganizacao:
            return self.model._default_manager.none()


class SomenteLeituraMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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


@admin.register(Organizacao)
class OrganizacaoAdmin(admin.ModelAdmin):
    list_display = ["nome", "slug", "ativa", "criada_em"]
    search_fields = ["nome", "slug"]
    prepopulated_fields = {"slug": ["nome"]}

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(membros__usuario=request.user)


@admin.register(Membro)
class MembroAdmin(admin.ModelAdmin):
    list_display = ["usuario", "organizacao", "papel", "criado_em"]
    list_filter = ["papel"]
    search_fields = ["usuario__username", "usuario__email", "organizacao__nome"]
    raw_id_fields = ["usuario"]

    def has_module_permission(self, request):
        return request.user.is_superuser


class NFeItemInline(admin.TabularInline):
    model = NFeItem
    fields = ["numero", "codigo", "descricao", "ncm", "cfop", "quantidade", "valor_unitario", "valor_total"]
    readonly_fields = fields
    extra = 0
    can_delete = False


class EventoInline(admin.TabularInline):
    model = EventoDocumento
    fields = ["tipo_evento", "descricao", "sequencia", "data_evento", "codigo_status", "protocolo"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    fk_name = "nfe"


class EventoCTeInline(EventoInline):
    fk_name = "cte"


@admin.register(NFe)
class NFeAdmin(XMLOriginalMixin, SomenteLeituraMixin, DaOrganizacaoAdmin):
    list_display = [
        "numero", "serie", "modelo", "data_emissao", "emitente_nome", "emitente_documento",
        "destinatario_nome", "valor_total", "situacao", "completa", "origem",
    ]
    list_filter = ["situacao", "completa", "modelo", "tipo_operacao", "origem", "emitente_uf", "data_emissao"]
    search_fields = ["=chave", "=numero", "emitente_documento", "destinatario_documento", "emitente_nome", "destinatario_nome"]
    date_hierarchy = "data_emissao"
    readonly_fields = ["link_xml"]
    exclude = ["arquivo", "organizacao"]
    inlines = [NFeItemInline, EventoInline]
    list_select_related = ["organizacao"]
    show_full_result_count = False


@admin.register(CTe)
class CTeAdmin(XMLOriginalMixin, SomenteLeituraMixin, DaOrganizacaoAdmin):
    sufixo_xml = "procCTe"
    list_display = [
        "numero", "serie", "modelo", "data_emissao", "emitente_nome", "tomador_nome", "modal",
        "uf_inicio", "uf_fim", "valor_prestacao", "situacao", "origem",
    ]
    list_filter = ["situacao", "modal", "modelo", "origem", "uf_inicio", "uf_fim", "data_emissao"]
    search_fields = ["=chave", "=numero", "emitente_documento", "tomador_documento", "remetente_documento",
                     "destinatario_documento", "emitente_nome", "tomador_nome"]
    date_hierarchy = "data_emissao"
    readonly_fields = ["link_xml"]
    exclude = ["arquivo", "organizacao"]
    inlines = [EventoCTeInline]
    show_full_result_count = False


@admin.register(EventoDocumento)
class EventoDocumentoAdmin(XMLOriginalMixin, SomenteLeituraMixin, DaOrganizacaoAdmin):
    sufixo_xml = "procEvento"
    list_display = ["chave", "tipo_documento", "tipo_evento", "descricao", "sequencia", "data_evento",
                    "codigo_status", "completo", "origem"]
    list_filter = ["tipo_documento", "categoria", "tipo_evento", "completo", "origem"]
    search_fields = ["=chave", "autor_documento", "protocolo"]
    readonly_fields = ["link_xml"]
    exclude = ["arquivo", "organizacao", "nfe", "cte"]


@admin.register(ImportLog)
class ImportLogAdmin(SomenteLeituraMixin, DaOrganizacaoAdmin):
    list_display = ["criado_em", "arquivo", "chave", "tipo_xml", "status", "mensagem", "origem"]
    list_filter = ["status", "origem", "tipo_xml", "criado_em"]
    search_fields = ["=chave", "arquivo", "mensagem"]
    date_hierarchy = "criado_em"
    exclude = ["organizacao"]


# Per-area admin modules, registered with the same scoping as above.
from . import admin_sefaz  # noqa: E402, F401
