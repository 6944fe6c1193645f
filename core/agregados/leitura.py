"""Reading the rollups: a date range as rows of whole months plus edge days, and cents back into reais."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q, Sum

from core.models import Organizacao
from core.models.agregados import Grao

ZERO = Decimal("0.00")


def no_periodo(inicio: date, fim: date) -> Q:
    """The rollup rows that add up to the days from `inicio` to `fim` (both included), each day exactly once."""
    condicao = Q(pk__in=[])
    for grao, de, ate in partes(inicio, fim):
        condicao |= Q(grao=grao, periodo__gte=de, periodo__lte=ate)
    return condicao


def partes(inicio: date, fim: date) -> list[tuple[str, date, date]]:
    """[(grain, first period, last period)]: the months wholly inside at month grain, the days before and after
    them at day grain (at most three parts, whatever the length of the range)."""
    primeiro_mes = inicio if inicio.day == 1 else _mes_seguinte(inicio)
    fim_e_o_ultimo_dia = _mes_seguinte(fim) - timedelta(days=1) == fim
    ultimo_mes = fim.replace(day=1) if fim_e_o_ultimo_dia else (fim.replace(day=1) - timedelta(days=1)).replace(day=1)
    if primeiro_mes > ultimo_mes:  # no whole month inside
        return [(Grao.DIA, inicio, fim)] if inicio <= fim else []
    resultado = [(Grao.MES, primeiro_mes, ultimo_mes)]
    if inicio < primeiro_mes:
        resultado.append((Grao.DIA, inicio, primeiro_mes - timedelta(days=1)))
    depois_do_ultimo = _mes_seguinte(ultimo_mes)
    if depois_do_ultimo <= fim:
        resultado.append((Grao.DIA, depois_do_ultimo, fim))
    return resultado


def _mes_seguinte(dia: date) -> date:
    return (dia.replace(day=28) + timedelta(days=4)).replace(day=1)


def em_reais(centavos: int | None) -> Decimal:
    return Decimal(centavos).scaleb(-2) if centavos else ZERO


def do_periodo(modelo, organizacao, inicio: date, fim: date, *, por_dia: bool = False):
    """The rollup rows of `organizacao` that add up to the days from `inicio` to `fim`; `por_dia`: day rows only."""
    if not isinstance(organizacao, Organizacao) or organizacao.pk is None:
        raise TypeError(f"organização inválida para consultar {modelo.__name__}: {organizacao!r}")
    periodo = Q(grao=Grao.DIA, periodo__gte=inicio, periodo__lte=fim) if por_dia else no_periodo(inicio, fim)
    return modelo.objects.filter(periodo, organizacao=organizacao)


def somas(*colunas: str) -> dict:
    """quantidade and the sums of `colunas` (cents), to annotate a grouped rollup query."""
    return {"soma_quantidade": Sum("quantidade"), **{f"soma_{coluna}": Sum(coluna) for coluna in colunas}}


def lidas(linha: dict, **nomes: str) -> dict:
    """{"quantidade", <nome>: reais of column} from a row annotated with `somas` (nomes: nome -> column)."""
    return {"quantidade": linha["soma_quantidade"] or 0, **{nome: em_reais(linha[f"soma_{coluna}"]) for nome, coluna in nomes.items()}}
