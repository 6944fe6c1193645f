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

from django.utils import timezone

from core.agregados.leitura import Periodo, do_periodo, lidas
from core.models import AgregadoCTe, AgregadoEmitente, AgregadoNFe, AgregadoRota, Finalidade, Organizacao

from .reforma import FINALIDADES_DE_OPERACAO

DIA, MES = "dia", "mes"
TOPO = 10
ZERO = Decimal("0.00")
# core.consultas.reforma.so_operacoes on the rollup, where a summary's missing finNFe is 0
OPERACOES = (0, *FINALIDADES_DE_OPERACAO)
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
    nfes = _distribuicoes(do_periodo(AgregadoNFe, organizacao, inicio, fim), ("situacao", "finalidade", "emitente_uf"))
    ctes = _distribuicoes(do_periodo(AgregadoCTe, organizacao, inicio, fim), ("situacao", "uf_inicio"))
    operacoes = [linha for linha in nfes if linha["finalidade"] in OPERACOES]
    return {
        "inicio": inicio,
        "fim": fim,
        "agrupar": agrupar,
        "series": series(organizacao, inicio, fim, agrupar),
        "top_emitentes": top_emitentes(organizacao, inicio, fim),
        "top_rotas": top_rotas(organizacao, inicio, fim),
        "por_uf": {
            "nfe": _por(operacoes, "emitente_uf", "uf"),
            # The carrier issues the CT-e where the service starts, so uf_inicio is its UF.
            "cte": _por(ctes, "uf_inicio", "uf"),
        },
        "por_situacao": {"nfe": _por(operacoes, "situacao", "situacao"), "cte": _por(ctes, "situacao", "situacao")},
        "por_finalidade": {"nfe": _por_finalidade(nfes)},
    }


def _distribuicoes(periodo: Periodo, grupos: tuple[str, ...]) -> list[dict]:
    """The period's rows grouped by every column a distribution needs, in one query: [{<grupos>, "quantidade",
    "valor", "ibs", "cbs"}] (a few hundred rows however many documents), split in Python by `_por`."""
    valor = VALOR[periodo.linhas.model]
    linhas = periodo.linhas.values(*grupos).annotate(**periodo.somas(valor, "valor_ibs", "valor_cbs"))
    return [{**{g: linha[g] for g in grupos}, **lidas(linha, valor=valor, ibs="valor_ibs", cbs="valor_cbs")}
            for linha in linhas.filter(soma_quantidade__gt=0)]  # fmt: skip


def _por(linhas: list[dict], coluna: str, nome: str) -> list[dict]:
    """[{nome, "quantidade", "valor"}] by `coluna`, the highest value first."""
    somas: dict = {}
    for linha in linhas:
        soma = somas.setdefault(linha[coluna], {nome: linha[coluna], "quantidade": 0, "valor": ZERO})
        soma["quantidade"] += linha["quantidade"]
        soma["valor"] += linha["valor"]
    return sorted(somas.values(), key=lambda s: (-s["valor"], -s["quantidade"], s[nome]))


def _por_finalidade(linhas: list[dict]) -> list[dict]:
    """[{"finalidade", "finalidade_nome", "quantidade", "valor", "ibs", "cbs"}] of every finalidade present,
    in finNFe order, summaries (no finNFe, 0 in the rollup) last."""
    somas: dict = {}
    for linha in linhas:
        f = linha["finalidade"] or None
        soma = somas.setdefault(f, {"finalidade": f, "finalidade_nome": Finalidade(f).label if f else None,
                                    "quantidade": 0, "valor": ZERO, "ibs": ZERO, "cbs": ZERO})  # fmt: skip
        for campo in ("quantidade", "valor", "ibs", "cbs"):
            soma[campo] += linha[campo]
    return [somas[f] for f in sorted(somas, key=lambda f: (f is None, f or 0))]


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
    periodo = do_periodo(modelo, organizacao, inicio, fim, por_dia=agrupar == DIA)
    if modelo is AgregadoNFe:
        periodo = periodo.filter(finalidade__in=OPERACOES)
    somas: dict[date, dict] = {}
    # Month rows and edge-day rows (added, or subtracted from their month) fold into their month here.
    agrupadas = periodo.linhas.values("periodo").annotate(**periodo.somas(VALOR[modelo], "valor_ibs", "valor_cbs"))
    for linha in agrupadas.order_by("periodo"):
        chave = linha["periodo"] if agrupar == DIA else linha["periodo"].replace(day=1)
        soma = somas.setdefault(chave, {"quantidade": 0, "valor": ZERO, "ibs": ZERO, "cbs": ZERO})
        for campo, valor in lidas(linha, valor=VALOR[modelo], ibs="valor_ibs", cbs="valor_cbs").items():
            soma[campo] += valor
    return {chave: soma for chave, soma in somas.items() if soma["quantidade"]}


def top_emitentes(organizacao: Organizacao, inicio: date, fim: date, limite: int = TOPO) -> list[dict]:
    """The NF-e emitters (operations only) with the highest value: [{"documento", "nome", "quantidade", "valor"}].
    Grouped by document only: a company that renamed itself is still one emitter, under its greatest name."""
    # By (document, name) in SQL, so a name whose documents are all gone (sums netting to zero) drops out;
    # then by document here: a few hundred rows, however many documents they stand for.
    periodo = do_periodo(AgregadoEmitente, organizacao, inicio, fim)
    linhas = (
        periodo.linhas.values("emitente_documento", "emitente_nome")
        .annotate(**periodo.somas("valor_total"))
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
    periodo = do_periodo(AgregadoRota, organizacao, inicio, fim)
    linhas = (
        periodo.linhas.values(*rota)
        .annotate(**periodo.somas("valor_prestacao"))
        .filter(soma_quantidade__gt=0)
        .order_by("-soma_valor_prestacao", "-soma_quantidade", *rota)[:limite]
    )
    return [{**{campo: linha[campo] for campo in rota}, **lidas(linha, valor="valor_prestacao")} for linha in linhas]
