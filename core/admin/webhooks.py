"""Admin for the webhooks: endpoints (health columns, "testar" and "reenviar falhas"), the delivery log
and the event log. Scoped like the rest of the admin (`DaOrganizacaoAdmin`).

Secrets never reach a page: `segredo` / `segredo_anterior` are not even loaded (deferred), custom
header values are not shown (they often carry the receiver's credentials) and the URL is shown
without its query string (`url_segura`), where integrators like to put tokens. Changing the URL stays
with the API: validating it resolves DNS, which does not belong inside the admin's form transaction.
"""

import json
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Max, Q
from django.db.models.fields.json import KT
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from ..eventos.catalogo import TIPOS
from ..graficos import cor_da_taxa, porcentagem
from ..models import Evento, Webhook, WebhookLog
from ..models.webhooks import max_tentativas_padrao
from ..tenancy import escopo, todas_as_organizacoes
from ..webhooks.estatisticas import CONCLUIDAS
from ..webhooks.gestao import (
    OperacaoInvalida,
    atualizar_webhook,
    recuperar,
    testar_webhook,
    validar_eventos,
)
from ..webhooks.rede import url_segura
from .base import (
    ApagadoSoEmCascataMixin,
    DaOrganizacaoAdmin,
    ListaEnxutaMixin,
    SomenteLeituraMixin,
    coluna,
    organizacao_do_admin,
)

Status = WebhookLog.Status
JANELA_DE_SAUDE = timedelta(days=30)
MAX_TESTES_POR_ACAO = 5  # each test waits for the receiver (up to its timeout, 30 s at most)
DIAS_DE_REENVIO_PADRAO = 7
DIAS_DE_REENVIO_MAXIMO = 30  # WebhookLog rows older than that are cleaned up (limpeza_logs)
CORES_DE_STATUS = {
    Status.SUCESSO: "#2e7d32",
    Status.FALHA: "#c86400",
    Status.DESISTIU: "#ba2121",
}


def webhooks_visiveis(request):
    """The webhooks this admin user may see. A superuser's admin is the one request path that reads
    across organizations (as ModelAdmin itself does for them)."""
    if request.user.is_superuser:
        return todas_as_organizacoes(Webhook)
    organizacao = organizacao_do_admin(request)
    return escopo(Webhook, organizacao) if organizacao is not None else todas_as_organizacoes(Webhook).none()


def _data_hora(valor):
    return date_format(timezone.localtime(valor), "SHORT_DATETIME_FORMAT") if valor else "—"


# --- Filters ---------------------------------------------------------------------------------------


class PorTipoDeEvento(admin.SimpleListFilter):
    """The event catalogue as choices: no DISTINCT scan of a large table to build the list."""

    title = "tipo de evento"
    parameter_name = "tipo"
    campo = "tipo"

    def lookups(self, request, model_admin):
        return [(nome, nome) for nome in TIPOS]

    def queryset(self, request, queryset):
        return queryset.filter(**{self.campo: self.value()}) if self.value() else queryset


class PorTipoDoEventoEntregue(PorTipoDeEvento):
    campo = "evento__tipo"


class PorWebhook(admin.SimpleListFilter):
    """Only the user's own webhooks as choices (a RelatedFieldListFilter would list every tenant's)."""

    title = "webhook"
    parameter_name = "webhook"

    def lookups(self, request, model_admin):
        webhooks = webhooks_visiveis(request).order_by("nome", "id")
        if request.user.is_superuser:
            linhas = webhooks.values_list("pk", "nome", "organizacao__nome")
            return [(pk, f"{nome} ({organizacao})") for pk, nome, organizacao in linhas]
        return list(webhooks.values_list("pk", "nome"))

    def queryset(self, request, queryset):
        return queryset.filter(webhook_id=self.value()) if self.value() else queryset


# --- Webhook -----------------------------------------------------------------------------------------


class WebhookForm(forms.ModelForm):
    """What the admin may change; every value goes through `atualizar_webhook` (fields = [] on purpose:
    the form must not write the instance itself, or reactivation would not be noticed there)."""

    nome = forms.CharField(max_length=100)
    eventos = forms.MultipleChoiceField(
        required=False, choices=[(nome, nome) for nome in TIPOS], widget=forms.CheckboxSelectMultiple,
        help_text="Nenhum marcado = todos os eventos",
    )  # fmt: skip
    ativo = forms.BooleanField(required=False, help_text="Reativar zera o histórico de falhas")
    timeout = forms.IntegerField(min_value=1, max_value=30, label="Timeout (segundos)")

    class Meta:
        model = Webhook
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The bound depends on WEBHOOK_RETRY_SCHEDULE, read now rather than at import.
        self.fields["max_tentativas"] = forms.IntegerField(
            min_value=1, max_value=max_tentativas_padrao(), label="Tentativas por evento",
            help_text="Contando a primeira",
        )
        for nome in ("nome", "eventos", "ativo", "timeout", "max_tentativas"):
            self.initial.setdefault(nome, getattr(self.instance, nome))
            # The page carries the values it showed: on submit, `changed_data` compares against them, not
            # against the row as re-read now, so an old page does not write back what the API or the
            # worker (a 410 disable) changed since it was opened.
            self.fields[nome].show_hidden_initial = True

    def _post_clean(self):
        pass  # no model validation: the domain function validates what it is given

    def clean_eventos(self):
        return validar_eventos(self.cleaned_data["eventos"])

    def alteracoes(self) -> dict:
        """What the person changed on the page, and only that."""
        return {nome: self.cleaned_data[nome] for nome in self.changed_data}


class ReenvioForm(forms.Form):
    dias = forms.IntegerField(
        min_value=1, max_value=DIAS_DE_REENVIO_MAXIMO, initial=DIAS_DE_REENVIO_PADRAO,
        label="Eventos dos últimos (dias)",
    )


@admin.register(Webhook)
class WebhookAdmin(DaOrganizacaoAdmin):
    so_administradores = True  # changing, testing and resending (core/admin/base.py)
    # Name and URL share a cell, the URL allowed to wrap anywhere: a long receiver address pushed the
    # health columns past a 1366 px screen. The creation date is on the webhook's page.
    list_display = ["webhook", "ativo", "taxa_de_sucesso", "ultima_entrega", "falhas_seguidas"]
    list_display_links = ["webhook"]
    list_filter = ["ativo"]
    search_fields = ["nome"]
    actions = ["testar", "reenviar_falhas"]
    saude = [
        "taxa_de_sucesso", "ultima_entrega", "falhas_seguidas", "primeira_falha_em", "ultimo_sucesso_em",
        "desativado_em", "motivo_desativacao", "entregas",
    ]  # fmt: skip
    readonly_fields = ["endereco", "cabecalhos", "segredo_info", "segredo_anterior_expira_em", "criado_em", *saude]
    fieldsets = [
        ("Webhook", {"fields": ["nome", "endereco", "eventos", "ativo", "timeout", "max_tentativas", "cabecalhos"]}),
        ("Saúde das entregas (últimos 30 dias)", {"fields": saude}),
        ("Segredo", {"fields": ["segredo_info", "segredo_anterior_expira_em", "criado_em"]}),
    ]

    def get_urls(self):
        # Before the default routes: "<path:object_id>/" would take "saude/" for an object id.
        saude = path("saude/", self.admin_site.admin_view(self.saude_view), name="core_webhook_saude")
        return [saude, *super().get_urls()]

    def saude_view(self, request):
        """Webhook health (deliveries of the last 24 hours, failures by class, disabled webhooks, the
        queues' backlog): the numbers come from core.consultas.saude_webhooks, through the template tag."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        contexto = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": "Saúde dos webhooks"}
        return TemplateResponse(request, "admin/core/webhook/saude.html", contexto)

    def get_queryset(self, request):
        # The health columns in the same query as the rows (a GROUP BY over the join with the log,
        # whose rows are kept 30 days): the list costs the same queries for 1 or 100 webhooks.
        recentes = Q(logs__criado_em__gte=timezone.now() - JANELA_DE_SAUDE, logs__status__in=CONCLUIDAS)
        return (
            super()
            .get_queryset(request)
            .defer("segredo", "segredo_anterior")
            .annotate(
                entregas_30d=Count("logs", filter=recentes),
                sucessos_30d=Count("logs", filter=recentes & Q(logs__status=Status.SUCESSO)),
                ultima_entrega_em=Max("logs__atualizado_em", filter=Q(logs__status__in=CONCLUIDAS)),
            )
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        return WebhookForm

    def has_add_permission(self, request):
        return False  # created through the API, which shows the new secret exactly once

    def save_model(self, request, obj, form, change):
        atualizar_webhook(obj, **form.alteracoes())

    # --- Columns

    @admin.display(description="URL")
    def endereco(self, obj):
        return url_segura(obj.url)

    @admin.display(description="webhook", ordering="nome")
    def webhook(self, obj):
        return format_html(
            '<strong>{}</strong><br><small style="overflow-wrap:anywhere">{}</small>', obj.nome, url_segura(obj.url)
        )

    @admin.display(description="sucesso (30 dias)", ordering="sucessos_30d")
    def taxa_de_sucesso(self, obj):
        if not obj.entregas_30d:
            return "—"
        taxa = 100 * obj.sucessos_30d / obj.entregas_30d
        return format_html(
            '<strong style="color:{}">{}</strong> ({} de {})', cor_da_taxa(taxa), porcentagem(taxa),
            obj.sucessos_30d, obj.entregas_30d,
        )  # fmt: skip

    @admin.display(description="última entrega", ordering="ultima_entrega_em")
    def ultima_entrega(self, obj):
        return _data_hora(obj.ultima_entrega_em)

    @admin.display(description="falhas seguidas", ordering="falhas_consecutivas")
    def falhas_seguidas(self, obj):
        if not obj.falhas_consecutivas:
            return "0"
        return format_html('<strong style="color:#ba2121">{}</strong>', obj.falhas_consecutivas)

    @admin.display(description="cabeçalhos customizados")
    def cabecalhos(self, obj):
        # Names only: the values are often the receiver's credentials.
        return ", ".join(sorted(obj.headers or {})) or "—"

    @admin.display(description="segredo")
    def segredo_info(self, obj):
        return "Definido; nunca é exibido. Para trocar, use POST /api/webhooks/{id}/rotacionar-segredo/."

    @admin.display(description="entregas")
    def entregas(self, obj):
        url = reverse("admin:core_webhooklog_changelist") + f"?webhook={obj.pk}"
        return format_html('<a href="{}">ver as entregas deste webhook</a>', url)

    # --- Actions (never inside a transaction: the changelist runs them in autocommit, and each
    # domain function commits its rows before it sends anything)

    @admin.action(description="Testar: enviar um evento de teste agora", permissions=["change"])
    def testar(self, request, queryset):
        webhooks = list(queryset.select_related("organizacao")[: MAX_TESTES_POR_ACAO + 1])
        if len(webhooks) > MAX_TESTES_POR_ACAO:
            mensagem = f"Selecione no máximo {MAX_TESTES_POR_ACAO} webhooks: cada teste espera a resposta do receptor."
            self.message_user(request, mensagem, messages.WARNING)
            return None
        for webhook in webhooks:
            try:
                log = testar_webhook(webhook)
            except OperacaoInvalida as erro:
                self.message_user(request, f"{webhook.nome}: {erro}", messages.WARNING)
                continue
            if log.status == Status.SUCESSO:
                mensagem = f"{webhook.nome}: HTTP {log.codigo_http} em {log.duracao_ms} ms."
                self.message_user(request, mensagem, messages.SUCCESS)
            else:
                motivo = log.erro or f"HTTP {log.codigo_http}"
                self.message_user(request, f"{webhook.nome}: o teste falhou ({motivo}).", messages.ERROR)
        return None

    @admin.action(description="Reenviar falhas: eventos sem entrega bem-sucedida", permissions=["change"])
    def reenviar_falhas(self, request, queryset):
        webhooks = list(queryset.select_related("organizacao"))
        form = ReenvioForm(request.POST if "confirmar" in request.POST else None)
        if not form.is_valid():
            return self._pagina_de_reenvio(request, webhooks, form)
        desde = timezone.now() - timedelta(days=form.cleaned_data["dias"])
        for webhook in webhooks:
            try:
                quantos = recuperar(webhook, desde)
            except OperacaoInvalida as erro:
                self.message_user(request, f"{webhook.nome}: {erro}", messages.WARNING)
                continue
            self.message_user(request, f"{webhook.nome}: {quantos} evento(s) na fila para reenvio.", messages.SUCCESS)
        return None

    def _pagina_de_reenvio(self, request, webhooks, form):
        desde = timezone.now() - timedelta(days=DIAS_DE_REENVIO_PADRAO)
        contexto = {
            **self.admin_site.each_context(request),
            "title": "Reenviar falhas",
            "opts": self.model._meta,
            "form": form,
            # What the default period would queue (a COUNT per webhook; a handful are selected at once).
            "webhooks": [(w, recuperar(w, desde, dry_run=True)) for w in webhooks],
            "dias_padrao": DIAS_DE_REENVIO_PADRAO,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/core/webhook/reenviar_falhas.html", contexto)


# --- Delivery log ----------------------------------------------------------------------------------


@admin.register(WebhookLog)
class WebhookLogAdmin(ApagadoSoEmCascataMixin, SomenteLeituraMixin, DaOrganizacaoAdmin):
    """One row per attempt. The list reads the webhook's name and the event's type by join: no
    webhook row (with its encrypted secret) and no event payload is loaded per line.

    The audit trail: limpeza_logs removes what is older than the retention, nobody else."""

    list_display = [
        "criado_em", "nome_do_webhook", "id_do_evento", "tipo_do_evento", "tentativa", "situacao", "classe_falha",
        coluna("codigo_http", "código HTTP"), coluna("duracao_ms", "duração (ms)"), "erro_resumido",
    ]  # fmt: skip
    list_filter = [
        "status", "classe_falha", PorTipoDoEventoEntregue, PorWebhook, ("criado_em", admin.DateFieldListFilter),
    ]  # fmt: skip
    show_facets = admin.ShowFacets.NEVER  # a COUNT per filter choice over the whole log
    search_fields = ["=evento__id"]
    search_help_text = "Id do evento (evt_...)"
    fields = [
        "webhook", "evento", "tentativa", "status", "classe_falha", "codigo_http", "duracao_ms", "erro",
        "trecho_resposta", "proxima_tentativa_em", "lease_expira_em", "criado_em", "atualizado_em",
    ]  # fmt: skip
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(webhook_nome=F("webhook__nome"), evento_tipo=F("evento__tipo"))

    @admin.display(description="webhook", ordering="webhook_nome")
    def nome_do_webhook(self, obj):
        return obj.webhook_nome

    @admin.display(description="evento", ordering="evento_id")
    def id_do_evento(self, obj):
        return obj.evento_id

    @admin.display(description="tipo", ordering="evento_tipo")
    def tipo_do_evento(self, obj):
        return obj.evento_tipo

    @admin.display(description="status", ordering="status")
    def situacao(self, obj):
        cor = CORES_DE_STATUS.get(obj.status, "#666")
        return format_html('<span style="color:{}">{}</span>', cor, obj.get_status_display())

    @admin.display(description="erro")
    def erro_resumido(self, obj):
        return (obj.erro[:77] + "…") if len(obj.erro) > 80 else obj.erro


# --- Event log -------------------------------------------------------------------------------------


@admin.register(Evento)
class EventoAdmin(ApagadoSoEmCascataMixin, ListaEnxutaMixin, SomenteLeituraMixin, DaOrganizacaoAdmin):
    """The event log; the pull feed (/api/eventos/) pages over these rows, so none is deleted by hand."""

    list_display = ["id", "tipo", "criado_em", "chave"]
    list_filter = [PorTipoDeEvento, ("criado_em", admin.DateFieldListFilter)]
    search_fields = ["=id"]
    search_help_text = "Id do evento (evt_...) ou chave de acesso do documento"
    fields = ["id", "tipo", "criado_em", "payload_formatado", "entregas"]
    readonly_fields = fields
    ordering = ["-id"]
    adiar_na_lista = ("payload",)
    show_facets = admin.ShowFacets.NEVER
    show_full_result_count = False

    def get_queryset(self, request):
        # The document key straight from the JSON: the list never loads the payloads themselves.
        return super().get_queryset(request).annotate(chave_documento=KT("payload__dados__chave"))

    def get_search_results(self, request, queryset, search_term):
        termo = search_term.strip()
        if len(termo) == 44 and termo.isalnum():  # an access key (CNPJ alfanumérico included)
            return queryset.filter(payload__dados__chave=termo), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="chave do documento")
    def chave(self, obj):
        return obj.chave_documento or "—"

    @admin.display(description="payload")
    def payload_formatado(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False))

    @admin.display(description="entregas")
    def entregas(self, obj):
        url = reverse("admin:core_webhooklog_changelist") + f"?q={obj.pk}"
        return format_html('<a href="{}">tentativas de entrega deste evento</a>', url)
