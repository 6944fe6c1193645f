"""Certificate-expiry alerts: `certificado_vencendo` at 30, 15, 7 and 1 days before the end, once each.

Run daily by `run_scheduled_tasks --task=certificados_vencendo`. Each threshold is announced once per
certificate (the row remembers it, in the same transaction as the event), so running the task twice,
or twice at once, announces nothing twice. A certificate first seen when already inside several
thresholds (uploaded 5 days before it expires) gets one alert, for the nearest one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from core.eventos.emissao import disparar_webhook
from core.models import CertificadoDigital
from core.tenancy import escopo, todas_as_organizacoes

logger = logging.getLogger(__name__)

LIMIARES_DIAS = (30, 15, 7, 1)


def limiar_atingido(dias_restantes: int) -> int | None:
    """The smallest threshold not below `dias_restantes` (12 days left → 15), or None beyond 30."""
    candidatos = [limiar for limiar in LIMIARES_DIAS if dias_restantes <= limiar]
    return min(candidatos) if candidatos else None


def avisar_certificados_vencendo(agora: datetime | None = None) -> int:
    """Emit the due alerts of every organization; return how many were emitted."""
    agora = agora or timezone.now()
    emitidos = 0
    for certificado in _vencendo(agora):
        emitidos += _avisar(certificado, agora)
    return emitidos


def avisos_devidos(agora: datetime | None = None) -> list[tuple[CertificadoDigital, int, int]]:
    """(certificate, days left, threshold) of every alert a run would emit now (`--dry-run`)."""
    agora = agora or timezone.now()
    devidos = []
    for certificado in _vencendo(agora):
        dias = (certificado.validade_fim - agora).days
        limiar = limiar_atingido(dias)
        if limiar is not None and limiar not in certificado.avisos_de_vencimento:
            devidos.append((certificado, dias, limiar))
    return devidos


def _vencendo(agora: datetime):
    vencendo = todas_as_organizacoes(CertificadoDigital).filter(
        validade_fim__gt=agora, validade_fim__lte=agora + timedelta(days=max(LIMIARES_DIAS)),
        organizacao__ativa=True,  # none while deactivated; once reactivated, the current threshold's alert goes out
    )
    return vencendo.select_related("organizacao").order_by("validade_fim")


def _avisar(certificado: CertificadoDigital, agora: datetime) -> bool:
    dias = (certificado.validade_fim - agora).days
    limiar = limiar_atingido(dias)
    if limiar is None:
        return False
    organizacao = certificado.organizacao
    with transaction.atomic():
        atual = escopo(CertificadoDigital, organizacao).select_for_update().get(pk=certificado.pk)
        if limiar in atual.avisos_de_vencimento:
            return False
        atual.avisos_de_vencimento = sorted({*atual.avisos_de_vencimento, limiar}, reverse=True)
        atual.save(update_fields=["avisos_de_vencimento", "atualizado_em"])
        # The event queues the webhooks and the e-mails (core.notifications.fila) in this transaction.
        disparar_webhook("certificado_vencendo", dados_do_aviso(atual, dias), organizacao)
    logger.info("certificado %s (%s) vence em %d dia(s): aviso de %d dias emitido", certificado.pk,
                certificado.documento, dias, limiar)  # fmt: skip
    return True


def dados_do_aviso(certificado: CertificadoDigital, dias: int) -> dict:
    return {
        "certificado": certificado.documento, "certificado_id": certificado.pk, "titular": certificado.titular,
        "validade_fim": timezone.localtime(certificado.validade_fim).date().isoformat(), "dias": dias,
    }  # fmt: skip
