"""Webhook delivery: the outbox of `WebhookLog` rows and the worker that empties it.

- `enfileirar_entregas()` writes one pending row per (event, subscribed webhook) in the caller's
  transaction and, after commit, starts delivering those rows at once in a daemon thread.
- `entregar_pendentes()` / `entregar_um()` are what the worker, the cron task and that thread run:
  claim due rows in a SHORT transaction (status `entregando` + a lease), send OUTSIDE any transaction,
  then record the result. A worker killed mid-send loses nothing: its rows are reclaimed once the lease
  expires (at-least-once; the receiver deduplicates on `webhook-id`, the event id).
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connections, router, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.models import Evento, Webhook, WebhookLog
from core.models.webhooks import agenda_de_tentativas
from core.tenancy import escopo, inserir, todas_as_organizacoes

from .assinatura import cabecalhos_assinados
from .rede import LIMITE_TRECHO, FalhaDeEnvio, Resposta, URLRecusada, enviar, url_segura

logger = logging.getLogger(__name__)

Status = WebhookLog.Status
LEASE_PADRAO_SEGUNDOS = 60
DIAS_SEM_SUCESSO_PARA_DESATIVAR = 5
RETRY_AFTER_MAXIMO_SEGUNDOS = 24 * 3600
JITTER = 0.10
# Headers this module owns: a custom header can never replace the content type or the signature.
_CABECALHOS_RESERVADOS = {"content-type", "webhook-id", "webhook-timestamp", "webhook-signature"}


# --- Queueing (inside the caller's transaction) ---------------------------------------------------


def enfileirar_entregas(eventos: list[Evento]) -> list[WebhookLog]:
    """Queue every event for each active webhook of its organization subscribed to its type."""
    por_organizacao = defaultdict(list)
    for evento in eventos:
        por_organizacao[evento.organizacao_id].append(evento)
    agora, criadas = timezone.now(), []
    for eventos_da_org in por_organizacao.values():
        organizacao = eventos_da_org[0].organizacao
        webhooks = list(escopo(Webhook, organizacao).filter(ativo=True))
        linhas = [
            WebhookLog(organizacao=organizacao, webhook=w, evento=e, proxima_tentativa_em=agora)
            for e in eventos_da_org
            for w in webhooks
            if _assina(w, e.tipo)
        ]
        if linhas:
            criadas += inserir(WebhookLog, organizacao, linhas)
    if criadas and getattr(settings, "WEBHOOK_ENTREGA_IMEDIATA", True):
        ids = [log.pk for log in criadas] if all(log.pk for log in criadas) else None
        transaction.on_commit(lambda: iniciar_entrega_em_segundo_plano(ids))
    return criadas


def _assina(webhook: Webhook, tipo: str) -> bool:
    return not webhook.eventos or tipo in webhook.eventos


def iniciar_entrega_em_segundo_plano(ids: list[int] | None) -> threading.Thread:
    """Deliver freshly committed rows now, without making the request or import wait for receivers."""
    thread = threading.Thread(target=_entregar_em_segundo_plano, args=(ids,), name="webhooks-imediatos", daemon=True)
    thread.start()
    return thread


def _entregar_em_segundo_plano(ids: list[int] | None) -> None:
    try:
        entregar_pendentes(limite=len(ids) if ids else 100, ids=ids)
    except Exception:
        # Whatever is left is picked up by the worker or the cron task.
        logger.exception("webhooks: entrega imediata falhou")
    finally:
        connections.close_all()  # this thread's connections only (they are thread-local)


# --- Delivery (outside any transaction) -----------------------------------------------------------


def entregar_um() -> bool:
    """Deliver one due row; False when nothing was due."""
    return entregar_pendentes(limite=1) > 0


def entregar_pendentes(limite: int = 10, ids: list[int] | None = None) -> int:
    """Claim up to `limite` due rows (optionally only `ids`), deliver them; return how many were claimed."""
    reivindicadas = reivindicar(limite, ids)
    for indice, log in enumerate(reivindicadas):
        _entregar(log, primeira=indice == 0)
    return len(reivindicadas)


def reivindicar(limite: int, ids: list[int] | None = None) -> list[WebhookLog]:
    """Mark due rows `entregando` with a lease, in a short transaction, and return them."""
    agora = timezone.now()
    lease = agora + timedelta(seconds=_lease_segundos())
    fila = todas_as_organizacoes(WebhookLog).filter(
        Q(status=Status.PENDENTE, proxima_tentativa_em__lte=agora)
        | Q(status=Status.ENTREGANDO, lease_expira_em__lte=agora)  # a worker died mid-send
    )
    if ids is not None:
        fila = fila.filter(pk__in=ids)
    fila = fila.order_by("proxima_tentativa_em", "id")
    banco = router.db_for_write(WebhookLog)
    if connections[banco].vendor == "postgresql":
        # Concurrent workers skip each other's locked rows instead of queueing behind them.
        with transaction.atomic(using=banco):
            escolhidas = list(fila.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limite])
            todas_as_organizacoes(WebhookLog).filter(pk__in=escolhidas).update(
                status=Status.ENTREGANDO, lease_expira_em=lease, atualizado_em=agora
            )
    else:
        # SQLite has no row locks: compare-and-swap, one winner per row.
        candidatas = list(fila.values_list("pk", "status", "lease_expira_em")[:limite])
        escolhidas = [
            pk
            for pk, status, lease_antigo in candidatas
            if todas_as_organizacoes(WebhookLog)
            .filter(pk=pk, status=status, lease_expira_em=lease_antigo)
            .update(status=Status.ENTREGANDO, lease_expira_em=lease, atualizado_em=agora)
        ]
    if not escolhidas:
        return []
    linhas = todas_as_organizacoes(WebhookLog).filter(pk__in=escolhidas, status=Status.ENTREGANDO, lease_expira_em=lease)
    linhas = list(linhas.select_related("organizacao", "webhook", "evento").order_by("id"))
    # One instance per webhook across the batch: when a 410 disables it, the rows after it see that.
    mesmos = {}
    for log in linhas:
        log.webhook = mesmos.setdefault(log.webhook_id, log.webhook)
    return linhas


@dataclass
class Resultado:
    status: str
    codigo_http: int | None = None
    duracao_ms: int | None = None
    trecho: str = ""
    erro: str = ""
    retry_after: int | None = None
    desativar: str = ""  # why the webhook must be disabled now (410)


def _entregar(log: WebhookLog, *, primeira: bool) -> None:
    webhook = log.webhook
    if not webhook.ativo:
        _concluir(log, Resultado(Status.DESISTIU, erro="webhook desativado"))
        return
    if not primeira and timezone.now() + timedelta(seconds=webhook.timeout) >= log.lease_expira_em:
        # Later rows of a batch: the lease could run out mid-send and another worker would send it too.
        # The first row is always sent, so a lease shorter than the timeout cannot stall the queue.
        _devolver(log)
        return
    try:
        resultado = _enviar(log.evento, webhook)
    except Exception as exc:  # a bad row must not crash-loop the worker: it fails and is retried later
        logger.exception("webhook %s: erro inesperado na entrega de %s", webhook.pk, log.evento_id)
        resultado = Resultado(Status.FALHA, erro=f"erro interno ({type(exc).__name__})")
    _concluir(log, resultado)


def _enviar(evento: Evento, webhook: Webhook) -> Resultado:
    corpo = json.dumps(evento.payload, separators=(",", ":"), ensure_ascii=False).encode()
    cabecalhos = {k: str(v) for k, v in (webhook.headers or {}).items() if k.lower() not in _CABECALHOS_RESERVADOS}
    cabecalhos["Content-Type"] = "application/json"
    cabecalhos.update(cabecalhos_assinados(evento.id, corpo, segredos_ativos(webhook)))
    try:
        resposta = enviar(webhook.url, corpo, cabecalhos, timeout=webhook.timeout)
    except (URLRecusada, FalhaDeEnvio) as exc:
        return Resultado(Status.FALHA, erro=str(exc))
    return _classificar(resposta)


def segredos_ativos(webhook: Webhook, agora: datetime | None = None) -> list[str]:
    """The current secret, plus the previous one while its rotation overlap lasts."""
    agora = agora or timezone.now()
    segredos = [str(webhook.segredo)]
    expira = webhook.segredo_anterior_expira_em
    if webhook.segredo_anterior and expira and expira > agora:
        segredos.append(str(webhook.segredo_anterior))
    return segredos


def _classificar(resposta: Resposta) -> Resultado:
    resultado = Resultado(
        Status.FALHA, codigo_http=resposta.status, duracao_ms=resposta.duracao_ms, trecho=resposta.trecho[:LIMITE_TRECHO]
    )
    if 200 <= resposta.status < 300:
        resultado.status = Status.SUCESSO
    elif resposta.status == 410:
        resultado.status, resultado.erro = Status.DESISTIU, "HTTP 410: o receptor pediu para não receber mais"
        resultado.desativar = "O receptor respondeu 410 Gone."
    else:
        resultado.erro = f"HTTP {resposta.status}"
        if resposta.status in (429, 503):
            resultado.retry_after = resposta.retry_after_segundos
    return resultado


# --- Recording the result -------------------------------------------------------------------------


def _concluir(log: WebhookLog, resultado: Resultado) -> None:
    """Close the attempt, queue the next one if any, and update the webhook's health, atomically."""
    agora, organizacao = timezone.now(), log.organizacao
    atraso = _atraso(log, resultado.retry_after) if resultado.status == Status.FALHA else None
    status = Status.DESISTIU if resultado.status == Status.FALHA and atraso is None else resultado.status
    with transaction.atomic():
        fechada = escopo(WebhookLog, organizacao).filter(
            pk=log.pk, status=Status.ENTREGANDO, lease_expira_em=log.lease_expira_em
        ).update(
            status=status, codigo_http=resultado.codigo_http, duracao_ms=resultado.duracao_ms,
            trecho_resposta=resultado.trecho, erro=resultado.erro[:2000], lease_expira_em=None, atualizado_em=agora,
        )  # fmt: skip
        if not fechada:
            logger.warning("webhook %s: lease da entrega %s expirou antes do resultado", log.webhook_id, log.pk)
            return
        if status == Status.FALHA:
            proxima = WebhookLog(
                organizacao=organizacao, webhook_id=log.webhook_id, evento_id=log.evento_id,
                tentativa=log.tentativa + 1, proxima_tentativa_em=agora + timedelta(seconds=atraso),
            )  # fmt: skip
            inserir(WebhookLog, organizacao, [proxima])
        _atualizar_saude(log, resultado, agora)


def _atraso(log: WebhookLog, retry_after: int | None) -> float | None:
    """Seconds until the next attempt, or None when the webhook has had all its attempts."""
    agenda = agenda_de_tentativas()
    if log.tentativa >= min(log.webhook.max_tentativas, len(agenda) + 1):
        return None
    if retry_after is not None:
        return max(1, min(retry_after, RETRY_AFTER_MAXIMO_SEGUNDOS))
    return agenda[log.tentativa - 1] * random.uniform(1 - JITTER, 1 + JITTER)


def _atualizar_saude(log: WebhookLog, resultado: Resultado, agora: datetime) -> None:
    organizacao, webhooks = log.organizacao, escopo(Webhook, log.organizacao).filter(pk=log.webhook_id)
    if resultado.status == Status.SUCESSO:
        webhooks.update(falhas_consecutivas=0, primeira_falha_em=None, ultimo_sucesso_em=agora)
    elif resultado.desativar:
        desativar_webhook(log.webhook, resultado.desativar, agora)
    elif resultado.status in (Status.FALHA, Status.DESISTIU) and log.webhook.ativo:
        webhooks.update(
            falhas_consecutivas=F("falhas_consecutivas") + 1, primeira_falha_em=Coalesce("primeira_falha_em", Value(agora))
        )
        # A success resets primeira_falha_em, so a streak older than 5 days had no success at all.
        limite = agora - timedelta(days=DIAS_SEM_SUCESSO_PARA_DESATIVAR)
        if escopo(Webhook, organizacao).filter(pk=log.webhook_id, primeira_falha_em__lte=limite).exists():
            motivo = f"Falhas sem nenhum sucesso por {DIAS_SEM_SUCESSO_PARA_DESATIVAR} dias."
            desativar_webhook(log.webhook, motivo, agora)


def desativar_webhook(webhook: Webhook, motivo: str, agora: datetime | None = None) -> bool:
    """Disable `webhook` once (its pending retries give up) and notify its organization after commit."""
    agora = agora or timezone.now()
    organizacao = webhook.organizacao
    with transaction.atomic():
        mudou = escopo(Webhook, organizacao).filter(pk=webhook.pk, ativo=True).update(
            ativo=False, desativado_em=agora, motivo_desativacao=motivo[:200]
        )
        webhook.ativo = False
        if mudou:
            escopo(WebhookLog, organizacao).filter(webhook_id=webhook.pk, status=Status.PENDENTE).update(
                status=Status.DESISTIU, erro=f"webhook desativado: {motivo}", atualizado_em=agora
            )
            transaction.on_commit(lambda: notificar_webhook_desativado(webhook, motivo))
    if mudou:
        logger.warning("webhook %s (%s) desativado: %s", webhook.pk, url_segura(webhook.url), motivo)
    return bool(mudou)


def notificar_webhook_desativado(webhook: Webhook, motivo: str) -> None:
    """HOOK: e-mail the organization that its webhook was disabled (issue 4). Not built yet: only logs."""
    logger.info("webhook %s desativado; aviso por e-mail à organização %s ainda não implementado",
                webhook.pk, webhook.organizacao_id)  # fmt: skip


def _devolver(log: WebhookLog) -> None:
    escopo(WebhookLog, log.organizacao).filter(
        pk=log.pk, status=Status.ENTREGANDO, lease_expira_em=log.lease_expira_em
    ).update(status=Status.PENDENTE, lease_expira_em=None, atualizado_em=timezone.now())


def _lease_segundos() -> int:
    return int(getattr(settings, "WEBHOOK_LEASE_SECONDS", LEASE_PADRAO_SEGUNDOS))


def fechar_conexoes_velhas() -> None:
    """close_old_connections() between units of work of the commands.

    Never inside an atomic block (tests run commands inside one): Django would close that connection
    mid-transaction. A command in production is never inside one.
    """
    if not connections[router.db_for_write(WebhookLog)].in_atomic_block:
        close_old_connections()
