"""Django admin: documents are legal records, so they are read-only here; imports go through the
pipeline (upload API or `importar_xml`). Staff see only their organization; superusers see all.

Every model is registered here or in a per-area module loaded at the end of this file
(`admin_sefaz`, `admin_webhooks`, `admin_operacao`, `admin_tokens`, `admin_emails`). Two models are deliberately not registered:
`ArquivoXML` (the stored original, reached through each document's "baixar XML" link) and `NFeItem`
(shown inline in its NF-e). The index page adds a dashboard (templates/admin/index.html, fed by
core/templatetags/painel_admin.py).
"""

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html
from rest_framework.authtoken.models import TokenProxy

from .models import CTe, EventoDocumento, ImportLog, Membro, NFe, NFeItem, Organizacao, OutroDocumento
from .admin_importacoes import ArquivoRecebidoMixin
from .admin_papeis import PapelNoAdminMixin, membro_do_admin
from .documentos.manifestacao_estado import dias_restantes
from .organizacoes import SemAdministrador, alterar_papel, remover_membro, ultimo_administrador
from .tenancy import escopo


def organizacao_do_admin(request) -> Organizacao | None:
    """The staff user's organization (None without one), looked up once per request with the role
    (core/admin_papeis.py): every get_queryset() and permission check of a page asks."""
    membro = membro_do_admin(request)
    return membro.organizacao if membro is not None else None


class PorOrganizacao(admin.RelatedFieldListFilter):
    """The superuser's organization filter, titled in Portuguese (the FK has no verbose_name)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "organização"


def coluna(campo: str, descricao: str):
    """A list column showing a model field under a proper pt-BR header (several operating models name
    their fields without verbose_name, and changing that would take a migration)."""

    @admin.display(description=descricao, ordering=campo)
    def mostrar(obj):
        return getattr(obj, campo)

    mostrar.__name__ = f"coluna_{campo}"
    return mostrar


class DaOrganizacaoAdmin(PapelNoAdminMixin, admin.ModelAdmin):
    """Scopes every list, detail and lookup to the staff user's organization.

    A superuser sees every organization, with an "organização" column and filter added to the list.
    What a staff user may change also depends on their role and their organization being active
    (PapelNoAdminMixin).
    """

    def get_queryset(self, request):
        if request.user.is_superuser:
            return super().get_queryset(request)
        organizacao = organizacao_do_admin(request)
        if organizacao is None:
            return self.model._default_manager.none()
        return self.da_organizacao(organizacao)

    def da_organizacao(self, organizacao):
        return escopo(self.model, organizacao)

    def get_list_display(self, request):
        colunas = list(super().get_list_display(request))
        if request.user.is_superuser:
            colunas.append("organizacao_da_linha")
        return colunas

    def get_list_filter(self, request):
        filtros = list(super().get_list_filter(request))
        if request.user.is_superuser:
            filtros.append(("organizacao", PorOrganizacao))
        return filtros

    def get_list_select_related(self, request):
        relacionados = super().get_list_select_related(request)
        if not request.user.is_superuser or relacionados is True:
            return relacionados
        return [*(relacionados or []), "organizacao"]  # the added column, without a query per row

    @admin.display(description="organização", ordering="organizacao__nome")
    def organizacao_da_linha(self, obj):
        return obj.organizacao


class ComOrganizacaoAdmin(DaOrganizacaoAdmin):
    """For models outside `DaOrganizacao` that still name an organization (`APIRequestLog`,
    `RelatorioEnviado`): rows without one (anonymous API calls) are a superuser's only."""

    def da_organizacao(self, organizacao):
        return self.model._default_manager.filter(organizacao=organizacao)


class SomenteLeituraMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ApagadoSoEmCascataMixin:
    """Audit rows nobody deletes from a list; but a superuser deleting what owns them (an
    organization, a user, a webhook) must be able to, or the admin refuses the whole cascade.

    Django asks with the object when it checks a cascade or a delete page, and without one for the
    list's bulk action: only the former is allowed, and only to a superuser.
    """

    def has_delete_permission(self, request, obj=None):
        return obj is not None and request.user.is_superuser


class SomenteSuperusuarioMixin:
    """Operating data of the whole service: invisible to organization staff, whatever their perms."""

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser


class ListaEnxutaMixin:
    """Defers heavy or secret columns on the changelist only (`adiar_na_lista`): the change page and
    the domain functions called from actions still get whole rows (a deferred field loads on access)."""

    adiar_na_lista: tuple[str, ...] = ()

    def get_changelist(self, request, **kwargs):
        base, adiar = super().get_changelist(request, **kwargs), self.adiar_na_lista
        if not adiar:
            return base

        class ListaEnxuta(base):
            def get_queryset(self, request, exclude_parameters=None):
                return super().get_queryset(request, exclude_parameters).defer(*adiar)

        return ListaEnxuta


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
    list_display = ["nome", "slug", "ativa", "limite_requisicoes_por_minuto", "criada_em"]
    list_filter = ["ativa"]
    search_fields = ["nome", "slug"]
    prepopulated_fields = {"slug": ["nome"]}

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(membros__usuario=request.user)


class MembroForm(forms.ModelForm):
    def clean_papel(self):
        papel = self.cleaned_data["papel"]
        # self.instance still holds the stored role here: the form copies its fields in after clean.
        if self.instance.pk and papel != Membro.Papel.ADMINISTRADOR and ultimo_administrador(self.instance):
            raise forms.ValidationError("A organização ficaria sem administrador: promova outro membro antes.")
        return papel


@admin.register(Membro)
class MembroAdmin(ComOrganizacaoAdmin):
    """Who works in the organization and their role. Every member sees the list; an administrador changes
    roles and removes people (never the last administrador), but neither adds people nor moves them to
    another organization nor touches their user (superuser status lives there): those are a superuser's."""

    so_administradores = True
    form = MembroForm
    list_display = ["usuario", "papel", "criado_em"]
    list_filter = ["papel"]
    search_fields = ["usuario__username", "usuario__email", "organizacao__nome"]
    raw_id_fields = ["usuario"]
    list_select_related = ["usuario", "organizacao"]

    def get_readonly_fields(self, request, obj=None):
        return [] if request.user.is_superuser else ["usuario", "organizacao", "criado_em"]

    def get_fields(self, request, obj=None):
        return ["usuario", "organizacao", "papel"] + ([] if request.user.is_superuser else ["criado_em"])

    def has_add_permission(self, request):
        return request.user.is_superuser and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        # A superuser deleting a whole organization deletes its last administrador too.
        ultimo = obj is not None and not request.user.is_superuser and ultimo_administrador(obj)
        return super().has_delete_permission(request, obj) and not ultimo

    def save_model(self, request, obj, form, change):
        if change and not request.user.is_superuser:
            alterar_papel(obj, obj.papel)  # only the role can have changed
        else:
            super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        if request.user.is_superuser:
            return super().delete_model(request, obj)
        remover_membro(obj)

    def delete_queryset(self, request, queryset):
        if request.user.is_superuser:
            return super().delete_queryset(request, queryset)
        for membro in queryset:
            try:
                remover_membro(membro)
            except SemAdministrador as erro:
                self.message_user(request, f"{membro.usuario}: {erro}", messages.ERROR)


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
class NFeAdmin(SecaoReformaMixin, XMLOriginalMixin, SomenteLeituraMixin, DaOrganizacaoAdmin):
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
class CTeAdmin(SecaoReformaMixin, XMLOriginalMixin, SomenteLeituraMixin, DaOrganizacaoAdmin):
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


@admin.register(ImportLog)
class ImportLogAdmin(ArquivoRecebidoMixin, SomenteLeituraMixin, DaOrganizacaoAdmin):
    list_display = ["criado_em", "arquivo", "chave", "tipo_xml", "status", "mensagem", "origem", "link_recebido"]
    list_filter = ["status", "origem", "tipo_xml", "criado_em"]
    search_fields = ["=chave", "arquivo", "mensagem"]
    date_hierarchy = "criado_em"
    readonly_fields = ["link_recebido"]
    exclude = ["organizacao", "xml"]


# DRF's token admin lists every key in full; its tokens are no longer used (core.admin_tokens replaces it).
admin.site.unregister(TokenProxy)


# Per-area admin modules, registered with the same scoping as above.
from . import admin_emails, admin_operacao, admin_sefaz, admin_tokens, admin_webhooks  # noqa: E402, F401
