"""Webhook endpoints of an organization and the delivery outbox/audit log."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from core.cripto import CampoCifrado, CampoJSONCifrado

from .base import DaOrganizacao
from .eventos import Evento

AGENDA_PADRAO = "5,30,120,600,1800,3600,10800,21600,43200,86400,86400"  # ~3 days in total


def agenda_de_tentativas() -> list[int]:
    """Seconds to wait after failed attempt n (1-based) before attempt n + 1."""
    texto = str(getattr(settings, "WEBHOOK_RETRY_SCHEDULE", AGENDA_PADRAO) or AGENDA_PADRAO)
    return [int(parte) for parte in texto.split(",") if parte.strip()]


def max_tentativas_padrao() -> int:
    """The first attempt plus one retry per entry of the schedule."""
    return len(agenda_de_tentativas()) + 1


class Webhook(DaOrganizacao):
    """An HTTPS endpoint that receives the organization's events, signed with `segredo`."""

    nome = models.CharField(max_length=100)
    url = models.URLField("URL", max_length=2000)
    eventos = models.JSONField(default=list, blank=True)  # event names; empty = every event
    ativo = models.BooleanField(default=True)
    headers = CampoJSONCifrado("cabeçalhos", default=dict, blank=True)  # may carry the receiver's credentials
    timeout = models.PositiveSmallIntegerField(
        "tempo limite (segundos)", default=10, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    max_tentativas = models.PositiveSmallIntegerField("máximo de tentativas", default=max_tentativas_padrao)
    segredo = CampoCifrado()
    # During a rotation the old secret keeps signing (a second signature) until it expires.
    segredo_anterior = CampoCifrado(blank=True, default="")
    segredo_anterior_expira_em = models.DateTimeField("segredo anterior expira em", null=True, blank=True)
    falhas_consecutivas = models.PositiveIntegerField(default=0)
    primeira_falha_em = models.DateTimeField(null=True, blank=True)  # start of the current failure streak
    ultimo_sucesso_em = models.DateTimeField("último sucesso em", null=True, blank=True)
    desativado_em = models.DateTimeField(null=True, blank=True)
    motivo_desativacao = models.CharField("motivo da desativação", max_length=200, blank=True, default="")
    criado_em = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "webhook"
        verbose_name_plural = "webhooks"
        ordering = ["id"]
        indexes = [models.Index(fields=["organizacao", "ativo"], name="webhook_org_ativo_idx")]

    def __str__(self):
        return self.nome


class ClasseDeFalha(models.TextChoices):
    """Why an attempt failed, so the receiver's owner knows what to fix. Blank: success (or no attempt made).

    Every class is retried on the schedule; only an HTTP 410 disables the webhook at once.
    """

    REDE = "rede", "Rede (DNS, conexão recusada ou interrompida)"
    TEMPO_ESGOTADO = "tempo_esgotado", "Tempo esgotado"
    TLS = "tls", "TLS (certificado ou handshake)"
    HTTP = "http", "Resposta HTTP fora de 2xx"
    RECUSADA = "recusada", "Recusada antes do envio (regras de endereço)"
    INTERNA = "interna", "Erro interno do fiscal"


class WebhookLog(DaOrganizacao):
    """One delivery ATTEMPT of one event to one webhook: the outbox and the audit log at once.

    One row per attempt (not one row per delivery updated in place), as issue 4 asks: every attempt
    keeps its own status code, duration, response excerpt and error, so the log shows the whole history
    and nothing is overwritten. A failed attempt that will be retried is closed as `falha` and, in the
    same transaction, the next attempt is inserted as `pendente` with `proxima_tentativa_em`; the unique
    (evento, webhook, tentativa) constraint makes a duplicated retry impossible.
    """

    class Status(models.TextChoices):
        PENDENTE = "pendente", "Pendente"
        ENTREGANDO = "entregando", "Entregando"
        SUCESSO = "sucesso", "Sucesso"
        FALHA = "falha", "Falha (nova tentativa agendada)"
        DESISTIU = "desistiu", "Desistiu"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="logs")
    evento = models.ForeignKey(Evento, on_delete=models.CASCADE, related_name="+")
    tentativa = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDENTE)
    codigo_http = models.PositiveSmallIntegerField("código HTTP", null=True, blank=True)
    classe_falha = models.CharField("classe da falha", max_length=16, choices=ClasseDeFalha.choices, blank=True, default="")
    duracao_ms = models.PositiveIntegerField("duração (ms)", null=True, blank=True)
    trecho_resposta = models.TextField("trecho da resposta", blank=True, default="")  # at most 4 KiB (rede.LIMITE_TRECHO)
    erro = models.TextField(blank=True, default="")
    proxima_tentativa_em = models.DateTimeField("próxima tentativa em")
    lease_expira_em = models.DateTimeField("reserva expira em", null=True, blank=True)
    criado_em = models.DateTimeField(auto_now_add=True)
    atualizado_em = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "entrega de webhook"
        verbose_name_plural = "entregas de webhook"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["evento", "webhook", "tentativa"], name="webhooklog_tentativa_unica"),
        ]
        indexes = [
            # The worker's two questions: which pending rows are due, which leases have expired.
            models.Index(fields=["status", "proxima_tentativa_em"], name="webhooklog_fila_idx"),
            models.Index(fields=["status", "lease_expira_em"], name="webhooklog_lease_idx"),
            models.Index(fields=["organizacao", "webhook", "id"], name="webhooklog_org_idx"),
        ]

    def __str__(self):
        return f"{self.evento_id} -> webhook {self.webhook_id} #{self.tentativa} {self.status}"
