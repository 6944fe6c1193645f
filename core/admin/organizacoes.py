"""Admin of the organizations and their members: who works where and with which role (README, "Papéis")."""

from django import forms
from django.contrib import admin, messages

from ..models import Membro, Organizacao
from ..organizacoes import (
    SemAdministrador,
    alterar_papel,
    remover_membro,
    ultimo_administrador,
)
from .base import ComOrganizacaoAdmin


@admin.register(Organizacao)
class OrganizacaoAdmin(admin.ModelAdmin):
    list_display = ["nome", "slug", "ativa", "fuso_horario", "limite_requisicoes_por_minuto", "criada_em"]
    list_filter = ["ativa", "fuso_horario"]
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
