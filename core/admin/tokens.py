"""Admin for the API tokens: list, issue (the key shown once, in a message) and revoke.

For superusers and the organizations' administrators (`Membro.papel`), as in the API; plain members do
not see the page. Nothing about a token can be edited: the key is gone once shown, and a name or an expiry
change would make a token mean something else than what was handed out. Revoke it and issue another.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
import rest_framework.authtoken.admin  # noqa: F401  (registers TokenProxy first, so the unregister below holds)
from rest_framework.authtoken.models import TokenProxy

from ..models import Membro, TokenDeAPI
from ..tokens import TokenInvalido, criar_token, revogar_token, validar_token
from .base import (
    ApagadoSoEmCascataMixin,
    DaOrganizacaoAdmin,
    e_administrador,
    organizacao_do_admin,
)


def administra_tokens(request) -> bool:
    """Superusers and the administradores of an organization: a plain member does not even see the list.
    The membership is looked up once per request (`membro_do_admin`), however many checks a page makes."""
    return request.user.is_superuser or (request.user.is_staff and e_administrador(request))


class NovoTokenForm(forms.ModelForm):
    """Name, user and expiry; `core.tokens.criar_token` checks them when the admin saves."""

    class Meta:
        model = TokenDeAPI
        fields = ["nome", "usuario", "expira_em"]

    def clean(self):
        dados = super().clean()
        usuario = dados.get("usuario")
        membro = Membro.objects.select_related("organizacao").filter(usuario=usuario).first() if usuario else None
        if membro is None:
            if usuario is not None:
                self.add_error("usuario", "O usuário não é membro de nenhuma organização.")
            return dados
        try:
            validar_token(organizacao=membro.organizacao, usuario=usuario, nome=dados.get("nome", ""),
                          expira_em=dados.get("expira_em"))  # fmt: skip
        except TokenInvalido as erro:
            self.add_error(erro.campo, str(erro))
        self.organizacao = membro.organizacao
        return dados


@admin.register(TokenDeAPI)
class TokenDeAPIAdmin(ApagadoSoEmCascataMixin, DaOrganizacaoAdmin):
    form = NovoTokenForm
    list_display = ["nome", "prefixo_da_chave", "usuario", "criado_em", "expira_em", "ultimo_uso_em", "revogado_em"]
    list_filter = [("revogado_em", admin.EmptyFieldListFilter), "criado_em"]
    list_select_related = ["usuario"]
    search_fields = ["nome", "prefixo", "usuario__username"]
    actions = ["revogar"]
    readonly_campos = ["nome", "prefixo", "usuario", "criado_em", "criado_por", "expira_em", "ultimo_uso_em", "revogado_em"]

    @admin.display(description="chave", ordering="prefixo")
    def prefixo_da_chave(self, token):
        return f"{token.prefixo}…"

    def get_fields(self, request, obj=None):
        return ["nome", "usuario", "expira_em"] if obj is None else self.readonly_campos

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_campos

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "usuario":
            usuarios = get_user_model()._default_manager.filter(membro__isnull=False)
            if not request.user.is_superuser:
                usuarios = usuarios.filter(membro__organizacao=organizacao_do_admin(request))
            kwargs["queryset"] = usuarios.order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        organizacao = form.organizacao  # the user's, found by the form's checks
        novo = criar_token(
            organizacao=organizacao, usuario=obj.usuario, nome=obj.nome, expira_em=obj.expira_em, criado_por=request.user
        )
        obj.pk, obj.organizacao, obj._state.adding = novo.token.pk, organizacao, False
        obj.prefixo, obj.hash, obj.criado_em = novo.token.prefixo, novo.token.hash, novo.token.criado_em
        messages.warning(
            request,
            f"Chave do token “{obj.nome}”: {novo.chave} — copie-a agora: ela não será mostrada de novo.",
        )

    @admin.action(description="Revogar os tokens selecionados", permissions=["revogar"])
    def revogar(self, request, queryset):
        tokens = list(queryset.filter(revogado_em__isnull=True).select_related("organizacao"))
        for token in tokens:
            revogar_token(token)
        self.message_user(request, f"{len(tokens)} token(s) revogado(s).", messages.SUCCESS)

    def has_module_permission(self, request):
        return administra_tokens(request)

    def has_view_permission(self, request, obj=None):
        return administra_tokens(request)

    def has_add_permission(self, request):
        return administra_tokens(request) and self.pode_alterar(request)  # not while the organization is inactive

    def has_change_permission(self, request, obj=None):
        return False

    def has_revogar_permission(self, request):
        return administra_tokens(request)


# DRF's token admin lists every key in full; its tokens are no longer used (TokenDeAPIAdmin above replaces it).
admin.site.unregister(TokenProxy)
