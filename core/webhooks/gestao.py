"""Managing webhooks: create, change, rotate the secret, test, re-send and recover.

The API views call these functions and nothing else; each one works inside one organization. Rules:
- a URL is checked against the SSRF rules (`rede.validar_url`) whenever it is set;
- the secret leaves this module only once, returned by `criar_webhook` / `rotacionar_segredo`;
- nothing here sends HTTP inside a database transaction: rows are committed first, then delivered.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.eventos.catalogo import TIPOS
from core.eventos.emissao import disparar_webhook, novo_evento, novo_id_de_evento
from core.models import Evento, Organizacao, Webhook, WebhookLog
from core.models.webhooks import max_tentativas_padrao
from core.tenancy import escopo, inserir

from .assinatura import SegredoWebhookInvalido, cabecalhos_assinados, gerar_segredo
from .entrega import entregar_pendentes, enviar_evento, iniciar_entrega_em_segundo_plano
from .rede import LIMITE_TRECHO, FalhaDeEnvio, URLRecusada, enviar, validar_url

Status = WebhookLog.Status
SOBREPOSICAO_PADRAO_HORAS = 24
SOBREPOSICAO_MAXIMA_HORAS = 7 * 24
EM_ANDAMENTO = (Status.PENDENTE, Status.ENTREGANDO)
# RFC 9110 token characters: anything else cannot be a header name.
_NOME_DE_CABECALHO = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
CABECALHOS_PROIBIDOS = {
    "host", "user-agent", "content-length", "transfer-encoding", "connection", "content-type",
    "webhook-id", "webhook-timestamp", "webhook-signature",
}  # fmt: skip
MAX_CABECALHOS = 20
LOTE_DE_RECUPERACAO = 1000
MAX_BYTES_DADOS_MANUAIS = 64 * 1024


class OperacaoInvalida(Exception):
    """The webhook is not in a state that allows the operation (the API answers 409)."""


# --- Validation ----------------------------------------------------------------------------------


def validar_eventos(eventos: list[str]) -> list[str]:
    """The subscribed event names, deduplicated in catalogue order; ValueError names the unknown ones."""
    desconhecidos = sorted({e for e in eventos if e not in TIPOS})
    if desconhecidos:
        raise ValueError(f"eventos desconhecidos: {', '.join(desconhecidos)}; os eventos são: {', '.join(TIPOS)}")
    return [nome for nome in TIPOS if nome in set(eventos)]


def validar_cabecalhos(cabecalhos: dict) -> dict[str, str]:
    """Custom headers: valid names, no header the delivery owns, no line breaks in values."""
    if len(cabecalhos) > MAX_CABECALHOS:
        raise ValueError(f"no máximo {MAX_CABECALHOS} cabeçalhos customizados")
    limpos = {}
    for nome, valor in cabecalhos.items():
        if not isinstance(nome, str) or not _NOME_DE_CABECALHO.match(nome):
            raise ValueError(f"nome de cabeçalho inválido: {nome!r}")
        if nome.lower() in CABECALHOS_PROIBIDOS:
            raise ValueError(f"o cabeçalho {nome} é definido pelo fiscal e não pode ser customizado")
        if not isinstance(valor, (str, int, float)) or isinstance(valor, bool):
            raise ValueError(f"o valor do cabeçalho {nome} deve ser texto")
        valor = str(valor)
        if any(c in valor for c in "\r\n\0") or len(valor) > 1000:
            raise ValueError(f"valor inválido no cabeçalho {nome} (quebra de linha ou mais de 1000 caracteres)")
        limpos[nome] = valor
    return limpos


def segredo_valido(segredo: str) -> bool:
    try:
        cabecalhos_assinados("evt_validacao", b"", [segredo])
    except SegredoWebhookInvalido:
        return False
    return True


def json_compacto(dados) -> bytes:
    return json.dumps(dados, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder).encode()


def validar_url_de_webhook(url: str) -> str:
    """The URL, or URLRecusada saying why it may not receive webhooks (SSRF rules, see rede.py)."""
    validar_url(url)
    return url.strip()


# --- Create / change -----------------------------------------------------------------------------


def criar_webhook(organizacao: Organizacao, **campos) -> tuple[Webhook, str]:
    """A new webhook and its secret, which the caller shows once and which is never returned again."""
    campos["url"] = validar_url_de_webhook(campos["url"])
    campos.setdefault("max_tentativas", max_tentativas_padrao())
    segredo = gerar_segredo()
    webhook = Webhook(organizacao=organizacao, segredo=segredo, **campos)
    webhook.save(force_insert=True)
    return webhook, segredo


def atualizar_webhook(webhook: Webhook, **campos) -> Webhook:
    """Change the given fields and only those; turning a disabled webhook back on clears its failure history.

    `webhook` is the row as the caller read it. The write happens under a row lock on the current row, so
    what others wrote meanwhile stays: a rotated secret, the worker's failure counters, a disable by 410.
    `ativo` counts as asked only when it differs from what the caller read (a client that sends back the
    whole object must not re-enable a webhook a 410 disabled after its read).
    """
    if "url" in campos:
        campos["url"] = validar_url_de_webhook(campos["url"])  # resolves the name: never under the lock
    if campos.get("ativo") == webhook.ativo:
        del campos["ativo"]
    with transaction.atomic():
        atual = escopo(Webhook, webhook.organizacao).select_for_update().get(pk=webhook.pk)
        campos.update(_mudanca_de_estado(atual, campos.get("ativo")))
        for nome, valor in campos.items():
            setattr(atual, nome, valor)
        atual.save(update_fields=list(campos))
    for campo in Webhook._meta.concrete_fields:  # the caller's copy shows the row as stored
        setattr(webhook, campo.attname, getattr(atual, campo.attname))
    return webhook


def _mudanca_de_estado(atual: Webhook, ativo: bool | None) -> dict:
    """The bookkeeping fields that go with turning `atual` (the locked row) on or off."""
    if ativo is True and not atual.ativo:
        return {"desativado_em": None, "motivo_desativacao": "", "falhas_consecutivas": 0, "primeira_falha_em": None}
    if ativo is False and atual.desativado_em is None:
        return {"desativado_em": timezone.now(), "motivo_desativacao": "Desativado pelo usuário."}
    return {}


def rotacionar_segredo(webhook: Webhook, sobreposicao_horas: float = SOBREPOSICAO_PADRAO_HORAS) -> tuple[str, datetime]:
    """Issue a new secret; the current one keeps signing (a second signature) until the returned time."""
    if not 0 <= sobreposicao_horas <= SOBREPOSICAO_MAXIMA_HORAS:
        raise ValueError(f"a sobreposição deve ficar entre 0 e {SOBREPOSICAO_MAXIMA_HORAS} horas")
    novo, expira = gerar_segredo(), timezone.now() + timedelta(hours=sobreposicao_horas)
    with transaction.atomic():
        # Locked: two rotations at once must not both keep the same "previous" secret.
        atual = escopo(Webhook, webhook.organizacao).select_for_update().get(pk=webhook.pk)
        atual.segredo_anterior, atual.segredo_anterior_expira_em = atual.segredo, expira
        atual.segredo = novo
        atual.save(update_fields=["segredo", "segredo_anterior", "segredo_anterior_expira_em"])
    webhook.segredo, webhook.segredo_anterior, webhook.segredo_anterior_expira_em = novo, atual.segredo_anterior, expira
    return novo, expira


def disparar_manualmente(organizacao: Organizacao, evento: str, dados: dict) -> tuple[Evento, int]:
    """Emit an event by hand (POST /api/integracoes/disparar/); return it and how many deliveries it got."""
    with transaction.atomic():
        registrado = disparar_webhook(evento, dados, organizacao)
        entregas = escopo(WebhookLog, organizacao).filter(evento=registrado).count()
    return registrado, entregas


# --- Sending now ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultadoDeTeste:
    sucesso: bool
    codigo_http: int | None
    duracao_ms: int | None
    trecho_resposta: str
    erro: str
    evento: dict


def testar_webhook(webhook: Webhook) -> WebhookLog:
    """Send a `teste` event to this webhook now and return the attempt, recorded in its log.

    A test is a single attempt: it is not retried and does not count toward the webhook's health
    (a failing test must not disable a webhook someone is still setting up).
    """
    if not webhook.ativo:
        raise OperacaoInvalida("O webhook está desativado; reative-o (PATCH com ativo=true) antes de testar.")
    organizacao = webhook.organizacao
    evento = novo_evento("teste", _dados_de_teste(webhook), organizacao)
    inserir(Evento, organizacao, [evento])  # autocommit: stored before it is sent
    resultado = enviar_evento(evento, webhook)
    status = Status.SUCESSO if resultado.status == Status.SUCESSO else Status.DESISTIU
    [log] = inserir(WebhookLog, organizacao, [WebhookLog(
        organizacao=organizacao, webhook=webhook, evento=evento, status=status, codigo_http=resultado.codigo_http,
        duracao_ms=resultado.duracao_ms, trecho_resposta=resultado.trecho, erro=resultado.erro[:2000],
        classe_falha=resultado.classe, proxima_tentativa_em=timezone.now(),
    )])  # fmt: skip
    log.evento = evento
    return log


def testar_url(url: str, segredo: str | None, cabecalhos: dict | None = None, timeout: int = 10) -> ResultadoDeTeste:
    """Send a signed `teste` event to any URL without saving anything; the secret is generated if absent."""
    validar_url_de_webhook(url)
    segredo = segredo or gerar_segredo()
    # The same timestamp format as a stored event's payload (DjangoJSONEncoder: milliseconds, "Z").
    evento = {"id": novo_id_de_evento(), "evento": "teste", "criado_em": DjangoJSONEncoder().default(timezone.now()),
              "dados": _dados_de_teste(None)}
    corpo = json_compacto(evento)
    todos = {**validar_cabecalhos(cabecalhos or {}), "Content-Type": "application/json"}
    todos.update(cabecalhos_assinados(evento["id"], corpo, [segredo]))
    try:
        resposta = enviar(url, corpo, todos, timeout=timeout)
    except (URLRecusada, FalhaDeEnvio) as exc:
        return ResultadoDeTeste(False, None, None, "", str(exc), evento)
    sucesso = 200 <= resposta.status < 300
    erro = "" if sucesso else f"HTTP {resposta.status}"
    return ResultadoDeTeste(sucesso, resposta.status, resposta.duracao_ms, resposta.trecho[:LIMITE_TRECHO], erro, evento)


def _dados_de_teste(webhook: Webhook | None) -> dict:
    dados = {"mensagem": "Olá do fiscal! Este é um evento de teste."}
    if webhook is not None:
        dados["webhook"] = {"id": webhook.pk, "nome": webhook.nome}
    return dados


def reenviar(log: WebhookLog) -> WebhookLog:
    """Send the event of `log` to its webhook again now, as a new attempt; return that attempt."""
    webhook = log.webhook
    if not webhook.ativo:
        raise OperacaoInvalida("O webhook está desativado; reative-o (PATCH com ativo=true) antes de reenviar.")
    organizacao = webhook.organizacao
    try:
        with transaction.atomic():
            tentativas = escopo(WebhookLog, organizacao).filter(evento_id=log.evento_id, webhook=webhook)
            if tentativas.filter(status__in=EM_ANDAMENTO).exists():
                raise OperacaoInvalida("Este evento já tem uma entrega em andamento para este webhook.")
            ultima = tentativas.aggregate(m=Max("tentativa"))["m"] or 0
            [nova] = inserir(WebhookLog, organizacao, [WebhookLog(
                organizacao=organizacao, webhook=webhook, evento_id=log.evento_id, tentativa=ultima + 1,
                proxima_tentativa_em=timezone.now(),
            )])  # fmt: skip
    except IntegrityError:  # a concurrent re-send took the same attempt number
        raise OperacaoInvalida("Este evento já tem uma entrega em andamento para este webhook.") from None
    entregar_pendentes(limite=1, ids=[nova.pk])
    return escopo(WebhookLog, organizacao).select_related("evento").get(pk=nova.pk)


def eventos_a_recuperar(webhook: Webhook, desde: datetime):
    """Events since `desde` this webhook should have received and did not, oldest first.

    That is every event of a subscribed type (tests excluded) with no successful attempt and none in
    progress: those it gave up on, and those that happened while it was disabled. Each row carries
    `ultima_tentativa` (0 when it was never attempted).
    """
    organizacao = webhook.organizacao
    tentativas = escopo(WebhookLog, organizacao).filter(webhook=webhook, evento_id=OuterRef("pk"))
    ultima = tentativas.order_by().values("evento_id").annotate(m=Max("tentativa")).values("m")
    eventos = escopo(Evento, organizacao).filter(criado_em__gte=desde).exclude(tipo="teste")
    if webhook.eventos:
        eventos = eventos.filter(tipo__in=webhook.eventos)
    return (
        eventos.exclude(Exists(tentativas.filter(status__in=(Status.SUCESSO, *EM_ANDAMENTO))))
        .annotate(ultima_tentativa=Coalesce(Subquery(ultima), 0))
        .order_by("id")
    )


def recuperar(webhook: Webhook, desde: datetime, *, dry_run: bool = False) -> int:
    """Queue every event `eventos_a_recuperar` finds (or only count them); return how many."""
    if desde > timezone.now():
        raise ValueError("a data inicial está no futuro")
    pendentes = eventos_a_recuperar(webhook, desde)
    if dry_run:
        return pendentes.count()
    if not webhook.ativo:
        raise OperacaoInvalida("O webhook está desativado; reative-o (PATCH com ativo=true) antes de recuperar.")
    organizacao, agora, total, apos = webhook.organizacao, timezone.now(), 0, ""
    while True:  # in slices, so a month of events never sits in memory at once
        fatia = list(pendentes.filter(pk__gt=apos).values_list("pk", "ultima_tentativa")[:LOTE_DE_RECUPERACAO])
        if not fatia:
            break
        linhas = [
            WebhookLog(organizacao=organizacao, webhook=webhook, evento_id=pk, tentativa=ultima + 1,
                       proxima_tentativa_em=agora)
            for pk, ultima in fatia
        ]  # fmt: skip
        with transaction.atomic():
            # A row queued meanwhile by the worker or another recovery keeps its attempt: skip clashes.
            inserir(WebhookLog, organizacao, linhas, ignorar_conflitos=True)
        total, apos = total + len(fatia), fatia[-1][0]
    if total and getattr(settings, "WEBHOOK_ENTREGA_IMEDIATA", True):
        iniciar_entrega_em_segundo_plano(None)  # the first batch now; the worker and cron do the rest
    return total
