"""The dashboard: today and this month at a glance, recent imports and what needs attention.

A fixed number of queries (ten) whatever the amount of data: each block is one aggregate or one
slice of at most ten rows. The sums of today and of the month, and the count of NF-e waiting for their full
XML, come from the rollups (core.agregados: today's day row and the month's month row); the import log uses
its (organizacao, status, -criado_em) index.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone

from core.certificados.a1 import dias_para_vencer
from core.agregados.leitura import em_reais
from core.models import AgregadoCTe, AgregadoNFe, CertificadoDigital, Finalidade, Grao, ImportLog, NFe, Organizacao, Webhook
from core.models import WebhookLog
from core.tenancy import escopo

from .reforma import FINALIDADES_DE_OPERACAO

RECENTES = 10
ZERO = Decimal("0.00")
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
    nfe = _somas_por_finalidade(organizacao, periodos)
    cte = _somas(organizacao, periodos)
    importacoes = escopo(ImportLog, organizacao).order_by("-criado_em", "-id")
    erros = importacoes.filter(status=ImportLog.Status.ERRO, criado_em__gte=agora - JANELA_DE_ERROS)
    pendentes = escopo(NFe, organizacao).filter(completa=False)
    # Every month of the organization's history, a few rows each: the count without touching the documents.
    quantidade_pendente = AgregadoNFe.objects.filter(organizacao=organizacao, grao=Grao.MES, completa=False).aggregate(
        quantidade=Sum("quantidade")
    )["quantidade"]
    resumos = {
        nome: {"inicio": i, "fim": f, "nfe": nfe[nome]["operacoes"], "cte": cte[nome],
               "nfe_por_finalidade": nfe[nome]["por_finalidade"]}
        for nome, (i, f) in periodos.items()
    }  # fmt: skip
    return {
        **resumos,
        "ultimas_importacoes": list(importacoes.values(*CAMPOS_IMPORTACAO)[:RECENTES]),
        "erros_24h": {"quantidade": erros.count(), "recentes": list(erros.values(*CAMPOS_IMPORTACAO)[:RECENTES])},
        "nfe_pendentes": {
            "quantidade": quantidade_pendente or 0,
            # nfe_incompletas_idx: the ten latest, read directly; none to read when the rollup counts none.
            "recentes": list(
                pendentes.order_by("-data_emissao", "-id").values(*CAMPOS_DOCUMENTO, valor=F("valor_total"))[:RECENTES]
            )
            if quantidade_pendente
            else [],
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


def _somas(organizacao: Organizacao, periodos: dict[str, tuple[date, date]]) -> dict:
    """{periodo: {"quantidade", "valor", "ibs", "cbs"}} of the CT-e, in one query of filtered sums."""
    linha = _das_linhas(AgregadoCTe, organizacao, periodos).aggregate(**_agregados(periodos, "valor_prestacao"))
    return {nome: _do_periodo(linha, nome) for nome in periodos}


def _somas_por_finalidade(organizacao: Organizacao, periodos: dict[str, tuple[date, date]]) -> dict:
    """{periodo: {"operacoes": <somas>, "por_finalidade": [<somas> with finalidade]}}, in one query grouped by
    finNFe. Operations (core.consultas.reforma) are what "NF-e" means on the dashboard, as in the statistics."""
    agrupadas = _das_linhas(AgregadoNFe, organizacao, periodos).values("finalidade").annotate(**_agregados(periodos, "valor_total"))
    linhas = sorted(agrupadas, key=lambda linha: (not linha["finalidade"], linha["finalidade"]))
    resultado = {}
    for nome in periodos:
        por_finalidade = [
            {"finalidade": f or None, "finalidade_nome": Finalidade(f).label if f else None, **somas}
            for f, somas in ((linha["finalidade"], _do_periodo(linha, nome)) for linha in linhas)
            if somas["quantidade"]
        ]
        operacoes = [s for s in por_finalidade if s["finalidade"] in (None, *FINALIDADES_DE_OPERACAO)]
        resultado[nome] = {"operacoes": _juntar(operacoes), "por_finalidade": por_finalidade}
    return resultado


def _linhas_do_periodo(inicio: date, fim: date) -> Q:
    """Today is one day row; the month is its month row (the dashboard's periods are never anything else)."""
    if inicio == fim:
        return Q(grao=Grao.DIA, periodo=inicio)
    assert inicio.day == 1 and fim == _ultimo_dia_do_mes(inicio), (inicio, fim)
    return Q(grao=Grao.MES, periodo=inicio)


def _das_linhas(modelo, organizacao: Organizacao, periodos: dict[str, tuple[date, date]]):
    condicao = Q()
    for inicio, fim in periodos.values():
        condicao |= _linhas_do_periodo(inicio, fim)
    return modelo.objects.filter(condicao, organizacao=organizacao)


def _agregados(periodos: dict[str, tuple[date, date]], campo_valor: str) -> dict:
    """The filtered sums that split the rows of all periods by period."""
    agregados = {}
    for nome, (inicio, fim) in periodos.items():
        filtro = _linhas_do_periodo(inicio, fim)
        agregados[f"{nome}_quantidade"] = Sum("quantidade", filter=filtro)
        for campo, coluna in ((campo_valor, "valor"), ("valor_ibs", "ibs"), ("valor_cbs", "cbs")):
            agregados[f"{nome}_{coluna}"] = Sum(campo, filter=filtro)
    return agregados


def _do_periodo(linha: dict, nome: str) -> dict:
    return {
        "quantidade": linha[f"{nome}_quantidade"] or 0,
        **{coluna: em_reais(linha[f"{nome}_{coluna}"]) for coluna in ("valor", "ibs", "cbs")},
    }


def _juntar(somas: list[dict]) -> dict:
    return {
        "quantidade": sum(s["quantidade"] for s in somas),
        **{coluna: sum((s[coluna] for s in somas), ZERO) for coluna in ("valor", "ibs", "cbs")},
    }


def _ultimo_dia_do_mes(dia: date) -> date:
    return (dia.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
