"""Reading the rollups: a date range as rows of whole months plus edge days, and cents back into reais."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import BigIntegerField, Case, F, Q, QuerySet, Sum, Value, When

from core.models import Organizacao
from core.models.agregados import Grao

ZERO = Decimal("0.00")


def partes(inicio: date, fim: date) -> list[tuple[str, date, date, int]]:
    """[(grain, first period, last period, sign)] whose signed sum is exactly the days from `inicio` to `fim`.

    The months inside are read at month grain. A month the range covers only in part is read as its days,
    or, when the range holds more than half of it, as the month minus the days outside: a range of a year
    ending today reads twelve month rows and at most about fifteen days at each edge, instead of up to thirty.
    """
    primeiro, ultimo = inicio.replace(day=1), fim.replace(day=1)
    if primeiro == ultimo:
        return _um_mes(inicio, fim)
    meses_de, meses_ate = _mes_seguinte(primeiro), (ultimo - timedelta(days=1)).replace(day=1)
    antes, depois = _um_mes(inicio, _mes_seguinte(primeiro) - timedelta(days=1)), _um_mes(ultimo, fim)
    resultado = []
    if antes[0][0] == Grao.MES:
        meses_de = primeiro
        antes = antes[1:]
    if depois[0][0] == Grao.MES:
        meses_ate = ultimo
        depois = depois[1:]
    if meses_de <= meses_ate:
        resultado.append((Grao.MES, meses_de, meses_ate, 1))
    return resultado + antes + depois


def _um_mes(inicio: date, fim: date) -> list[tuple[str, date, date, int]]:
    """Days `inicio`..`fim` of one month: as days, or as the month minus the days outside, whichever is fewer."""
    mes, ultimo_dia = inicio.replace(day=1), _mes_seguinte(inicio) - timedelta(days=1)
    dentro, fora = (fim - inicio).days + 1, (ultimo_dia - mes).days + 1 - ((fim - inicio).days + 1)
    if fora >= dentro:
        return [(Grao.DIA, inicio, fim, 1)]
    resultado = [(Grao.MES, mes, mes, 1)]
    if inicio > mes:
        resultado.append((Grao.DIA, mes, inicio - timedelta(days=1), -1))
    if fim < ultimo_dia:
        resultado.append((Grao.DIA, fim + timedelta(days=1), ultimo_dia, -1))
    return resultado


def _mes_seguinte(dia: date) -> date:
    return (dia.replace(day=28) + timedelta(days=4)).replace(day=1)


def em_reais(centavos: int | None) -> Decimal:
    return Decimal(centavos).scaleb(-2) if centavos else ZERO


@dataclass(frozen=True)
class Periodo:
    """The rollup rows of one organization that add up to a date range, and how to sum them: the rows of the
    days subtracted from a month (`partes`) count negatively."""

    linhas: QuerySet
    negativas: Q | None

    def soma(self, coluna: str) -> Sum:
        if self.negativas is None:
            return Sum(coluna)
        sinal = Case(When(self.negativas, then=Value(-1)), default=Value(1), output_field=BigIntegerField())
        return Sum(F(coluna) * sinal, output_field=BigIntegerField())

    def somas(self, *colunas: str) -> dict:
        """quantidade and the sums of `colunas` (cents), to annotate a grouped query of `linhas`."""
        return {"soma_quantidade": self.soma("quantidade"), **{f"soma_{coluna}": self.soma(coluna) for coluna in colunas}}

    def filter(self, *args, **kwargs) -> Periodo:
        return Periodo(self.linhas.filter(*args, **kwargs), self.negativas)


def do_periodo(modelo, organizacao, inicio: date, fim: date, *, por_dia: bool = False) -> Periodo:
    """The rollup rows of `organizacao` for the days from `inicio` to `fim`; `por_dia`: day rows only (each day
    its own row: a daily series)."""
    if not isinstance(organizacao, Organizacao) or organizacao.pk is None:
        raise TypeError(f"organização inválida para consultar {modelo.__name__}: {organizacao!r}")
    pedacos = [(Grao.DIA, inicio, fim, 1)] if por_dia else partes(inicio, fim)
    condicao, negativas = Q(pk__in=[]), None
    for grao, de, ate, sinal in pedacos:
        pedaco = Q(grao=grao, periodo__gte=de, periodo__lte=ate)
        condicao |= pedaco
        if sinal < 0:
            negativas = pedaco if negativas is None else negativas | pedaco
    return Periodo(modelo.objects.filter(condicao, organizacao=organizacao), negativas)


def lidas(linha: dict, **nomes: str) -> dict:
    """{"quantidade", <nome>: reais of column} from a row annotated with `somas` (nomes: nome -> column)."""
    return {"quantidade": linha["soma_quantidade"] or 0, **{nome: em_reais(linha[f"soma_{coluna}"]) for nome, coluna in nomes.items()}}
