"""The e-mail outbox: one row per (event or digest, recipient, kind), sent by the worker and the cron task."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from .base import DaOrganizacao

AGENDA_PADRAO = "60,300,1800,7200,21600"  # ~8.5 hours in total


def agenda_de_emails() -> list[int]:
    """Seconds to wait after failed attempt n (1-based) before attempt n + 1 (EMAIL_RETRY_SCHEDULE)."""
    texto = str(getattr(settings, "EMAIL_RETRY_SCHEDULE", AGENDA_PADRAO) or AGENDA_PADRAO)
    return [int(parte) for parte in texto.split(",") if parte.strip()]


class TipoDeEmail(models.TextChoices):
    NFE_IMPORTADA = "nfe_importada", "NF-e importada"
    CTE_IMPORTADO = "cte_importado", "CT-e importado"
    ERRO_IMPORTACAO = "erro_importacao", "Erro de importação"
    RESUMO_IMPORTACAO = "resumo_importacao", "Resumo de importação"
    CONSULTA_CONCLUIDA = "consulta_concluida", "Consulta à SEFAZ concluída"
    CERTIFICADO_VENCENDO = "certificado_vencendo", "Certificado vencendo"
    CERTIFICADO_PROBLEMA = "certificado_problema", "Captura parada (problema no certificado)"
    PRAZO_MANIFESTACAO = "prazo_manifestacao", "Prazo de manifestação"
    RESUMO_DIARIO = "resumo_diario", "Resumo diário"
    WEBHOOK_DESATIVADO = "webhook_desativado", "Webhook desativado"


class EnvioEmail(DaOrganizacao):
    """One e-mail to one recipient: written in the transaction of what it tells, sent after it.

    What it is about is stored, not the message: `evento` (an event id), `lote` (the import whose
    events a digest summarizes), `dados` (the ids or the day of a notice that is not one event). The
    message is rendered when it is sent, from the stored rows. `chave` names that subject, and the
    unique constraints make writing the same (subject, recipient, kind) twice impossible.

    The recipient is a member (`usuario`) or, for the capture-problem notice only, a plain address the
    organization listed (`endereco`).
    """

    class Status(models.TextChoices):
        PENDENTE = "pendente", "Pendente"
        ENVIANDO = "enviando", "Enviando"
        ENVIADO = "enviado", "Enviado"
        PULADO = "pulado", "Pulado (destinatário inativo ou desinscrito)"
        FALHOU = "falhou", "Falhou (tentativas esgotadas)"

    tipo = models.CharField(max_length=30, choices=TipoDeEmail.choices)
    usuario = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="usuário", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    endereco = models.CharField("endereço", max_length=254, blank=True, default="")
    chave = models.CharField(max_length=80)
    # No foreign key: the cleanup deletes old events by raw DELETE, and a sent e-mail needs none.
    evento = models.CharField(max_length=30, blank=True, default="")
    lote = models.CharField(max_length=40, blank=True, default="")
    dados = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDENTE)
    tentativas = models.PositiveSmallIntegerField(default=0)
    proxima_tentativa_em = models.DateTimeField("próxima tentativa em")
    lease_expira_em = models.DateTimeField("reserva expira em", null=True, blank=True)
    erro = models.TextField(blank=True, default="")  # class and message of the last failure; never addresses
    enviado_em = models.DateTimeField(null=True, blank=True)
    criado_em = models.DateTimeField(auto_now_add=True)
    atualizado_em = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "envio de e-mail"
        verbose_name_plural = "envios de e-mail"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organizacao", "tipo", "chave", "usuario"], condition=Q(usuario__isnull=False),
                name="envioemail_unico_por_usuario",
            ),
            models.UniqueConstraint(
                fields=["organizacao", "tipo", "chave", "endereco"], condition=Q(usuario__isnull=True),
                name="envioemail_unico_por_endereco",
            ),
        ]  # fmt: skip
        indexes = [
            # The sender's two questions, as for webhooks: which pending rows are due, which leases expired.
            models.Index(fields=["status", "proxima_tentativa_em"], name="envioemail_fila_idx"),
            models.Index(fields=["status", "lease_expira_em"], name="envioemail_lease_idx"),
            models.Index(fields=["organizacao", "id"], name="envioemail_org_idx"),
        ]

    def __str__(self):
        return f"{self.tipo} {self.chave} -> {self.usuario_id or 'endereço'} ({self.status})"
