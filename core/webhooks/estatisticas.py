"""Delivery health per webhook: volume, success rate, latency, last success and last error.

Everything is computed in the database with a fixed number of queries, whatever the number of
webhooks or attempts: one aggregate, one window query for the p95, one for the webhooks themselves.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Avg, Count, F, OuterRef, Q, Subquery, Window
from django.db.models.functions import Ceil, RowNumber

from core.models import Organizacao, Webhook, WebhookLog
from core.tenancy import escopo

Status = WebhookLog.Status
CONCLUIDAS = (Status.SUCESSO, Status.FALHA, Status.DESISTIU)
FALHAS = (Status.FALHA, Status.DESISTIU)


def estatisticas_dos_webhooks(organizacao: Organizacao, desde: datetime) -> list[dict]:
    """One dict per webhook of the organization, over the attempts made since `desde`."""
    tentativas = escopo(WebhookLog, organizacao).filter(criado_em__gte=desde, status__in=CONCLUIDAS)
    agregados = {
        linha["webhook_id"]: linha
        for linha in tentativas.order_by().values("webhook_id").annotate(
            entregas=Count("id"),
            sucessos=Count("id", filter=Q(status=Status.SUCESSO)),
            latencia_media=Avg("duracao_ms"),
        )
    }
    p95 = _p95_por_webhook(tentativas)
    ultimos_erros = escopo(WebhookLog, organizacao).filter(webhook_id=OuterRef("pk"), status__in=FALHAS).order_by("-id")
    webhooks = escopo(Webhook, organizacao).order_by("id").annotate(
        pendentes=Count("logs", filter=Q(logs__status__in=(Status.PENDENTE, Status.ENTREGANDO))),
        ultimo_erro_em=Subquery(ultimos_erros.values("atualizado_em")[:1]),
        ultimo_erro_mensagem=Subquery(ultimos_erros.values("erro")[:1]),
        ultimo_erro_codigo=Subquery(ultimos_erros.values("codigo_http")[:1]),
    )
    return [_linha(w, agregados.get(w.pk, {}), p95.get(w.pk)) for w in webhooks]


def _p95_por_webhook(tentativas) -> dict[int, int]:
    """Nearest-rank 95th percentile of the attempt durations, per webhook, in one query."""
    ordenadas = tentativas.filter(duracao_ms__isnull=False).annotate(
        posicao=Window(RowNumber(), partition_by=[F("webhook_id")], order_by=F("duracao_ms").asc()),
        quantas=Window(Count("id"), partition_by=[F("webhook_id")]),
    )
    # Filtering on a window function: Django wraps the query, so the rank is computed over every row.
    percentis = ordenadas.filter(posicao=Ceil(F("quantas") * 0.95)).values_list("webhook_id", "duracao_ms")
    return dict(percentis)


def _linha(webhook: Webhook, agregado: dict, p95: int | None) -> dict:
    entregas, sucessos = agregado.get("entregas", 0), agregado.get("sucessos", 0)
    media = agregado.get("latencia_media")
    ultimo_erro = None
    if webhook.ultimo_erro_em is not None:
        ultimo_erro = {
            "em": webhook.ultimo_erro_em,
            "mensagem": webhook.ultimo_erro_mensagem,
            "codigo_http": webhook.ultimo_erro_codigo,
        }
    return {
        "webhook": webhook.pk,
        "nome": webhook.nome,
        "ativo": webhook.ativo,
        "entregas": entregas,
        "sucessos": sucessos,
        "falhas": entregas - sucessos,
        "taxa_de_sucesso": round(100 * sucessos / entregas, 2) if entregas else None,
        "latencia_media_ms": round(media) if media is not None else None,
        "latencia_p95_ms": p95,
        "ultimo_sucesso_em": webhook.ultimo_sucesso_em,
        "ultimo_erro": ultimo_erro,
        "falhas_consecutivas": webhook.falhas_consecutivas,
        "pendentes": webhook.pendentes,
    }


def ultima_falha(webhook: Webhook) -> WebhookLog | None:
    """The webhook's latest attempt that failed (it has a class): what the disabling e-mail explains."""
    tentativas = escopo(WebhookLog, webhook.organizacao).filter(webhook_id=webhook.pk).exclude(classe_falha="")
    return tentativas.only("classe_falha", "codigo_http", "erro", "tentativa", "atualizado_em").order_by("-id").first()
