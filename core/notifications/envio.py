"""Sending the e-mail queue: what the worker (`webhook_worker`) and the cron task (`enviar_emails`) run.

- Claim: a SHORT transaction marks due rows `enviando` with a lease (PostgreSQL: `select_for_update(
  skip_locked=True)`, so workers never wait on each other; SQLite: its write transactions run one at a
  time, so the guarded UPDATE is a compare-and-swap). Rows of an inactive organization are not claimed:
  they wait, neither sent nor dropped, until it is reactivated. A row whose lease expired (a worker
  died mid-send) is claimed again.
- Send: OUTSIDE any transaction, one SMTP connection per batch; the message is rendered now from the
  stored rows (the event, the import's events, the day), in the organization's time zone, with the
  recipient's preferences of now: an inactive user, one without an address, no longer a member, or
  who turned that notification off is `pulado`.
- Record: `enviado` at once after each message, guarded by the lease. A success is recorded once, so
  a row is sent at most once, except when the process dies between the SMTP server accepting the
  message and that UPDATE: the lease then expires and the row is sent once more. A failure (SMTP down,
  refused) counts an attempt and waits EMAIL_RETRY_SCHEDULE[attempt - 1] seconds; after the last entry
  the row is `falhou` (the admin's "reenviar" puts it back in the queue).

The last error keeps the exception's class and message, with e-mail addresses masked.
"""

from __future__ import annotations

import logging
import re
import smtplib
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import SimpleNamespace

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from core.models import (
    CertificadoDigital,
    EnvioEmail,
    Evento,
    NFe,
    Organizacao,
    TipoDeEmail,
    Webhook,
)
from core import filas
from core.fuso_horario import zona_da_organizacao
from core.models.emails import agenda_de_emails
from core.tenancy import SemOrganizacao, escopo, todas_as_organizacoes

from .fila import eventos_do_lote, marca_de_importacao, retomar_importacao, tipo_do_evento
from .preferencias import preferencias_de
from .resumo import ITENS_POR_TIPO, ResumoImportacao
from .servico import (
    CAMINHO_PREFERENCIAS,
    NotificationService,
    contexto_problema_certificado,
)

logger = logging.getLogger(__name__)

Status = EnvioEmail.Status
LOTE_PADRAO = 20
LEASE_SEGUNDOS = 120  # longer than a batch of messages over a healthy connection (EMAIL_TIMEOUT each at worst)
_ENDERECO = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")



class Pulado(Exception):
    """This e-mail must not go out (its subject is gone, the recipient cannot receive it)."""


# --- Claiming ----------------------------------------------------------------------------------------


def fila_de_envio():
    """Every organization's e-mails but a deactivated one's (a NOT IN over the few inactive ids)."""
    return todas_as_organizacoes(EnvioEmail).exclude(organizacao__in=Organizacao.objects.filter(ativa=False))


def emails_devidos(agora: datetime | None = None) -> int:
    agora = agora or timezone.now()
    return fila_de_envio().filter(_devida(agora)).count()


def reenviar(envios) -> int:
    """Put failed or skipped rows of `envios` back in the queue: pending, due now, attempts from zero.

    The admin's "reenviar" action; the worker or the cron task sends them. One guarded UPDATE: a row that
    is pending, being sent or sent meanwhile is left alone. Returns how many rows went back.
    """
    agora = timezone.now()
    return envios.filter(status__in=[Status.FALHOU, Status.PULADO]).update(
        status=Status.PENDENTE, tentativas=0, proxima_tentativa_em=agora, lease_expira_em=None, atualizado_em=agora,
    )  # fmt: skip


def _devida(agora: datetime) -> Q:
    return filas.devida(Status.PENDENTE, Status.ENVIANDO, agora)


def reivindicar(limite: int, ids: list[int] | None = None) -> list[EnvioEmail]:
    """Mark up to `limite` due rows `enviando` with a lease, in a short transaction, and return them."""
    reivindicacao = filas.reivindicar(
        fila_de_envio(), limite, ids=ids, pendente=Status.PENDENTE, em_andamento=Status.ENVIANDO,
        lease_segundos=LEASE_SEGUNDOS,
    )  # fmt: skip
    if not reivindicacao.ids:
        return []
    linhas = todas_as_organizacoes(EnvioEmail).filter(
        pk__in=reivindicacao.ids, status=Status.ENVIANDO, lease_expira_em=reivindicacao.lease
    )
    return list(linhas.select_related("organizacao", "usuario").order_by("id"))


# --- Sending -----------------------------------------------------------------------------------------


def enviar_pendentes(limite: int = LOTE_PADRAO, ids: list[int] | None = None) -> int:
    """Claim up to `limite` due rows (optionally only `ids`) and send them; how many were attempted.

    Never inside a transaction: the SMTP conversation must not hold one open (and a rollback could not
    take the message back anyway).
    """
    envios = reivindicar(limite, ids)
    if not envios:
        return 0
    conexao, tentados = get_connection(), 0
    try:
        for envio in envios:
            if tentados and timezone.now() + timedelta(seconds=_timeout()) >= envio.lease_expira_em:
                # The lease could run out mid-send and another worker would send the row too.
                _devolver(envios[tentados:])
                break
            tentados += 1
            if not _enviar_e_registrar(envio, conexao):
                # The server itself is unreachable: the rest of the batch would only wait for the same
                # timeout. It waits for the next attempt time, with no attempt counted.
                _devolver(envios[tentados:], adiar=True)
                break
    finally:
        try:
            conexao.close()
        except Exception:
            logger.warning("e-mails: erro ao fechar a conexão com o servidor de e-mail", exc_info=True)
    return tentados


def _enviar_e_registrar(envio: EnvioEmail, conexao) -> bool:
    """Send one row and record the outcome; False when the mail server could not be reached at all."""
    if marca_de_importacao(envio):  # not an e-mail: an import that may have died before its end (fila.py)
        try:
            retomar_importacao(envio)
        except Exception as exc:  # a database error: retried on the schedule like a failed message
            _falhou(envio, exc)
        return True
    try:
        # Rendered now, so its dates and times read in the organization's zone (core.fuso_horario).
        with timezone.override(zona_da_organizacao(envio.organizacao)):
            enviado = _enviar(envio, conexao)
    except Pulado as motivo:
        _concluir(envio, Status.PULADO, erro=str(motivo))
    except Exception as exc:  # SMTP down or refusing, a rendering bug: retried on the schedule, never a crash loop
        _falhou(envio, exc)
        return not _servidor_fora(exc)
    else:
        _concluir(envio, Status.ENVIADO if enviado else Status.PULADO,
                  erro="" if enviado else "destinatário inativo, sem endereço ou desinscrito")  # fmt: skip
    return True


def _servidor_fora(exc: Exception) -> bool:
    """The connection itself failed (refused, DNS, timeout, dropped): every other message would fail the
    same way. A message the server answered with an error (SMTPException is an OSError too) is not that."""
    if isinstance(exc, (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected)):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


def _devolver(envios: list[EnvioEmail], *, adiar: bool = False) -> None:
    """Put claimed, unsent rows back (those whose lease this worker still holds); `adiar`: due at the
    first retry interval instead of now."""
    agora = timezone.now()
    proxima = agora + timedelta(seconds=(agenda_de_emails() or [60])[0]) if adiar else agora
    for envio in envios:
        escopo(EnvioEmail, envio.organizacao).filter(
            pk=envio.pk, status=Status.ENVIANDO, lease_expira_em=envio.lease_expira_em
        ).update(status=Status.PENDENTE, lease_expira_em=None, proxima_tentativa_em=proxima, atualizado_em=agora)


def _timeout() -> float:
    return float(getattr(settings, "EMAIL_TIMEOUT", None) or 10)


def _concluir(envio: EnvioEmail, status: str, *, erro: str = "") -> None:
    agora = timezone.now()
    campos = {"status": status, "lease_expira_em": None, "atualizado_em": agora, "erro": erro}
    if status == Status.ENVIADO:
        campos.update(enviado_em=agora, tentativas=envio.tentativas + 1)
    fechada = escopo(EnvioEmail, envio.organizacao).filter(
        pk=envio.pk, status=Status.ENVIANDO, lease_expira_em=envio.lease_expira_em
    ).update(**campos)
    if not fechada:
        logger.warning("e-mails: o lease do envio %s expirou antes do resultado", envio.pk)


def _falhou(envio: EnvioEmail, exc: Exception) -> None:
    agenda, tentativas, agora = agenda_de_emails(), envio.tentativas + 1, timezone.now()
    erro = f"{type(exc).__name__}: {_ENDERECO.sub('<endereço>', str(exc))}"[:1000]
    campos = {"tentativas": tentativas, "erro": erro, "lease_expira_em": None, "atualizado_em": agora}
    if tentativas <= len(agenda):
        campos.update(status=Status.PENDENTE, proxima_tentativa_em=agora + timedelta(seconds=agenda[tentativas - 1]))
    else:
        campos.update(status=Status.FALHOU)
    escopo(EnvioEmail, envio.organizacao).filter(
        pk=envio.pk, status=Status.ENVIANDO, lease_expira_em=envio.lease_expira_em
    ).update(**campos)
    logger.warning("e-mails: envio %s (%s) falhou na tentativa %s: %s", envio.pk, envio.tipo, tentativas, erro)


def _enviar(envio: EnvioEmail, conexao) -> bool:
    """Render and send one row; True when sent, False when the recipient must not get it."""
    if not envio.usuario_id:
        return _enviar_a_endereco(envio, conexao)
    usuario = envio.usuario
    try:
        preferencia = preferencias_de(usuario)
    except SemOrganizacao:
        raise Pulado("o usuário não é mais membro de nenhuma organização") from None
    if preferencia.organizacao_id != envio.organizacao_id:
        raise Pulado("o usuário agora é de outra organização")
    servico = NotificationService(preferencias={usuario.pk: preferencia}, conexao=conexao, levantar=True)
    return _ENVIO_POR_TIPO[envio.tipo](servico, usuario, envio)


def _evento(envio: EnvioEmail) -> Evento:
    evento = escopo(Evento, envio.organizacao).filter(pk=envio.evento).first()
    if evento is None:
        raise Pulado(f"o evento {envio.evento} não existe mais")
    return evento


def _dados_do_evento(envio: EnvioEmail) -> dict:
    return _evento(envio).payload.get("dados") or {}


def _documento(servico, usuario, envio):
    metodo = {"nfe_importada": servico.notificar_nfe_importada, "cte_importado": servico.notificar_cte_importado,
              "erro_importacao": servico.notificar_erro_importacao}[envio.tipo]  # fmt: skip
    return metodo(usuario, _dados_do_evento(envio))


def _resumo_importacao(servico, usuario, envio):
    return servico.enviar_resumo_importacao(usuario, resumo_do_lote(envio.organizacao, envio.lote))


def resumo_do_lote(organizacao: Organizacao, lote: str) -> ResumoImportacao:
    """The digest of an import, from its stored events: counts of all, the first few of each kind."""
    itens = max(ITENS_POR_TIPO, settings.FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL)
    return _resumo_do_lote(organizacao.pk, lote, itens)


@lru_cache(maxsize=8)
def _resumo_do_lote(organizacao_id: int, lote: str, itens: int) -> ResumoImportacao:
    # Read once for all the recipients of a big import: a finished import's events never change (its
    # digest rows are written when it ends), and each recipient gets a filtered copy (`para`).
    resumo = ResumoImportacao(itens_por_tipo=itens)
    eventos = eventos_do_lote(Organizacao(pk=organizacao_id), lote).order_by("id").values_list("tipo", "payload")
    for tipo, payload in eventos.iterator(2000):
        dados = payload.get("dados") or {}
        resumo.adicionar(tipo_do_evento(tipo, dados), dados)
    return resumo


def _certificado_vencendo(servico, usuario, envio):
    dados = _dados_do_evento(envio)
    certificado = escopo(CertificadoDigital, envio.organizacao).filter(pk=dados.get("certificado_id")).first()
    if certificado is None:
        certificado = {"titular": dados.get("titular", ""), "cnpj": dados.get("certificado", ""),
                       "validade_fim": dados.get("validade_fim", "")}  # fmt: skip
    return servico.notificar_certificado_vencendo(usuario, certificado, dados.get("dias", 0))


def _webhook_desativado(servico, usuario, envio):
    from core.webhooks.estatisticas import ultima_falha

    dados = _dados_do_evento(envio)
    webhook = escopo(Webhook, envio.organizacao).filter(pk=dados.get("webhook_id")).first()
    falha = ultima_falha(webhook) if webhook is not None else None
    if webhook is None:  # deleted since: the e-mail still says what happened
        webhook = SimpleNamespace(pk=dados.get("webhook_id"), nome=dados.get("nome", ""), url=dados.get("url", ""),
                                  organizacao_id=envio.organizacao_id)  # fmt: skip
    webhook.desativado_em = dados.get("desativado_em")
    return servico.notificar_webhook_desativado(usuario, webhook, dados.get("motivo", ""), falha)


def _prazo_manifestacao(servico, usuario, envio):
    ids = (envio.dados or {}).get("eventos") or [envio.evento]
    payloads = escopo(Evento, envio.organizacao).filter(pk__in=ids).values_list("payload", flat=True)
    chaves = [(p.get("dados") or {}).get("chave") for p in payloads]
    nfes = list(escopo(NFe, envio.organizacao).filter(chave__in=chaves).order_by("prazo_manifestacao", "pk"))
    if not nfes:
        raise Pulado("as NF-e do aviso não existem mais")
    return servico.notificar_prazo_manifestacao(usuario, nfes)


def _resumo_diario(servico, usuario, envio):
    from core.consultas.resumo_diario import resumo_do_dia

    dia, agora = date.fromisoformat(envio.dados["dia"]), envio.dados.get("agora")
    agora = datetime.fromisoformat(agora) if agora else None
    return servico.enviar_resumo_diario(usuario, resumo_do_dia(organizacao=envio.organizacao, dia=dia, agora=agora))


def _consulta_concluida(servico, usuario, envio):
    return servico.notificar_consulta_concluida(usuario, envio.dados)


def _certificado_problema(servico, usuario, envio):
    certificado = _certificado(envio)
    return servico.notificar_problema_certificado(usuario, certificado, envio.dados.get("problema", ""))


def _certificado(envio: EnvioEmail) -> CertificadoDigital:
    certificado = escopo(CertificadoDigital, envio.organizacao).filter(pk=envio.dados.get("certificado_id")).first()
    if certificado is None:
        raise Pulado("o certificado não existe mais")
    return certificado


def _enviar_a_endereco(envio: EnvioEmail, conexao) -> bool:
    """A plain address the organization listed for capture problems (not a member: no preferences)."""
    if envio.tipo != TipoDeEmail.CERTIFICADO_PROBLEMA:
        raise Pulado("apenas o aviso de captura parada vai a endereços avulsos")
    assunto, modelo, contexto = contexto_problema_certificado(_certificado(envio), envio.dados.get("problema", ""))
    base = settings.FISCAL_URL_PUBLICA.rstrip("/")
    contexto = {**contexto, "assunto": assunto, "nome": "", "organizacao": envio.organizacao.nome,
                "url_publica": base, "url_preferencias": f"{base}{CAMINHO_PREFERENCIAS}"}  # fmt: skip
    mensagem = EmailMultiAlternatives(assunto, render_to_string(f"emails/{modelo}.txt", contexto),
                                      settings.DEFAULT_FROM_EMAIL, [envio.endereco], connection=conexao)  # fmt: skip
    mensagem.attach_alternative(render_to_string(f"emails/{modelo}.html", contexto), "text/html")
    mensagem.send()
    return True


_ENVIO_POR_TIPO = {
    TipoDeEmail.NFE_IMPORTADA: _documento,
    TipoDeEmail.CTE_IMPORTADO: _documento,
    TipoDeEmail.ERRO_IMPORTACAO: _documento,
    TipoDeEmail.RESUMO_IMPORTACAO: _resumo_importacao,
    TipoDeEmail.CERTIFICADO_VENCENDO: _certificado_vencendo,
    TipoDeEmail.WEBHOOK_DESATIVADO: _webhook_desativado,
    TipoDeEmail.PRAZO_MANIFESTACAO: _prazo_manifestacao,
    TipoDeEmail.RESUMO_DIARIO: _resumo_diario,
    TipoDeEmail.CONSULTA_CONCLUIDA: _consulta_concluida,
    TipoDeEmail.CERTIFICADO_PROBLEMA: _certificado_problema,
}
