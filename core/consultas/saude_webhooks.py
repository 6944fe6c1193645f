"""The webhook health page of the admin: the last 24 hours of deliveries, failures by class, disabled
webhooks, and the backlog of the two outbox queues (webhook deliveries and e-mails).

A fixed number of queries whatever the amount of data: two aggregates over the attempts, one GROUP
BY over the failure classes, the disabled webhooks (at most LIMITE), the e-mail queue aggregate and
the three of `estatisticas_dos_webhooks` (the per-webhook table and chart).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone

from core.models import EnvioEmail, Organizacao, Webhook, WebhookLog
from core.models.webhooks import ClasseDeFalha
from core.tenancy import escopo
from core.webhooks.estatisticas import CONCLUIDAS, FALHAS, estatisticas_dos_webhooks

JANELA = timedelta(hours=24)
LIMITE = 20
EM_ABERTO = (WebhookLog.Status.PENDENTE, WebhookLog.Status.ENTREGANDO)
EMAILS_EM_ABERTO = (EnvioEmail.Status.PENDENTE, EnvioEmail.Status.ENVIANDO)


def saude_dos_webhooks(*, organizacao: Organizacao, agora: datetime | None = None) -> dict:
    """{"organizacao", "desde", "entregas", "por_classe", "desativados", "fila", "emails", "webhooks"}."""
    agora = agora or timezone.now()
    desde = agora - JANELA
    return {
        "organizacao": organizacao,
        "desde": desde,
        "entregas": _entregas(organizacao, desde),
        "por_classe": _por_classe(organizacao, desde),
        "desativados": list(
            escopo(Webhook, organizacao).filter(ativo=False).order_by("-desativado_em", "id")
            .values("id", "nome", "desativado_em", "motivo_desativacao")[:LIMITE]
        ),  # fmt: skip
        "fila": _fila(escopo(WebhookLog, organizacao), EM_ABERTO, "proxima_tentativa_em", agora),
        "emails": _fila(escopo(EnvioEmail, organizacao), EMAILS_EM_ABERTO, "proxima_tentativa_em", agora),
        "webhooks": estatisticas_dos_webhooks(organizacao, desde),
    }


def _entregas(organizacao: Organizacao, desde: datetime) -> dict:
    """Attempts concluded since `desde`: how many, successes, failures and the failure rate (%)."""
    linha = (
        escopo(WebhookLog, organizacao)
        .filter(criado_em__gte=desde, status__in=CONCLUIDAS)
        .aggregate(total=Count("id"), falhas=Count("id", filter=Q(status__in=FALHAS)))
    )
    total, falhas = linha["total"], linha["falhas"]
    return {
        "total": total,
        "sucessos": total - falhas,
        "falhas": falhas,
        "taxa_de_falha": round(100 * falhas / total, 2) if total else None,
    }


def _por_classe(organizacao: Organizacao, desde: datetime) -> list[dict]:
    """[{"classe", "nome", "falhas", "taxa"}]: failed attempts by class, "taxa" the share (%) of all
    concluded attempts of the window, the largest first."""
    tentativas = escopo(WebhookLog, organizacao).filter(criado_em__gte=desde, status__in=CONCLUIDAS)
    linhas = list(
        tentativas.order_by().values("classe_falha").annotate(n=Count("id"), falhas=Count("id", filter=Q(status__in=FALHAS)))
    )
    total = sum(linha["n"] for linha in linhas)
    nomes = dict(ClasseDeFalha.choices)
    classes = [
        {"classe": linha["classe_falha"], "nome": nomes.get(linha["classe_falha"], linha["classe_falha"] or "sem classe"),
         "falhas": linha["falhas"], "taxa": round(100 * linha["falhas"] / total, 2)}
        for linha in linhas if linha["falhas"]
    ]  # fmt: skip
    return sorted(classes, key=lambda c: (-c["falhas"], c["classe"]))


def _fila(linhas, em_aberto, campo: str, agora: datetime) -> dict:
    """{"quantidade", "vencidas", "mais_antiga"}: rows waiting, those already due, the oldest due date."""
    return linhas.filter(status__in=em_aberto).aggregate(
        quantidade=Count("id"), vencidas=Count("id", filter=Q(**{f"{campo}__lte": agora})), mais_antiga=Min(campo)
    )
