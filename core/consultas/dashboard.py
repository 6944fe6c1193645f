"""The dashboard: today and this month at a glance, recent imports and what needs attention.

A fixed number of queries (ten) whatever the amount of data: each block is one aggregate or one
slice of at most ten rows. The date ranges use the (organizacao, -data_emissao) index and the import
log its (organizacao, status, -criado_em) one.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.utils import timezone

from core.certificados.a1 import dias_para_vencer
from core.models import CertificadoDigital, CTe, ImportLog, NFe, Organizacao, Webhook, WebhookLog
from core.tenancy import escopo

from .estatisticas import limites_locais

RECENTES = 10
JANELA_DE_ERROS = timedelta(hours=24)
# The same horizon as the certificado_vencendo alerts (30, 15, 7 and 1 day): what the dashboard shows
# is what the e-mails warned about.
HORIZONTE_DE_VENCIMENTO = timedelta(days=30)
CAMPOS_IMPORTACAO = ("arquivo", "chave", "status", "mensagem", "criado_em")
CAMPOS_DOCUMENTO = ("chave", "numero", "serie", "data_emissao", "emitente_nome", "emitente_documento", "situacao")


def painel(*, organizacao: Organizacao, agora: datetime | None = None) -> dict:
    """Everything /api/dashboard/ shows; "today" and "this month" are local dates (settings.TIME_ZONE)."""
    agora = agora or timezone.now()
    hoje = timezone.localtime(agora, timezone.get_default_timezone()).date()
    periodos = {"hoje": (hoje, hoje), "mes": (hoje.replace(day=1), _ultimo_dia_do_mes(hoje))}
    nfe = _somas(escopo(NFe, organizacao), "valor_total", periodos)
    cte = _somas(escopo(CTe, organizacao), "valor_prestacao", periodos)
    importacoes = escopo(ImportLog, organizacao).order_by("-criado_em", "-id")
    erros = importacoes.filter(status=ImportLog.Status.ERRO, criado_em__gte=agora - JANELA_DE_ERROS)
    pendentes = escopo(NFe, organizacao).filter(completa=False)
    resumos = {nome: {"inicio": i, "fim": f, "nfe": nfe[nome], "cte": cte[nome]} for nome, (i, f) in periodos.items()}
    return {
        **resumos,
        "ultimas_importacoes": list(importacoes.values(*CAMPOS_IMPORTACAO)[:RECENTES]),
        "erros_24h": {"quantidade": erros.count(), "recentes": list(erros.values(*CAMPOS_IMPORTACAO)[:RECENTES])},
        "nfe_pendentes": {
            "quantidade": pendentes.count(),
            "recentes": list(
                pendentes.order_by("-data_emissao", "-id").values(*CAMPOS_DOCUMENTO, valor=F("valor_total"))[:RECENTES]
            ),
        },
        "certificados_vencendo": _certificados_vencendo(organizacao, agora),
        "webhooks": _saude_dos_webhooks(organizacao, agora),
    }


def _certificados_vencendo(organizacao: Organizacao, agora: datetime) -> list[dict]:
    """A1 certificates expiring within 30 days or already expired, the soonest first."""
    certificados = (
        escopo(CertificadoDigital, organizacao)
        .filter(validade_fim__lte=agora + HORIZONTE_DE_VENCIMENTO)
        .order_by("validade_fim", "id")
        .values("id", "nome", "titular", "cnpj", "cpf", "validade_fim", "problema")[:RECENTES]
    )
    return [{**c, "dias_para_vencer": dias_para_vencer(c["validade_fim"], agora)} for c in certificados]


def _saude_dos_webhooks(organizacao: Organizacao, agora: datetime) -> dict:
    """Active and disabled webhooks, deliveries waiting, failed attempts in the last 24 hours."""
    webhooks = escopo(Webhook, organizacao).aggregate(
        ativos=Count("id", filter=Q(ativo=True)),
        desativados=Count("id", filter=Q(ativo=False)),
        ultimo_sucesso_em=Max("ultimo_sucesso_em"),
    )
    em_aberto = [WebhookLog.Status.PENDENTE, WebhookLog.Status.ENTREGANDO]
    falhas = [WebhookLog.Status.FALHA, WebhookLog.Status.DESISTIU]
    desde = agora - JANELA_DE_ERROS
    tentativas = (
        escopo(WebhookLog, organizacao)
        .filter(Q(status__in=em_aberto) | Q(status__in=falhas, criado_em__gte=desde))
        .aggregate(
            pendentes=Count("id", filter=Q(status__in=em_aberto)),
            falhas_24h=Count("id", filter=Q(status__in=falhas, criado_em__gte=desde)),
        )
    )
    return {**webhooks, **tentativas}


def _somas(documentos: QuerySet, campo_valor: str, periodos: dict[str, tuple[date, date]]) -> dict:
    """{periodo: {"quantidade", "valor"}} for every period, in one query of filtered aggregates."""
    limites = {nome: limites_locais(inicio, fim) for nome, (inicio, fim) in periodos.items()}
    agregados = {}
    for nome, (desde, ate) in limites.items():
        filtro = Q(data_emissao__gte=desde, data_emissao__lt=ate)
        agregados[f"{nome}_quantidade"] = Count("id", filter=filtro)
        agregados[f"{nome}_valor"] = Sum(campo_valor, filter=filtro)
    # The WHERE spans all periods so the date index bounds the scan; the filters split it up.
    desde, ate = min(d for d, _ in limites.values()), max(a for _, a in limites.values())
    linha = documentos.filter(data_emissao__gte=desde, data_emissao__lt=ate).aggregate(**agregados)
    return {
        nome: {"quantidade": linha[f"{nome}_quantidade"], "valor": linha[f"{nome}_valor"] or Decimal("0.00")}
        for nome in periodos
    }


def _ultimo_dia_do_mes(dia: date) -> date:
    return (dia.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
