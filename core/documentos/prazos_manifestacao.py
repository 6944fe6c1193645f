"""The manifestation deadline alert: `manifestacao_pendente` for each NF-e about to miss it, once.

Run daily by `run_scheduled_tasks --task=prazos_manifestacao`. An NF-e is due when it is pending
(`manifestacao_estado.pendentes_de_manifestacao`: addressed to the organization, no conclusive
manifestation, deadline ahead) and its deadline falls within FISCAL_AVISO_PRAZO_MANIFESTACAO_DIAS.

Each NF-e is announced once: a short transaction locks a batch of due rows (`skip_locked`, so a second
run at the same time takes other rows or none), stamps `prazo_manifestacao_avisado_em`, and writes one
event per NF-e in the same transaction (the outbox). The e-mail, one per organization and batch, goes
after the commit, outside any transaction. A run that dies after the commit loses at most that e-mail;
the events are stored and delivered anyway.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.eventos.documentos import dados_do_documento
from core.eventos.emissao import registrar_eventos
from core.models import NFe, Organizacao
from core.tenancy import escopo, todas_as_organizacoes

from .manifestacao_estado import pendentes_de_manifestacao

logger = logging.getLogger(__name__)

LOTE = 200


def avisar_prazos_de_manifestacao(agora: datetime | None = None) -> int:
    """Announce every due NF-e of every organization; how many were announced by this run."""
    agora = agora or timezone.now()
    return sum(_avisar_organizacao(organizacao, agora) for organizacao in _organizacoes_com_prazos(agora))


def avisos_devidos(agora: datetime | None = None) -> dict[Organizacao, int]:
    """How many NF-e each organization would be told about now (`--dry-run`)."""
    agora = agora or timezone.now()
    contagem = {organizacao: devidas(organizacao, agora).count() for organizacao in _organizacoes_com_prazos(agora)}
    return {organizacao: quantas for organizacao, quantas in contagem.items() if quantas}


def devidas(organizacao: Organizacao, agora: datetime):
    """Pending NF-e of `organizacao` whose deadline falls within the warning window and were not announced."""
    limite = agora + timedelta(days=settings.FISCAL_AVISO_PRAZO_MANIFESTACAO_DIAS)
    return pendentes_de_manifestacao(organizacao, agora).filter(
        prazo_manifestacao__lte=limite, prazo_manifestacao_avisado_em__isnull=True
    )


def _organizacoes_com_prazos(agora: datetime) -> list[Organizacao]:
    # A cheap first pass across tenants on the (organizacao, prazo_manifestacao) index; the precise
    # condition (recipient, state) is applied per organization by `devidas`.
    limite = agora + timedelta(days=settings.FISCAL_AVISO_PRAZO_MANIFESTACAO_DIAS)
    candidatas = todas_as_organizacoes(NFe).filter(
        prazo_manifestacao__gt=agora, prazo_manifestacao__lte=limite, prazo_manifestacao_avisado_em__isnull=True
    )
    ids = candidatas.values_list("organizacao_id", flat=True).distinct()
    return list(Organizacao.objects.filter(pk__in=ids, ativa=True).order_by("pk"))


def _avisar_organizacao(organizacao: Organizacao, agora: datetime) -> int:
    avisadas = 0
    while lote := _reivindicar_lote(organizacao, agora):
        avisadas += len(lote)
    return avisadas


def _reivindicar_lote(organizacao: Organizacao, agora: datetime) -> list[NFe]:
    """Claim up to LOTE due NF-e, stamp them and record their events, in one short transaction."""
    with transaction.atomic():
        # Rows another run holds are skipped; rows it already stamped no longer match (PostgreSQL
        # re-checks the condition of a locked row once the other transaction commits).
        lote = list(devidas(organizacao, agora).select_for_update(skip_locked=True).order_by("prazo_manifestacao", "pk")[:LOTE])
        if not lote:
            return []
        escopo(NFe, organizacao).filter(pk__in=[nfe.pk for nfe in lote]).update(prazo_manifestacao_avisado_em=agora)
        for nfe in lote:
            nfe.prazo_manifestacao_avisado_em = agora
        # The events queue the webhooks and one e-mail per member for this batch (core.notifications.fila).
        registrar_eventos(organizacao, [("manifestacao_pendente", dados_do_documento(nfe)) for nfe in lote])
    logger.info("prazos_manifestacao: %d NF-e da organização %s avisadas", len(lote), organizacao.pk)
    return lote
