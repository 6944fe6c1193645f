"""`enviar_relatorios`: yesterday's summary e-mail to every member who wants it (`resumo_diario`).

"Yesterday" is the local day in settings.TIME_ZONE (America/Sao_Paulo; organizations have no time
zone of their own). An organization gets e-mails only when the day had activity (documents issued,
failed imports or failed webhook deliveries); a quiet day sends nothing.

Never twice: at-most-once. Before each e-mail the member's `RelatorioEnviado` (usuario, dia) row is
INSERTed and committed on its own; the unique constraint lets only one run claim it, and only the run
that claimed it sends. A crash between that commit and the send loses that member's summary for the
day; a crash after the send cannot make it go again. We chose that over at-least-once (record after
sending, where a crash in between sends the same summary twice) because the issue forbids a second
copy and a missed summary costs little: the same numbers are in the API. When the mail backend
refuses the message (NotificationService answers False) nothing went out, so the claim is deleted and
a later run that day retries.

Cost: per organization a fixed number of queries (recipients and their choices: 2; those already
served: 1; the day: 7, skipped when nobody is left to serve), then per member only the claim INSERT
and the send, over one SMTP connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone

from core.models import Organizacao, RelatorioEnviado

logger = logging.getLogger(__name__)


class EnvioIncompleto(RuntimeError):
    """Some organizations or e-mails failed; the others were served. The run counts as failed."""


@dataclass
class Contagem:
    enviados: int = 0
    organizacoes: int = 0
    sem_atividade: int = 0
    falhas: int = 0


def dia_do_relatorio(agora: datetime | None = None) -> date:
    """Yesterday, in settings.TIME_ZONE."""
    return timezone.localtime(agora or timezone.now(), timezone.get_default_timezone()).date() - timedelta(days=1)


def enviar_relatorios(
    *, simular: bool = False, escrever: Callable[[str], None] = lambda linha: None, agora: datetime | None = None
) -> str:
    agora = agora or timezone.now()
    dia, contagem = dia_do_relatorio(agora), Contagem()
    for organizacao in Organizacao.objects.filter(ativa=True).order_by("pk"):
        try:
            _da_organizacao(organizacao, dia, agora, contagem, simular=simular, escrever=escrever)
        except Exception:  # one organization's failure never stops the others
            contagem.falhas += 1
            logger.exception("enviar_relatorios: organização %s falhou", organizacao.pk)
        finally:
            if not connection.in_atomic_block:
                close_old_connections()
    resumo = _resumo(dia, contagem, simular)
    if contagem.falhas:
        raise EnvioIncompleto(resumo)
    return resumo


def _da_organizacao(organizacao, dia: date, agora: datetime, contagem: Contagem, *, simular: bool, escrever) -> None:
    from core.consultas.resumo_diario import resumo_do_dia
    from core.notifications import NotificationService, destinatarios

    pessoas = destinatarios(organizacao, "resumo_diario")
    if pessoas:
        servidos = set(
            RelatorioEnviado.objects.filter(organizacao=organizacao, dia=dia).values_list("usuario_id", flat=True)
        )
        pessoas = [p for p in pessoas if p.usuario.pk not in servidos]
    if not pessoas:
        return
    resumo = resumo_do_dia(organizacao=organizacao, dia=dia, agora=agora)
    if not resumo.teve_atividade:
        contagem.sem_atividade += 1
        return
    contagem.organizacoes += 1
    if simular:
        contagem.enviados += len(pessoas)
        usuarios = ", ".join(str(p.usuario.pk) for p in pessoas)
        escrever(f"enviar_relatorios (simulação): organização {organizacao.slug}: {len(pessoas)} "
                 f"destinatário(s) (usuários {usuarios})")  # fmt: skip
        return
    servico = NotificationService(preferencias={p.usuario.pk: p.preferencia for p in pessoas})
    with servico.conexao():
        for pessoa in pessoas:
            if not _reservar(organizacao, pessoa.usuario, dia):
                continue  # another run claimed it a moment ago
            if servico.enviar_resumo_diario(pessoa.usuario, resumo):
                contagem.enviados += 1
            else:
                _desfazer_reserva(pessoa.usuario, dia)
                contagem.falhas += 1
    escrever(f"enviar_relatorios: organização {organizacao.slug}: {contagem.enviados} e-mail(s) até agora")


def _reservar(organizacao, usuario, dia: date) -> bool:
    """Claim (usuario, dia) in its own committed transaction; False when it was already claimed."""
    try:
        with transaction.atomic():
            RelatorioEnviado.objects.create(organizacao=organizacao, usuario=usuario, dia=dia)
    except IntegrityError:
        return False
    return True


def _desfazer_reserva(usuario, dia: date) -> None:
    RelatorioEnviado.objects.filter(usuario=usuario, dia=dia).delete()
    logger.warning("enviar_relatorios: resumo de %s para o usuário %s não saiu; fica para a próxima execução",
                   dia, usuario.pk)  # fmt: skip


def _resumo(dia: date, contagem: Contagem, simular: bool) -> str:
    verbo = "seriam enviados" if simular else "enviado(s)"
    texto = (
        f"enviar_relatorios{' (simulação)' if simular else ''}: dia {dia:%d/%m/%Y}, "
        f"{contagem.enviados} e-mail(s) {verbo} a {contagem.organizacoes} organização(ões); "
        f"{contagem.sem_atividade} sem atividade"
    )
    return texto + (f"; {contagem.falhas} falha(s)." if contagem.falhas else ".")
