"""Statistics of a period: series per day or month, top emitters and routes, distributions.

Every number is a database aggregate (values/annotate), so the cost is a fixed handful of queries
whatever the number of documents; Python only fills the periods that had no document with zeros.

NF-e count as operations only (finNFe 1, 2, 3, or unknown for a summary: core.consultas.reforma) in the
series, the top emitters, por_uf and por_situacao: a return or a credit/debit note corrects an earlier
operation and summed with it would count the same money twice. `por_finalidade` counts every NF-e, split.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, F, Max, QuerySet, Sum
from django.utils import timezone

from core.models import CTe, Finalidade, NFe, Organizacao
from core.tenancy import escopo

from .reforma import so_operacoes

DIA, MES = "dia", "mes"
TOPO = 10
ZERO = Decimal("0.00")


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
    desde, ate = limites_locais(inicio, fim)
    todas_as_nfes = escopo(NFe, organizacao).filter(data_emissao__gte=desde, data_emissao__lt=ate)
    nfes = todas_as_nfes.filter(so_operacoes())
    ctes = escopo(CTe, organizacao).filter(data_emissao__gte=desde, data_emissao__lt=ate)
    return {
        "inicio": inicio,
        "fim": fim,
        "agrupar": agrupar,
        "series": _series(nfes, ctes, periodos(inicio, fim, agrupar), agrupar),
        "top_emitentes": _top_emitentes(nfes),
        "top_rotas": _top_rotas(ctes),
        "por_uf": {
            "nfe": _distribuicao(nfes, "uf", "emitente_uf", "valor_total"),
            # The carrier issues the CT-e where the service starts, so uf_inicio is its UF.
            "cte": _distribuicao(ctes, "uf", "uf_inicio", "valor_prestacao"),
        },
        "por_situacao": {
            "nfe": _distribuicao(nfes, "situacao", "situacao", "valor_total"),
            "cte": _distribuicao(ctes, "situacao", "situacao", "valor_prestacao"),
        },
        "por_finalidade": {"nfe": por_finalidade(todas_as_nfes)},
    }


def por_finalidade(nfes: QuerySet) -> list[dict]:
    """[{"finalidade", "finalidade_nome", "quantidade", "valor", "ibs", "cbs"}] of every finalidade present,
    in finNFe order, summaries (no finNFe) last."""
    linhas = nfes.order_by().values("finalidade").annotate(quantidade=Count("id"), **_somas("valor_total"))
    return [
        {
            "finalidade": linha["finalidade"],
            "finalidade_nome": Finalidade(linha["finalidade"]).label if linha["finalidade"] is not None else None,
            "quantidade": linha["quantidade"],
            **{campo: linha[campo] or ZERO for campo in ("valor", "ibs", "cbs")},
        }
        for linha in sorted(linhas, key=lambda linha: (linha["finalidade"] is None, linha["finalidade"] or 0))
    ]


def _somas(campo_valor: str) -> dict:
    """The document's value and the reform's IBS and CBS (NULL without the group: left out of the sum)."""
    return {"valor": Sum(campo_valor), "ibs": Sum("valor_ibs"), "cbs": Sum("valor_cbs")}


def periodos(inicio: date, fim: date, agrupar: str) -> list[date]:
    """Every day (or first day of every month) from `inicio` to `fim`, both included."""
    if agrupar == DIA:
        return [inicio + timedelta(days=n) for n in range((fim - inicio).days + 1)]
    meses, mes = [], inicio.replace(day=1)
    while mes <= fim:
        meses.append(mes)
        mes = (mes + timedelta(days=32)).replace(day=1)
    return meses


def _series(nfes: QuerySet, ctes: QuerySet, todos: list[date], agrupar: str) -> list[dict]:
    por_nfe = _por_periodo(nfes, "valor_total", agrupar)
    por_cte = _por_periodo(ctes, "valor_prestacao", agrupar)
    vazio = {"quantidade": 0, "valor": ZERO, "ibs": ZERO, "cbs": ZERO}
    return [
        {"periodo": periodo, "nfe": por_nfe.get(periodo, vazio), "cte": por_cte.get(periodo, vazio)}
        for periodo in todos
    ]


def _por_periodo(documentos: QuerySet, campo_valor: str, agrupar: str) -> dict[date, dict]:
    # Grouped by the stored local date (a plain column, native on every database); months are then
    # folded from at most a few thousand day rows.
    linhas = (
        documentos.values("data_emissao_local")
        .annotate(quantidade=Count("id"), **_somas(campo_valor))
        .order_by("data_emissao_local")
    )
    periodos: dict[date, dict] = {}
    for linha in linhas:
        dia = linha["data_emissao_local"]
        chave = dia if agrupar == DIA else dia.replace(day=1)
        soma = periodos.setdefault(chave, {"quantidade": 0, "valor": ZERO, "ibs": ZERO, "cbs": ZERO})
        soma["quantidade"] += linha["quantidade"]
        for campo in ("valor", "ibs", "cbs"):
            soma[campo] += linha[campo] or ZERO
    return periodos


def _top_emitentes(nfes: QuerySet) -> list[dict]:
    # Grouped by document only: a company that renamed itself is still one emitter.
    return list(
        nfes.values(documento=F("emitente_documento"))
        .annotate(nome=Max("emitente_nome"), quantidade=Count("id"), valor=Sum("valor_total"))
        .order_by("-valor", "-quantidade", "documento")[:TOPO]
    )


def _top_rotas(ctes: QuerySet) -> list[dict]:
    rota = ("uf_inicio", "municipio_inicio", "uf_fim", "municipio_fim")
    return list(
        ctes.values(*rota)
        .annotate(quantidade=Count("id"), valor=Sum("valor_prestacao"))
        .order_by("-valor", "-quantidade", *rota)[:TOPO]
    )


def _distribuicao(documentos: QuerySet, nome: str, campo: str, campo_valor: str) -> list[dict]:
    # values(situacao=F("situacao")) would clash with the field itself, hence the plain form.
    agrupados = documentos.values(campo) if nome == campo else documentos.values(**{nome: F(campo)})
    return list(
        agrupados.annotate(quantidade=Count("id"), valor=Sum(campo_valor)).order_by("-valor", "-quantidade", nome)
    )
