"""Admin for operating the service: the API request log, scheduled-task runs and locks, daily reports
sent, and each member's notification choices.

The request log can hold millions of rows (see limpeza_logs): its filters are fixed lists (status
ranges, the API's own path prefixes) rather than DISTINCT scans, there is no date hierarchy (that runs
a DISTINCT over the dates) and the total count is not computed twice.
"""

from functools import cache

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import URLResolver, get_resolver
from django.utils import timezone
from django.utils.html import format_html

from ..models import (
    APIRequestLog,
    ExecucaoDeTarefa,
    PreferenciaNotificacao,
    RelatorioEnviado,
    TravaDeTarefa,
)
from ..models.notificacoes import TIPOS_DE_NOTIFICACAO
from ..notifications.preferencias import atualizar_preferencias
from ..tenancy import escopo
from .base import (
    ApagadoSoEmCascataMixin,
    ComOrganizacaoAdmin,
    DaOrganizacaoAdmin,
    SomenteLeituraMixin,
    SomenteSuperusuarioMixin,
    coluna,
    e_administrador,
    organizacao_do_admin,
)

TIPOS = [nome for nome, _padrao, _rotulo in TIPOS_DE_NOTIFICACAO]
FAIXAS_DE_STATUS = {
    "2xx": ("Sucesso (2xx)", 200, 300),
    "3xx": ("Redirecionamento (3xx)", 300, 400),
    "4xx": ("Erro do cliente (4xx)", 400, 500),
    "429": ("Limite excedido (429)", 429, 430),
    "5xx": ("Erro do servidor (5xx)", 500, 600),
}


# --- API request log -------------------------------------------------------------------------------


class FaixaDeStatus(admin.SimpleListFilter):
    title = "status"
    parameter_name = "faixa"

    def lookups(self, request, model_admin):
        return [(chave, rotulo) for chave, (rotulo, _de, _ate) in FAIXAS_DE_STATUS.items()]

    def queryset(self, request, queryset):
        if self.value() not in FAIXAS_DE_STATUS:
            return queryset
        _rotulo, de, ate = FAIXAS_DE_STATUS[self.value()]
        return queryset.filter(status__gte=de, status__lt=ate)


@cache
def prefixos_da_api() -> list[str]:
    """"/api/<first segment>/" of every route under /api/, read from the URLconf once."""
    prefixos = set()
    for padrao in get_resolver().url_patterns:
        if isinstance(padrao, URLResolver) and str(padrao.pattern) == "api/":
            prefixos.update(_primeiros_segmentos(padrao))
    return sorted(f"/api/{segmento}/" for segmento in prefixos)


def _primeiros_segmentos(resolver: URLResolver):
    for padrao in resolver.url_patterns:
        rota = str(padrao.pattern).lstrip("^")
        segmento = rota.split("/", 1)[0]
        if segmento and segmento.replace("-", "").replace("_", "").isalnum():
            yield segmento
        elif not rota and isinstance(padrao, URLResolver):  # path("", include(router.urls))
            yield from _primeiros_segmentos(padrao)


class PrefixoDoCaminho(admin.SimpleListFilter):
    title = "caminho"
    parameter_name = "caminho"

    def lookups(self, request, model_admin):
        return [(prefixo, prefixo) for prefixo in prefixos_da_api()]

    def queryset(self, request, queryset):
        return queryset.filter(caminho__startswith=self.value()) if self.value() else queryset


@admin.register(APIRequestLog)
class APIRequestLogAdmin(ApagadoSoEmCascataMixin, SomenteLeituraMixin, ComOrganizacaoAdmin):
    # Never deleted by hand: limpeza_logs removes rows past the retention.
    list_display = [
        "criado_em", coluna("metodo", "método"), "caminho", "situacao", coluna("duracao_ms", "duração (ms)"),
        coluna("ip", "IP"), coluna("usuario", "usuário"),
    ]  # fmt: skip
    list_filter = [FaixaDeStatus, PrefixoDoCaminho, "metodo", ("criado_em", admin.DateFieldListFilter)]
    show_facets = admin.ShowFacets.NEVER  # a COUNT per filter choice over millions of rows
    search_fields = ["^caminho", "=ip"]
    search_help_text = "Início do caminho (/api/nfes/...) ou IP exato"
    list_select_related = ["usuario"]
    exclude = ["organizacao"]
    show_full_result_count = False

    @admin.display(description="status", ordering="status")
    def situacao(self, obj):
        if obj.status < 400:
            return str(obj.status)
        cor = "#c86400" if obj.status < 500 else "#ba2121"
        return format_html('<strong style="color:{}">{}</strong>', cor, obj.status)


# --- Scheduled tasks (superuser only) --------------------------------------------------------------


@admin.register(ExecucaoDeTarefa)
class ExecucaoDeTarefaAdmin(SomenteSuperusuarioMixin, SomenteLeituraMixin, admin.ModelAdmin):
    list_display = ["iniciada_em", "tarefa", "situacao", "simulacao", coluna("duracao_ms", "duração (ms)"), "resumo"]
    list_filter = ["tarefa", "resultado", "simulacao", ("iniciada_em", admin.DateFieldListFilter)]
    search_fields = ["resumo", "erro"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="resultado", ordering="resultado")
    def situacao(self, obj):
        if obj.resultado != ExecucaoDeTarefa.Resultado.FALHA:
            return obj.get_resultado_display()
        return format_html('<strong style="color:#ba2121">{}</strong>', obj.get_resultado_display())


@admin.register(TravaDeTarefa)
class TravaDeTarefaAdmin(SomenteSuperusuarioMixin, SomenteLeituraMixin, admin.ModelAdmin):
    list_display = ["nome", "dono", "adquirida_em", "expira_em", "vigente"]
    search_fields = ["nome", "dono"]

    def has_delete_permission(self, request, obj=None):
        return False  # a lock left by a crashed run expires by itself (expira_em)

    @admin.display(description="vigente", boolean=True)
    def vigente(self, obj):
        return obj.expira_em > timezone.now()


# --- Daily reports and notification choices ---------------------------------------------------------


@admin.register(RelatorioEnviado)
class RelatorioEnviadoAdmin(ApagadoSoEmCascataMixin, SomenteLeituraMixin, ComOrganizacaoAdmin):
    # Never deleted by hand: the row is what keeps a report from going out twice.
    list_display = ["dia", "usuario", "enviado_em"]
    list_filter = [("dia", admin.DateFieldListFilter)]
    search_fields = ["usuario__username", "usuario__email"]
    list_select_related = ["usuario"]
    exclude = ["organizacao"]


class PreferenciaForm(forms.ModelForm):
    class Meta:
        model = PreferenciaNotificacao
        fields = ["usuario", *TIPOS]

    def clean_usuario(self):
        usuario = self.cleaned_data["usuario"]
        organizacao = usuario.membro.organizacao
        if escopo(PreferenciaNotificacao, organizacao).filter(usuario=usuario).exists():
            raise forms.ValidationError("Este usuário já tem preferências salvas: altere-as na lista.")
        return usuario


@admin.register(PreferenciaNotificacao)
class PreferenciaNotificacaoAdmin(DaOrganizacaoAdmin):
    """Each member's e-mail choices; a member without a row gets the defaults. Saved through
    `atualizar_preferencias`, as the API does."""

    form = PreferenciaForm
    list_display = ["usuario", *TIPOS, "atualizado_em"]
    list_filter = ["resumo_diario", "erro_importacao", "certificado_vencendo", "webhook_desativado"]
    search_fields = ["usuario__username", "usuario__email"]
    list_select_related = ["usuario"]
    fields = ["usuario", *TIPOS]

    def get_readonly_fields(self, request, obj=None):
        return ["usuario"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "usuario":
            kwargs["queryset"] = self._usuarios_escolhiveis(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _usuarios_escolhiveis(self, request):
        usuarios = get_user_model().objects.order_by("username")
        if request.user.is_superuser:
            return usuarios.filter(membro__isnull=False)
        organizacao = organizacao_do_admin(request)
        if organizacao is None:
            return usuarios.none()
        return usuarios.filter(membro__organizacao=organizacao) if e_administrador(request) else usuarios.filter(pk=request.user.pk)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and (
            request.user.is_superuser or organizacao_do_admin(request) is not None
        )

    def has_change_permission(self, request, obj=None):
        # A `membro` changes only their own choices; an administrador, anyone's in the organization.
        return super().has_change_permission(request, obj) and (
            obj is None or obj.usuario_id == request.user.pk or request.user.is_superuser or e_administrador(request)
        )

    def save_model(self, request, obj, form, change):
        organizacao = obj.organizacao if change else obj.usuario.membro.organizacao
        salva = atualizar_preferencias(
            usuario=obj.usuario, organizacao=organizacao, campos={nome: getattr(obj, nome) for nome in TIPOS}
        )
        obj.pk, obj.organizacao, obj.atualizado_em = salva.pk, organizacao, salva.atualizado_em
