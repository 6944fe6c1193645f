"""A date range read from the rollups adds up to each of its days exactly once (days subtracted from a month
count negatively), with few rows at the edges."""

import random
from collections import Counter
from datetime import date, timedelta

from core.agregados.leitura import partes
from core.models import Grao


def _dias(grao, de, ate) -> list[date]:
    if grao == Grao.DIA:
        return [de + timedelta(days=n) for n in range((ate - de).days + 1)]
    dias, mes = [], de
    while mes <= ate:
        assert mes.day == 1
        seguinte = (mes.replace(day=28) + timedelta(days=4)).replace(day=1)
        dias += [mes + timedelta(days=n) for n in range((seguinte - mes).days)]
        mes = seguinte
    return dias


def test_every_day_of_a_range_is_covered_exactly_once():
    rng = random.Random(16)
    casos = [
        (date(2026, 1, 1), date(2026, 12, 31)), (date(2025, 12, 8), date(2026, 12, 7)), (date(2026, 2, 28), date(2026, 3, 1)),
        (date(2024, 2, 1), date(2024, 2, 29)), (date(2026, 3, 5), date(2026, 3, 5)), (date(1900, 1, 1), date(2999, 12, 31)),
    ]  # fmt: skip
    for _ in range(2000):
        inicio = date(2024, 1, 1) + timedelta(days=rng.randint(0, 900))
        casos.append((inicio, inicio + timedelta(days=rng.randint(0, 500))))
    for inicio, fim in casos:
        pedacos = partes(inicio, fim)
        contagem = Counter()
        for grao, de, ate, sinal in pedacos:
            for dia in _dias(grao, de, ate):
                contagem[dia] += sinal
        dias = {inicio + timedelta(days=n) for n in range((fim - inicio).days + 1)}
        assert {dia for dia, vezes in contagem.items() if vezes} == dias, (inicio, fim)
        assert set(contagem.values()) <= {0, 1}, (inicio, fim)
        # never more than half a month of day rows at each edge
        assert sum((ate - de).days + 1 for grao, de, ate, _ in pedacos if grao == Grao.DIA) <= 2 * 16, (inicio, fim)


def test_a_range_of_whole_months_reads_only_month_rows():
    assert partes(date(2026, 1, 1), date(2026, 12, 31)) == [(Grao.MES, date(2026, 1, 1), date(2026, 12, 1), 1)]
    assert partes(date(2026, 3, 2), date(2026, 3, 5)) == [(Grao.DIA, date(2026, 3, 2), date(2026, 3, 5), 1)]
    # a year ending on the 7th: twelve months, the 7 days before the start subtracted, the 7 days of this month
    assert partes(date(2025, 12, 8), date(2026, 12, 7)) == [
        (Grao.MES, date(2025, 12, 1), date(2026, 11, 1), 1),
        (Grao.DIA, date(2025, 12, 1), date(2025, 12, 7), -1),
        (Grao.DIA, date(2026, 12, 1), date(2026, 12, 7), 1),
    ]
