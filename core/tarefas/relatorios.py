"""`enviar_relatorios`: yesterday's summary e-mail to every member who wants it (`resumo_diario`).

"Yesterday" is the local day in settings.TIME_ZONE (America/Sao_Paulo; organizations have no time
zone of their own). An organization gets e-mails only when the day had activity (documents issued,
failed imports or failed webhook deliveries); a quiet day sends nothing.

Never twice: each member's `RelatorioEnviado` (usuario, dia) row is INSERTed together with the
member's `EnvioEmail` row (the e-mail queue, core/notifications/envio.py), in one transaction; the
unique constraint lets only one run claim it. The queue sends it outside any transaction, retries it
while the mail server fails (EMAIL_RETRY_SCHEDULE) and renders it, when sent, from the day's stored
data; its at-most-once rule is the queue's (README, "Fila de e-mails").

Cost: per organization a fixed number of queries (recipients and their choices: 2; those already
served: 1; the day: 7, skipped when nobody is left to serve), then per member one transaction with
two INSERTs. No SMTP here.
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
    from core.notifications import destinatarios

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
    for pessoa in pessoas:
        if _reservar(organizacao, pessoa.usuario, dia, agora):
            contagem.enviados += 1
        # else: another run claimed it a moment ago
    escrever(f"enviar_relatorios: organização {organizacao.slug}: {contagem.enviados} e-mail(s) até agora")


def _reservar(organizacao, usuario, dia: date, agora: datetime) -> bool:
    """Claim (usuario, dia) and queue its e-mail in one committed transaction; False when already claimed.

    The e-mail is rendered when sent from the day's stored data, as seen at `agora` (certificates
    expiring soon are counted from then, not from whenever the queue gets to it).
    """
    from core.models import TipoDeEmail
    from core.notifications.fila import enfileirar

    try:
        with transaction.atomic():
            RelatorioEnviado.objects.create(organizacao=organizacao, usuario=usuario, dia=dia)
            dados = {"dia": dia.isoformat(), "agora": agora.isoformat()}
            enfileirar(organizacao, TipoDeEmail.RESUMO_DIARIO, dia.isoformat(), [usuario], dados=dados)
    except IntegrityError:
        return False
    return True


def _resumo(dia: date, contagem: Contagem, simular: bool) -> str:
    verbo = "seriam enviados" if simular else "enfileirado(s)"
    texto = (
        f"enviar_relatorios{' (simulação)' if simular else ''}: dia {dia:%d/%m/%Y}, "
        f"{contagem.enviados} e-mail(s) {verbo} a {contagem.organizacoes} organização(ões); "
        f"{contagem.sem_atividade} sem atividade"
    )
    return texto + (f"; {contagem.falhas} falha(s)." if contagem.falhas else ".")
