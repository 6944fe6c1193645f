"""The admin index dashboard: the month's documents and R$ totals by situação, received per day, NF-e
pending manifestation, certificates near expiry and the SEFAZ capture state.

A fixed number of queries whatever the amount of data (eleven): one GROUP BY (day, situação) per
document type over the (organizacao, -data_emissao) index, three for the pending manifestation (the
organization's certificates, the count, the nearest deadlines), one for the certificates near expiry,
and for the capture the certificates, their options' organization defaults, their cursors and the
latest SEFAZ call. Always one organization: the admin user's, or the one a superuser picks
(`organizacoes_para_escolher`). Webhook health has its own page (core.consultas.saude_webhooks).

"The month" is the calendar month of today in the current time zone (in the admin, the organization's:
core.fuso_horario), by emission date in that zone, the same day the document's admin pages show. When that
zone's days are settings.TIME_ZONE's days (every UTC-3 zone: Bahia, Recife, Belém...), the month comes from
the rollups' day rows (core.agregados), at a cost that does not grow with the documents. For another zone
(Manaus, Acre, Noronha) a document of 00:30 in Brasília is another day, which the rollups (kept by
settings.TIME_ZONE's day) cannot tell: the days are then computed in the query (TruncDate in the zone) over
the month's documents, bounded by the (organizacao, -data_emissao) index.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.certificados.a1 import dias_para_vencer
from core.documentos.manifestacao_estado import dias_restantes, pendentes_de_manifestacao
from core.agregados.leitura import do_periodo, em_reais
from core.models import AgregadoCTe, AgregadoNFe, CertificadoDigital, ConfiguracaoConsulta, ConsultaSEFAZ, CTe, CursorDistribuicao, NFe
from core.models import Organizacao, Situacao
from core.sefaz.cursores import permitida_em
from core.tenancy import escopo

from .estatisticas import DIA, limites_locais, periodos

ZERO = Decimal("0.00")
PROXIMOS_PRAZOS = 5
# The admin's certificate filter "vence em até 30 dias" (core/admin/sefaz.py) and the e-mail alerts'
# longest warning: what the dashboard lists is what the linked list shows.
DIAS_DE_AVISO = 30
LIMITE_CERTIFICADOS = 10
LIMITE_CAPTURA = 20
# Always shown, even at zero: what a fiscal team asks first. Summaries and unprotocolled ones only
# when the month has some.
SITUACOES_FIXAS = (Situacao.AUTORIZADA, Situacao.CANCELADA, Situacao.DENEGADA)
CAMPOS_VALOR = {NFe: "valor_total", CTe: "valor_prestacao"}
AGREGADOS = {NFe: AgregadoNFe, CTe: AgregadoCTe}


def painel_admin(*, organizacao: Organizacao, agora: datetime | None = None) -> dict:
    """{"organizacao", "inicio", "fim", "documentos": {"nfe", "cte"}, "dias", "manifestacao",
    "certificados_vencendo", "captura"}."""
    agora = agora or timezone.now()
    hoje = timezone.localdate(agora)
    inicio, fim = hoje.replace(day=1), _ultimo_dia_do_mes(hoje)
    nfe = _do_mes(NFe, organizacao, inicio, fim)
    cte = _do_mes(CTe, organizacao, inicio, fim)
    return {
        "organizacao": organizacao,
        "inicio": inicio,
        "fim": fim,
        "documentos": {"nfe": _por_situacao(nfe), "cte": _por_situacao(cte)},
        "dias": _por_dia(nfe, cte, inicio, fim),
        "manifestacao": manifestacao_pendente(organizacao, agora),
        "certificados_vencendo": certificados_vencendo(organizacao, agora),
        "captura": captura_na_sefaz(organizacao, agora),
    }


def _do_mes(modelo, organizacao: Organizacao, inicio: date, fim: date) -> list[dict]:
    """[{"dia", "situacao", "quantidade", "valor"}]: one row per (day, situação), one query."""
    zona = timezone.get_current_timezone()
    campo = CAMPOS_VALOR[modelo]
    if _dias_iguais(zona, timezone.get_default_timezone(), inicio, fim):
        linhas = (
            do_periodo(AGREGADOS[modelo], organizacao, inicio, fim, por_dia=True)
            .linhas.values("periodo", "situacao")
            .annotate(soma_quantidade=Sum("quantidade"), soma_valor=Sum(campo))
            .filter(soma_quantidade__gt=0)
        )
        return [{"dia": linha["periodo"], "situacao": linha["situacao"], "quantidade": linha["soma_quantidade"],
                 "valor": em_reais(linha["soma_valor"])} for linha in linhas]  # fmt: skip
    desde, ate = limites_locais(inicio, fim, zona)
    # The WHERE on data_emissao keeps the date index usable; the GROUP BY is on its day in the zone.
    return list(
        escopo(modelo, organizacao)
        .filter(data_emissao__gte=desde, data_emissao__lt=ate)
        .order_by()
        .annotate(dia=TruncDate("data_emissao", tzinfo=zona))
        .values("dia", "situacao")
        .annotate(quantidade=Count("id"), valor=Sum(campo))
    )


def _dias_iguais(zona, padrao, inicio: date, fim: date) -> bool:
    """Whether every day from `inicio` to `fim` starts at the same instant in both zones."""
    return all(
        limites_locais(dia, dia, zona)[0] == limites_locais(dia, dia, padrao)[0]
        for dia in periodos(inicio, fim + timedelta(days=1), DIA)
    )


def _por_situacao(linhas: list[dict]) -> dict:
    """{"situacoes": [{"situacao", "nome", "quantidade", "valor"}], "quantidade", "valor"}."""
    somas: dict[str, dict] = {s.value: {"quantidade": 0, "valor": ZERO} for s in SITUACOES_FIXAS}
    for linha in linhas:
        soma = somas.setdefault(linha["situacao"], {"quantidade": 0, "valor": ZERO})
        soma["quantidade"] += linha["quantidade"]
        soma["valor"] += linha["valor"] or ZERO
    ordem = [s.value for s in Situacao]
    situacoes = [
        {"situacao": s, "nome": Situacao(s).label if s in ordem else s, **somas[s]}
        for s in sorted(somas, key=lambda s: ordem.index(s) if s in ordem else len(ordem))
    ]
    return {
        "situacoes": situacoes,
        "quantidade": sum(s["quantidade"] for s in situacoes),
        "valor": sum((s["valor"] for s in situacoes), ZERO),
    }


def _por_dia(nfe: list[dict], cte: list[dict], inicio: date, fim: date) -> list[dict]:
    """[{"dia", "nfe", "cte"}] for every day of the month."""
    contagens: dict[tuple[str, date], int] = {}
    for tipo, linhas in (("nfe", nfe), ("cte", cte)):
        for linha in linhas:
            chave = (tipo, linha["dia"])
            contagens[chave] = contagens.get(chave, 0) + linha["quantidade"]
    return [
        {"dia": dia, "nfe": contagens.get(("nfe", dia), 0), "cte": contagens.get(("cte", dia), 0)}
        for dia in periodos(inicio, fim, DIA)
    ]


def manifestacao_pendente(organizacao: Organizacao, agora: datetime) -> dict:
    """{"quantidade", "proximas": [{"id", "numero", "serie", "emitente_nome", "valor_total", "prazo",
    "dias_restantes"}]}: the NF-e awaiting a conclusive manifestation, the nearest deadlines first."""
    pendentes = pendentes_de_manifestacao(organizacao, agora)
    campos = ("id", "numero", "serie", "emitente_nome", "valor_total", "prazo_manifestacao")
    proximas = pendentes.order_by("prazo_manifestacao", "id").values(*campos)[:PROXIMOS_PRAZOS]
    return {
        "quantidade": pendentes.count(),
        "proximas": [{**n, "dias_restantes": dias_restantes(n["prazo_manifestacao"], agora)} for n in proximas],
    }


def certificados_vencendo(organizacao: Organizacao, agora: datetime) -> list[dict]:
    """Certificates expired or expiring within DIAS_DE_AVISO days, the soonest first."""
    certificados = (
        escopo(CertificadoDigital, organizacao)
        .filter(validade_fim__lt=agora + timedelta(days=DIAS_DE_AVISO + 1))
        .order_by("validade_fim", "id")
        .values("id", "nome", "titular", "cnpj", "cpf", "validade_fim")[:LIMITE_CERTIFICADOS]
    )
    return [{**c, "dias_para_vencer": dias_para_vencer(c["validade_fim"], agora)} for c in certificados]


def captura_na_sefaz(organizacao: Organizacao, agora: datetime) -> dict:
    """{"linhas": [one per certificate and service], "ultima_consulta": the latest SEFAZ call or None}.

    Each line: the certificate, the service, whether capture is automatic, the last distNSU (when and
    its cStat), the NSU position, the next run (None: manual capture; "agora": due) and the problems
    a person must look at (certificate problem, 656 block, transient failures in a row, a lost answer)."""
    certificados = list(escopo(CertificadoDigital, organizacao).order_by("validade_fim", "id")[:LIMITE_CAPTURA])
    padrao = escopo(ConfiguracaoConsulta, organizacao).first() or ConfiguracaoConsulta(organizacao=organizacao)
    documentos = {c.documento for c in certificados}
    cursores = {
        (c.documento, c.servico, c.ambiente): c for c in CursorDistribuicao.objects.filter(documento__in=documentos)
    }
    linhas = []
    for certificado in certificados:
        servicos = certificado.servicos if certificado.servicos is not None else padrao.servicos
        intervalo = certificado.intervalo_minutos or padrao.intervalo_minutos
        for servico in servicos:
            cursor = cursores.get((certificado.documento, servico, certificado.ambiente))
            linhas.append(_linha_da_captura(certificado, servico, intervalo, cursor, agora))
    ultima = escopo(ConsultaSEFAZ, organizacao).order_by("-criada_em", "-id").first()
    return {"linhas": linhas, "ultima_consulta": ultima}


def _linha_da_captura(certificado, servico, intervalo, cursor, agora) -> dict:
    problemas = []
    if certificado.problema:
        problemas.append(certificado.problema)
    if certificado.validade_fim <= agora:
        problemas.append("certificado vencido")
    if cursor is not None:
        if cursor.bloqueado_ate and cursor.bloqueado_ate > agora:
            problemas.append("bloqueado pela SEFAZ (consumo indevido, 656)")
        if cursor.falhas_seguidas:
            problemas.append(f"{cursor.falhas_seguidas} falha(s) seguida(s)")
        if cursor.chamada_em_andamento_em:
            problemas.append("uma resposta da SEFAZ não foi gravada")
    return {
        "certificado": certificado,
        "servico": servico,
        "automatica": certificado.consulta_automatica,
        "ultima_consulta_em": cursor.ultima_consulta_em if cursor else None,
        "ultimo_cstat": cursor.ultimo_cstat if cursor else None,
        "ult_nsu": cursor.ult_nsu if cursor else None,
        "max_nsu": cursor.max_nsu if cursor else None,
        "proxima": _proxima(certificado, intervalo, cursor, agora) if certificado.consulta_automatica else None,
        "problemas": problemas,
        "status": "com problema" if problemas else ("automática" if certificado.consulta_automatica else "manual"),
    }


def _proxima(certificado, intervalo: int, cursor, agora: datetime) -> datetime | None:
    """When the scheduled capture queries this sequence next (the rule of core.sefaz.cursores.esta_na_hora);
    `agora` when it is due. None when the certificate cannot be queried (problem, expired)."""
    if certificado.problema or certificado.validade_fim <= agora:
        return None
    if cursor is None or cursor.ultima_consulta_em is None:
        return agora
    datas = [permitida_em(cursor)]
    if cursor.ult_nsu >= cursor.max_nsu:  # more documents waiting: no interval to wait
        datas.append(cursor.ultima_consulta_em + timedelta(minutes=intervalo))
    return max([d for d in datas if d] + [agora])


def _ultimo_dia_do_mes(dia: date) -> date:
    return (dia.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def organizacao_do_painel(usuario, escolhida: str | None, propria: Organizacao | None) -> Organizacao | None:
    """Whose dashboard to show: staff always their own; a superuser the one chosen (`?organizacao=<id>`),
    else their own, else the first by name."""
    if not usuario.is_superuser:
        return propria
    if escolhida and escolhida.isdigit():
        encontrada = Organizacao.objects.filter(pk=int(escolhida)).first()
        if encontrada is not None:
            return encontrada
    return propria or Organizacao.objects.order_by("nome", "id").first()


def organizacoes_para_escolher(usuario) -> list[tuple[int, str]]:
    """The superuser's choice list (id, name); empty for everyone else."""
    if not usuario.is_superuser:
        return []
    return list(Organizacao.objects.order_by("nome", "id").values_list("pk", "nome"))
