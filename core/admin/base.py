"""What every admin page of the project is built on: who the staff user is and what their role lets them
change (README, "Papéis"), and the scoping of every list and detail to their organization.

Roles, on top of each model's Django permissions:

- A superuser: everything, always.
- Staff of a deactivated organization: every page of theirs read-only (no add, change, delete or
  actions), with a message on each page saying why.
- Staff whose `Membro.papel` is `membro`: read-only on the management pages (`so_administradores`:
  webhooks, certificates, capture defaults, members); an `administrador` manages them. Reading,
  reprocessing imports and one's own e-mail choices stay open to every member.

This module imports no other module of the package: the area modules import it, never the other way.
"""

from django.contrib import admin, messages
from django.db import models
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from .. import formatacao as fmt
from ..documentos.chave import somente_documento
from ..models import Membro, Organizacao
from ..tenancy import escopo

AVISO_INATIVA = (
    "Organização inativa: estas páginas estão só para leitura, e a captura na SEFAZ e as entregas de "
    "webhooks estão suspensas. Para reativá-la, contate o suporte."
)


def membro_do_admin(request) -> Membro | None:
    """The staff user's membership, with its organization, looked up once per request (every permission
    check and get_queryset() of a page asks)."""
    if not hasattr(request, "_membro_do_admin"):
        usuario = request.user
        encontrado = None
        if usuario.is_authenticated:
            encontrado = Membro.objects.select_related("organizacao").filter(usuario_id=usuario.pk).first()
        request._membro_do_admin = encontrado
    return request._membro_do_admin


def e_administrador(request) -> bool:
    membro = membro_do_admin(request)
    return membro is not None and membro.papel == Membro.Papel.ADMINISTRADOR


def organizacao_inativa(request) -> bool:
    membro = membro_do_admin(request)
    return not request.user.is_superuser and membro is not None and not membro.organizacao.ativa


class PapelNoAdminMixin:
    """For every ModelAdmin of an organization's rows: the role and the organization's state may only take
    rights away from what the model's Django permissions give."""

    so_administradores = False  # a management page: changed by administradores only

    def pode_alterar(self, request) -> bool:
        if request.user.is_superuser:
            return True
        if organizacao_inativa(request):
            return False
        return not self.so_administradores or e_administrador(request)

    def has_add_permission(self, request, *args):
        return self.pode_alterar(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self.pode_alterar(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.pode_alterar(request) and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        # Every action here changes something or sends something (test, resend, reprocess).
        return super().get_actions(request) if self.pode_alterar(request) else {}

    def changelist_view(self, request, extra_context=None):
        return self._com_aviso(request, super().changelist_view(request, extra_context))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._com_aviso(request, super().changeform_view(request, object_id, form_url, extra_context))

    def _com_aviso(self, request, resposta):
        # Only on a page about to render (a TemplateResponse, rendered after this returns), never on a
        # redirect, so the message shows once, on the page it explains.
        if getattr(resposta, "is_rendered", True) is False and organizacao_inativa(request):
            messages.warning(request, AVISO_INATIVA)
        return resposta


def organizacao_do_admin(request) -> Organizacao | None:
    """The staff user's organization (None without one), looked up once per request with the role
    (membro_do_admin): every get_queryset() and permission check of a page asks."""
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


# Raw codes shown by name on a document's page (core.formatacao); tipo_evento needs its document type.
TIPOS_DE_DOCUMENTO_DA_PARTE = {"cnpj": "CNPJ", "cpf": "CPF", "estrangeiro": "Identificação de estrangeiro"}


def _nome_do_tipo_de_documento(tipo) -> str:
    return TIPOS_DE_DOCUMENTO_DA_PARTE.get(tipo or "", tipo or fmt.VAZIO)


def _chaves(chaves) -> str:
    """A list of chaves (a CT-e's NF-e), each in blocks of four, one per line."""
    return format_html_join(mark_safe("<br>"), "{}", ((fmt.formatar_chave(chave),) for chave in chaves or []))


NOMES_DE_CODIGOS = {
    "modelo": fmt.nome_do_modelo, "modal": fmt.nome_do_modal, "ambiente": fmt.nome_do_ambiente,
    "tipo_cte": fmt.nome_do_tipo_cte, "tipo_servico": fmt.nome_do_tipo_servico,
    "tomador_papel": fmt.nome_do_papel_tomador, "finalidade": fmt.nome_da_finalidade,
    "destinatario_tipo_documento": _nome_do_tipo_de_documento, "chaves_nfe": _chaves,
}  # fmt: skip
CAMPOS_NAO_DOCUMENTO = {"tipo_documento", "destinatario_tipo_documento"}


def formatador(campo: models.Field):
    """How a field of a document reads for people, or None when its plain value already does."""
    nome = campo.name
    if nome in NOMES_DE_CODIGOS:
        return NOMES_DE_CODIGOS[nome]
    if nome == "chave":
        return fmt.formatar_chave
    if nome in ("documento", "cnpj", "cpf") or (nome.endswith("_documento") and nome not in CAMPOS_NAO_DOCUMENTO):
        return fmt.formatar_documento
    if nome == "valor_unitario":
        return fmt.formatar_preco
    if isinstance(campo, models.DecimalField) and campo.decimal_places == 2:
        return lambda valor: fmt.VAZIO if valor is None else fmt.formatar_moeda(valor)
    if isinstance(campo, models.DateTimeField):
        return fmt.formatar_data_hora
    return None


def _legivel(campo: models.Field, formatar):
    @admin.display(description=campo.verbose_name, ordering=campo.name)
    def mostrar(obj):
        return formatar(getattr(obj, campo.name)) or fmt.VAZIO

    return mostrar


class CamposLegiveisMixin:
    """For read-only pages: each raw field with a formatter (CNPJ/CPF, chave, R$, dates, codes) is shown as
    `<campo>_legivel`, masked, in money or by name, under the field's own label; list columns may name
    `<campo>_legivel` too."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.legiveis = {}
        for campo in self.model._meta.concrete_fields:
            formatar = formatador(campo)
            if formatar is not None:
                self.legiveis[campo.name] = f"{campo.name}_legivel"
                setattr(self, f"{campo.name}_legivel", _legivel(campo, formatar))

    def get_fieldsets(self, request, obj=None):
        return [
            (titulo, {**opcoes, "fields": [self.legiveis.get(c, c) for c in opcoes["fields"]]})
            for titulo, opcoes in super().get_fieldsets(request, obj)
        ]

    def get_readonly_fields(self, request, obj=None):
        # An inline lists its fields as read-only ones: the shown names must be the read-only ones too.
        return [self.legiveis.get(c, c) for c in super().get_readonly_fields(request, obj)]


class BuscaSemMascaraMixin:
    """A chave as printed (blocks of four) or a masked CNPJ/CPF is searched without its spaces and mask, so
    the exact ("=chave", "=documento") search fields find it."""

    def get_search_results(self, request, queryset, search_term):
        compacto = somente_documento(search_term)
        if compacto.isalnum() and len(compacto) in (11, 14, 44):
            search_term = compacto
        return super().get_search_results(request, queryset, search_term)
