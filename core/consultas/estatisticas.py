"""Statistics of a period: series per day or month, top emitters and routes, distributions.

Every number comes from the rollups (core.agregados): the period is read as its whole months plus the days at
its edges, so a year costs a fixed handful of small grouped queries whether the organization has a thousand
documents or a million. Python only folds edge days into their month and fills periods without documents
with zeros. The day of a document is its emission date in settings.TIME_ZONE.

NF-e count as operations only (finNFe 1, 2, 3, or unknown for a summary: core.consultas.reforma) in the
series, the top emitters, por_uf and por_situacao: a return or a credit/debit note corrects an earlier
operation and summed with it would count the same money twice. `por_finalidade` counts every NF-e, split.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from core.agregados.leitura import do_periodo, lidas, somas
from core.models import AgregadoCTe, AgregadoEmitente, AgregadoNFe, AgregadoRota, Finalidade, Organizacao

from .reforma import FINALIDADES_DE_OPERACAO

DIA, MES = "dia", "mes"
TOPO = 10
ZERO = Decimal("0.00")
# core.consultas.reforma.so_operacoes on the rollup, where a summary's missing finNFe is 0
OPERACOES = Q(finalidade__in=[0, *FINALIDADES_DE_OPERACAO])
VALOR = {AgregadoNFe: "valor_total", AgregadoCTe: "valor_prestacao"}


def limites_locais(inicio: date, fim: date, zona=None) -> tuple[datetime, datetime]:
    """[start of `inicio`, start of the day after `fim`) in `zona` (default: settings.TIME_ZONE).

    A half-open range on data_emissao itself (no function around the column) keeps the
    (organizacao, -data_emissao) index usable.
    """
    zona = zona or timezone.get_default_timezone()
    return (
        datetime.combine(inicio, time.min, tzinfo=zona),
        datetime.combine(fim + timedelta(days=1), time.min, tzinfo=zona),
    )


def estatisticas(*, organizacao: Organizacao, inicio: date, fim: date, agrupar: str) -> dict:
    """Everything /api/estatisticas/ shows for documents issued from `inicio` to `fim` (local dates)."""
    nfes = do_periodo(AgregadoNFe, organizacao, inicio, fim)
    ctes = do_periodo(AgregadoCTe, organizacao, inicio, fim)
    return {
        "inicio": inicio,
        "fim": fim,
        "agrupar": agrupar,
        "series": series(organizacao, inicio, fim, agrupar),
        "top_emitentes": top_emitentes(organizacao, inicio, fim),
        "top_rotas": top_rotas(organizacao, inicio, fim),
        "por_uf": {
            "nfe": _distribuicao(nfes.filter(OPERACOES), "uf", "emitente_uf"),
            # The carrier issues the CT-e where the service starts, so uf_inicio is its UF.
            "cte": _distribuicao(ctes, "uf", "uf_inicio"),
        },
        "por_situacao": {
            "nfe": _distribuicao(nfes.filter(OPERACOES), "situacao", "situacao"),
            "cte": _distribuicao(ctes, "situacao", "situacao"),
        },
        "por_finalidade": {"nfe": por_finalidade(nfes)},
    }


def por_finalidade(nfes) -> list[dict]:
    """[{"finalidade", "finalidade_nome", "quantidade", "valor", "ibs", "cbs"}] of every finalidade present in
    the NF-e rollup rows `nfes`, in finNFe order, summaries (no finNFe) last."""
    linhas = nfes.values("finalidade").annotate(**somas("valor_total", "valor_ibs", "valor_cbs")).filter(soma_quantidade__gt=0)
    return [
        {
            "finalidade": linha["finalidade"] or None,
            "finalidade_nome": Finalidade(linha["finalidade"]).label if linha["finalidade"] else None,
            **lidas(linha, valor="valor_total", ibs="valor_ibs", cbs="valor_cbs"),
        }
        for linha in sorted(linhas, key=lambda linha: (not linha["finalidade"], linha["finalidade"]))
    ]


def periodos(inicio: date, fim: date, agrupar: str) -> list[date]:
    """Every day (or first day of every month) from `inicio` to `fim`, both included."""
    if agrupar == DIA:
        return [inicio + timedelta(days=n) for n in range((fim - inicio).days + 1)]
    meses, mes = [], inicio.replace(day=1)
    while mes <= fim:
        meses.append(mes)
        mes = (mes + timedelta(days=32)).replace(day=1)
    return meses


def series(organizacao: Organizacao, inicio: date, fim: date, agrupar: str) -> list[dict]:
    """[{"periodo", "nfe": {"quantidade", "valor", "ibs", "cbs"}, "cte": {...}}] for every period, zeros included."""
    por_nfe = _por_periodo(AgregadoNFe, organizacao, inicio, fim, agrupar)
    por_cte = _por_periodo(AgregadoCTe, organizacao, inicio, fim, agrupar)
    vazio = {"quantidade": 0, "valor": ZERO, "ibs": ZERO, "cbs": ZERO}
    return [
        {"periodo": periodo, "nfe": por_nfe.get(periodo, vazio), "cte": por_cte.get(periodo, vazio)}
        for periodo in periodos(inicio, fim, agrupar)
    ]


def _por_periodo(modelo, organizacao: Organizacao, inicio: date, fim: date, agrupar: str) -> dict[date, dict]:
    linhas = do_periodo(modelo, organizacao, inicio, fim, por_dia=agrupar == DIA)
    if modelo is AgregadoNFe:
        linhas = linhas.filter(OPERACOES)
    periodos: dict[date, dict] = {}
    agrupadas = linhas.values("periodo").annotate(**somas(VALOR[modelo], "valor_ibs", "valor_cbs")).order_by("periodo")
    for linha in agrupadas:
        # A month row's periodo is already the month's first day; edge days fold into their month.
        chave = linha["periodo"] if agrupar == DIA else linha["periodo"].replace(day=1)
        soma = periodos.setdefault(chave, {"quantidade": 0, "valor": ZERO, "ibs": ZERO, "cbs": ZERO})
        for campo, valor in lidas(linha, valor=VALOR[modelo], ibs="valor_ibs", cbs="valor_cbs").items():
            soma[campo] += valor
    return {periodo: soma for periodo, soma in periodos.items() if soma["quantidade"]}


def top_emitentes(organizacao: Organizacao, inicio: date, fim: date, limite: int = TOPO) -> list[dict]:
    """The NF-e emitters (operations only) with the highest value: [{"documento", "nome", "quantidade", "valor"}].
    Grouped by document only: a company that renamed itself is still one emitter, under its greatest name."""
    # By (document, name) in SQL, so a name whose documents are all gone (sums netting to zero) drops out;
    # then by document here: a few hundred rows, however many documents they stand for.
    linhas = (
        do_periodo(AgregadoEmitente, organizacao, inicio, fim)
        .values("emitente_documento", "emitente_nome")
        .annotate(**somas("valor_total"))
        .filter(soma_quantidade__gt=0)
    )
    emitentes: dict[str, dict] = {}
    for linha in linhas:
        somado = lidas(linha, valor="valor_total")
        emitente = emitentes.setdefault(linha["emitente_documento"], {"documento": linha["emitente_documento"],
                                                                     "nome": "", "quantidade": 0, "valor": ZERO})  # fmt: skip
        emitente["nome"] = max(emitente["nome"], linha["emitente_nome"])
        emitente["quantidade"] += somado["quantidade"]
        emitente["valor"] += somado["valor"]
    return sorted(emitentes.values(), key=lambda e: (-e["valor"], -e["quantidade"], e["documento"]))[:limite]


def top_rotas(organizacao: Organizacao, inicio: date, fim: date, limite: int = TOPO, *, por_uf: bool = False) -> list[dict]:
    """The CT-e routes with the highest value: [{"uf_inicio", "municipio_inicio", "uf_fim", "municipio_fim",
    "quantidade", "valor"}]; `por_uf`: by state pair only ({"uf_inicio", "uf_fim", ...})."""
    rota = ("uf_inicio", "uf_fim") if por_uf else ("uf_inicio", "municipio_inicio", "uf_fim", "municipio_fim")
    linhas = (
        do_periodo(AgregadoRota, organizacao, inicio, fim)
        .values(*rota)
        .annotate(**somas("valor_prestacao"))
        .filter(soma_quantidade__gt=0)
        .order_by("-soma_valor_prestacao", "-soma_quantidade", *rota)[:limite]
    )
    return [{**{campo: linha[campo] for campo in rota}, **lidas(linha, valor="valor_prestacao")} for linha in linhas]


def _distribuicao(linhas, nome: str, coluna: str) -> list[dict]:
    """[{nome, "quantidade", "valor"}] grouped by `coluna`, the highest value first."""
    valor = VALOR[linhas.model]
    agrupadas = (
        linhas.values(coluna).annotate(**somas(valor)).filter(soma_quantidade__gt=0).order_by(f"-soma_{valor}", "-soma_quantidade", coluna)
    )
    return [{nome: linha[coluna], **lidas(linha, valor=valor)} for linha in agrupadas]
