"""One organization's day, for the daily e-mail: documents, top emitters and routes, what failed, and
the certificates about to expire.

The documents are counted by local emission date (settings.TIME_ZONE), from the same rollups and with the
same rule as /api/estatisticas/ (NF-e: operations only, core.consultas.reforma), so the e-mail and the API
never disagree about a day. Seven queries whatever the amount of data or the number of people who receive it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from core.models import CertificadoDigital, ImportLog, Organizacao, WebhookLog
from core.tenancy import escopo
from core.webhooks.estatisticas import FALHAS

from .estatisticas import DIA, limites_locais, series, top_emitentes, top_rotas

TOPO = 5
DIAS_NO_GRAFICO = 7
DIAS_PARA_VENCER = 30


@dataclass(frozen=True)
class ResumoDoDia:
    """What `NotificationService.enviar_resumo_diario` shows; `organizacao_id` lets it check the recipient."""

    organizacao_id: int
    data: date
    nfe: dict  # {"quantidade", "valor", "ibs", "cbs"}: operations only (no returns, credit or debit notes)
    cte: dict
    top_emitentes: list[dict]  # [{documento, nome, quantidade, valor}]
    top_rotas: list[dict]  # [{uf_inicio, uf_fim, quantidade, valor}]
    erros_importacao: int
    falhas_webhook: int
    certificados_vencendo: list[dict]  # [{titular, cnpj, validade_fim, dias}]
    por_dia: list[dict]  # the last DIAS_NO_GRAFICO days up to `data`: [{periodo, nfe, cte}]

    @property
    def teve_atividade(self) -> bool:
        """Documents, failed imports or failed deliveries that day (certificates alone are no news)."""
        return bool(self.nfe["quantidade"] or self.cte["quantidade"] or self.erros_importacao or self.falhas_webhook)


def resumo_do_dia(*, organizacao: Organizacao, dia: date, agora: datetime | None = None) -> ResumoDoDia:
    agora = agora or timezone.now()
    desde, ate = limites_locais(dia, dia)
    # One grouped query per kind covers both the chart and the day itself (its last bar).
    por_dia = series(organizacao, dia - timedelta(days=DIAS_NO_GRAFICO - 1), dia, DIA)
    return ResumoDoDia(
        organizacao_id=organizacao.pk,
        data=dia,
        nfe=por_dia[-1]["nfe"],
        cte=por_dia[-1]["cte"],
        top_emitentes=top_emitentes(organizacao, dia, dia, TOPO),
        # By state pair, not by city pair as /api/estatisticas/ ranks them: an e-mail has room for five
        # lines, and "SP → RJ" says more there than five cities of São Paulo.
        top_rotas=top_rotas(organizacao, dia, dia, TOPO, por_uf=True),
        erros_importacao=escopo(ImportLog, organizacao)
        .filter(status=ImportLog.Status.ERRO, criado_em__gte=desde, criado_em__lt=ate)
        .count(),
        falhas_webhook=escopo(WebhookLog, organizacao)
        .filter(status__in=FALHAS, atualizado_em__gte=desde, atualizado_em__lt=ate)
        .count(),
        certificados_vencendo=_certificados_vencendo(organizacao, agora),
        por_dia=por_dia,
    )


def _certificados_vencendo(organizacao: Organizacao, agora: datetime) -> list[dict]:
    vencendo = escopo(CertificadoDigital, organizacao).filter(
        validade_fim__gt=agora, validade_fim__lte=agora + timedelta(days=DIAS_PARA_VENCER)
    )
    campos = ("titular", "cnpj", "cpf", "validade_fim")
    return [
        {"titular": c.titular, "cnpj": c.documento, "validade_fim": c.validade_fim, "dias": (c.validade_fim - agora).days}
        for c in vencendo.order_by("validade_fim").only(*campos)
    ]
