"""Webhook delivery: the outbox of `WebhookLog` rows and the worker that empties it.

- `enfileirar_entregas()` writes one pending row per (event, subscribed webhook) in the caller's
  transaction and, after commit, hands those rows to the process's immediate-delivery pool
  (core/webhooks/imediata.py), which sends them at once and finishes or releases them when the process ends.
- `entregar_pendentes()` / `entregar_um()` are what the worker, the cron task and that pool run:
  claim a batch of due rows in a SHORT transaction (status `entregando` + a lease), send OUTSIDE any
  transaction, then record the results (the successes of a batch together). A worker killed mid-send
  loses nothing: its rows are reclaimed once the lease expires (at-least-once; the receiver
  deduplicates on `webhook-id`, the event id).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connections, router, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from core import filas
from core.eventos.emissao import disparar_webhook
from core.models import ClasseDeFalha, Evento, Organizacao, Webhook, WebhookLog
from core.models.webhooks import agenda_de_tentativas
from core.tenancy import escopo, inserir, todas_as_organizacoes

from .assinatura import cabecalhos_assinados
from .rede import LIMITE_TRECHO, FalhaDeEnvio, Resposta, URLRecusada, enviar, url_segura

logger = logging.getLogger(__name__)

Status = WebhookLog.Status
LEASE_PADRAO_SEGUNDOS = 60
LOTE_PADRAO = 50  # rows a worker claims at once: one claim and a few result writes per batch, not per row
GRAVAR_SUCESSOS_APOS_SEGUNDOS = 0.5
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
            criadas += inserir(WebhookLog, organizacao, linhas, em_massa=True)
    if criadas and getattr(settings, "WEBHOOK_ENTREGA_IMEDIATA", True):
        ids = [log.pk for log in criadas] if all(log.pk for log in criadas) else None
        transaction.on_commit(lambda: iniciar_entrega_em_segundo_plano(ids))
    return criadas


def _assina(webhook: Webhook, tipo: str) -> bool:
    return not webhook.eventos or tipo in webhook.eventos


def iniciar_entrega_em_segundo_plano(ids: list[int] | None) -> bool:
    """Deliver freshly committed rows now, without making the request or import wait for receivers.

    False when the pool was full or closing: the rows wait for the worker or the cron task.
    """
    from .imediata import entrega_imediata  # here: that module imports this one

    return entrega_imediata.submeter(ids)


# --- Delivery (outside any transaction) -----------------------------------------------------------


def entregar_um() -> bool:
    """Deliver one due row; False when nothing was due."""
    return entregar_pendentes(limite=1) > 0


def resumo_de_entregas(contagem) -> str:
    """ "N entrega(s) com sucesso, M com falha" from a `contagem` of entregar_pendentes(): a total of
    attempts alone reads as success when every one failed."""
    entregues = contagem[Status.SUCESSO]
    return f"{entregues} entrega(s) com sucesso, {sum(contagem.values()) - entregues} com falha"


def entregar_pendentes(limite: int = 10, ids: list[int] | None = None, *, vigia=None, contagem=None) -> int:
    """Claim up to `limite` due rows (optionally only `ids`), deliver them; return how many were attempted.

    `contagem` (a collections.Counter), when given, counts the attempts by outcome (Status.SUCESSO or
    the status of the failure), so a command can say how many were delivered and how many failed.

    Successes are recorded together (one transaction per run of successes, none waiting more than
    GRAVAR_SUCESSOS_APOS_SEGUNDOS); any other outcome is recorded at once, after the successes before
    it, so a webhook's health follows its results in order and a 410 stops the rest of the batch.

    `vigia` (the immediate-delivery pool) is asked before each row whether it may start
    (`vigia.comecar(rows left) -> bool`); when not, the rest goes back to the queue. With a vigia every
    success is recorded at once: that process may be ending, and a sent row it did not record would be
    sent again.
    """
    reivindicadas = reivindicar(limite, ids)
    gravar_apos = GRAVAR_SUCESSOS_APOS_SEGUNDOS if vigia is None else 0.0
    sucessos, desde, tentadas = [], 0.0, 0
    for log in reivindicadas:
        if tentadas and timezone.now() + timedelta(seconds=log.webhook.timeout) >= log.lease_expira_em:
            # The lease could run out mid-send and another worker would send the row too: the rest of
            # the batch goes back to the queue. The first row is always sent, so a lease shorter than
            # the timeout cannot stall the queue.
            devolver(reivindicadas[tentadas:])
            break
        if vigia is not None and not vigia.comecar(reivindicadas[tentadas:]):
            devolver(reivindicadas[tentadas:])
            break
        tentadas += 1
        resultado = _entregar(log)
        if contagem is not None:
            contagem[resultado.status] += 1
        if resultado.status != Status.SUCESSO:
            _concluir_sucessos(sucessos)
            sucessos = []
            _concluir(log, resultado)
            continue
        if not sucessos:
            desde = time.monotonic()
        sucessos.append((log, resultado))
        # Bounded, because a worker killed now would send these again once their lease expires.
        if time.monotonic() - desde >= gravar_apos:
            _concluir_sucessos(sucessos)
            sucessos = []
    _concluir_sucessos(sucessos)
    return tentadas


def reivindicar(limite: int, ids: list[int] | None = None) -> list[WebhookLog]:
    """Mark due rows `entregando` with a lease, in a short transaction, and return them."""
    reivindicacao = filas.reivindicar(
        fila_de_entrega(), limite, ids=ids, pendente=Status.PENDENTE, em_andamento=Status.ENTREGANDO,
        lease_segundos=_lease_segundos(),
    )  # fmt: skip
    if not reivindicacao.ids:
        return []
    linhas = todas_as_organizacoes(WebhookLog).filter(
        pk__in=reivindicacao.ids, status=Status.ENTREGANDO, lease_expira_em=reivindicacao.lease
    )
    linhas = list(linhas.select_related("organizacao", "evento").order_by("id"))
    # One instance per webhook across the batch, loaded (and its secrets decrypted) once: when a 410
    # disables it, the rows after it see that.
    webhooks = todas_as_organizacoes(Webhook).in_bulk({log.webhook_id for log in linhas})
    for log in linhas:
        log.webhook = webhooks.get(log.webhook_id)
    return [log for log in linhas if log.webhook is not None]  # a webhook deleted meanwhile took its rows


def fila_de_entrega():
    """Every organization's delivery rows but a deactivated one's: those stay as they are (pending, not
    failed) and go out once it is reactivated. A NOT IN over the few inactive ids, not a join, so the claim
    keeps its index range scans and locks only WebhookLog rows."""
    return todas_as_organizacoes(WebhookLog).exclude(organizacao__in=Organizacao.objects.filter(ativa=False))


@dataclass
class Resultado:
    status: str
    codigo_http: int | None = None
    duracao_ms: int | None = None
    trecho: str = ""
    erro: str = ""
    classe: str = ""  # a ClasseDeFalha value; blank on success
    retry_after: int | None = None
    desativar: str = ""  # why the webhook must be disabled now (410)


def _entregar(log: WebhookLog) -> Resultado:
    """Send one claimed row and return the outcome to record."""
    webhook = log.webhook
    if not webhook.ativo:
        return Resultado(Status.DESISTIU, erro="webhook desativado")
    try:
        return enviar_evento(log.evento, webhook)
    except Exception as exc:  # a bad row must not crash-loop the worker: it fails and is retried later
        logger.exception("webhook %s: erro inesperado na entrega de %s", webhook.pk, log.evento_id)
        return Resultado(Status.FALHA, erro=f"erro interno ({type(exc).__name__})", classe=ClasseDeFalha.INTERNA)


def enviar_evento(evento: Evento, webhook: Webhook) -> Resultado:
    corpo = json.dumps(evento.payload, separators=(",", ":"), ensure_ascii=False).encode()
    cabecalhos = {k: str(v) for k, v in (webhook.headers or {}).items() if k.lower() not in _CABECALHOS_RESERVADOS}
    cabecalhos["Content-Type"] = "application/json"
    cabecalhos.update(cabecalhos_assinados(evento.id, corpo, segredos_ativos(webhook)))
    try:
        resposta = enviar(webhook.url, corpo, cabecalhos, timeout=webhook.timeout)
    except URLRecusada as exc:  # e.g. the name now resolves to a private address: retried, DNS may change back
        return Resultado(Status.FALHA, erro=str(exc), classe=ClasseDeFalha.RECUSADA)
    except FalhaDeEnvio as exc:
        return Resultado(Status.FALHA, erro=str(exc), classe=exc.classe)
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
        return resultado
    resultado.classe = ClasseDeFalha.HTTP  # every non-2xx, 3xx included (redirects are never followed)
    if resposta.status == 410:
        resultado.status, resultado.erro = Status.DESISTIU, "HTTP 410: o receptor pediu para não receber mais"
        resultado.desativar = "O receptor respondeu 410 Gone."
    else:
        resultado.erro = f"HTTP {resposta.status}"
        if resposta.status in (429, 503):
            resultado.retry_after = resposta.retry_after_segundos
    return resultado


# --- Recording the result -------------------------------------------------------------------------


def _concluir_sucessos(entregues: list[tuple[WebhookLog, Resultado]]) -> None:
    """Close a run of successful attempts in one transaction, as `_concluir` closes one.

    One UPDATE per organization and lease for the rows (still guarded by the lease they were claimed
    with) and one per webhook for its health, instead of two statements and a commit per delivery.
    """
    if not entregues:
        return
    agora, grupos, saudaveis = timezone.now(), defaultdict(list), {}
    for log, resultado in entregues:
        grupos[(log.organizacao_id, log.lease_expira_em)].append((log, resultado))
        saudaveis[log.webhook_id] = log.organizacao
    with transaction.atomic():
        for (_organizacao, lease), grupo in grupos.items():
            fechadas = escopo(WebhookLog, grupo[0][0].organizacao).filter(
                pk__in=[log.pk for log, _ in grupo], status=Status.ENTREGANDO, lease_expira_em=lease
            ).update(
                status=Status.SUCESSO, erro="", lease_expira_em=None, atualizado_em=agora,
                codigo_http=_por_linha(grupo, "codigo_http"), duracao_ms=_por_linha(grupo, "duracao_ms"),
                trecho_resposta=_por_linha(grupo, "trecho"),
            )  # fmt: skip
            if fechadas < len(grupo):
                logger.warning("webhooks: o lease de %s entrega(s) expirou antes do resultado", len(grupo) - fechadas)
        # One webhook at a time, in id order: two workers never wait on each other's webhook rows in a cycle.
        for webhook_id in sorted(saudaveis):
            escopo(Webhook, saudaveis[webhook_id]).filter(pk=webhook_id).update(
                falhas_consecutivas=0, primeira_falha_em=None, ultimo_sucesso_em=agora
            )


def _por_linha(grupo: list[tuple[WebhookLog, Resultado]], atributo: str):
    """The value of `atributo` for an UPDATE of every row of `grupo`: plain when all agree, else a CASE."""
    linhas_por_valor = defaultdict(list)
    for log, resultado in grupo:
        linhas_por_valor[getattr(resultado, atributo)].append(log.pk)
    if len(linhas_por_valor) == 1:
        return next(iter(linhas_por_valor))
    campo = WebhookLog._meta.get_field({"trecho": "trecho_resposta"}.get(atributo, atributo))
    # One WHEN per distinct value (durations repeat a lot), not one per row: cheaper to build and to run.
    casos = (When(pk__in=pks, then=Value(valor)) for valor, pks in linhas_por_valor.items())
    return Case(*casos, output_field=campo)


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
            trecho_resposta=resultado.trecho, erro=resultado.erro[:2000], classe_falha=resultado.classe,
            lease_expira_em=None, atualizado_em=agora,
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
    """Disable `webhook` once (its pending retries give up) and record the `webhook_desativado` event."""
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
            # An event, not a call into the e-mail code: its consumers (the e-mail queue, the other
            # webhooks, the feed) take it from the outbox, in this same transaction.
            disparar_webhook("webhook_desativado", dados_da_desativacao(webhook, motivo, agora), organizacao)
    if mudou:
        logger.warning("webhook %s (%s) desativado: %s", webhook.pk, url_segura(webhook.url), motivo)
    return bool(mudou)


def dados_da_desativacao(webhook: Webhook, motivo: str, agora: datetime) -> dict:
    """The `webhook_desativado` event's data: the URL without credentials or query string."""
    return {"webhook_id": webhook.pk, "nome": webhook.nome, "url": url_segura(webhook.url), "motivo": motivo,
            "desativado_em": agora}  # fmt: skip


def devolver(logs: list[WebhookLog]) -> None:
    """Put claimed rows back in the queue unsent (those whose lease this worker still holds): due at once."""
    grupos = defaultdict(list)
    for log in logs:
        grupos[(log.organizacao_id, log.lease_expira_em)].append(log)
    for (_organizacao, lease), grupo in grupos.items():
        escopo(WebhookLog, grupo[0].organizacao).filter(
            pk__in=[log.pk for log in grupo], status=Status.ENTREGANDO, lease_expira_em=lease
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
