"""NF-e items and their amounts: products, freight and discount shares, taxes.

Amounts are consistent: item values sum to the totals and vNF = vProd - vDesc + vFrete + vIPI.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from .comum import _CENTAVO, _ZERO, _dinheiro, _percentual

# (description, NCM, unit, min price, max price); a few accents on purpose to exercise UTF-8.
_PRODUTOS = (
    ("ARROZ TIPO 1 5KG", "10063021", "UN", 18, 35),
    ("FEIJÃO CARIOCA 1KG", "07133319", "UN", 6, 12),
    ("CAFÉ TORRADO E MOÍDO 500G", "09012100", "UN", 12, 30),
    ("OLEO DE SOJA 900ML", "15079011", "UN", 5, 10),
    ("PARAFUSO SEXTAVADO M8 X 30", "73181500", "CX", 20, 60),
    ("CABO FLEXIVEL 2,5MM 100M", "85444900", "RL", 150, 320),
    ("TINTA ACRILICA BRANCA 18L", "32091010", "GL", 180, 450),
    ("NOTEBOOK 15 POLEGADAS", "84713012", "UN", 2500, 6000),
    ("CADEIRA DE ESCRITORIO GIRATORIA", "94013000", "UN", 300, 1200),
    ("PAPEL SULFITE A4 500 FOLHAS", "48025610", "PCT", 20, 35),
    ("CIMENTO CP II 50KG", "25232910", "SC", 30, 45),
    ("DETERGENTE LIQUIDO 500ML", "34022000", "UN", 2, 5),
)


@dataclass
class _Item:
    codigo: str
    descricao: str
    ncm: str
    unidade: str
    ean: str
    quantidade: Decimal
    valor_unitario: Decimal
    valor: Decimal
    frete: Decimal = _ZERO
    desconto: Decimal = _ZERO
    base_icms: Decimal = _ZERO
    aliquota_icms: Decimal = _ZERO
    icms: Decimal = _ZERO
    aliquota_ipi: Decimal = _ZERO
    ipi: Decimal = _ZERO
    pis: Decimal = _ZERO
    cofins: Decimal = _ZERO


def _itens_nfe(rng, quantidade, nfce, id_destino, valor_frete, valor_desconto) -> list[_Item]:
    itens = [_item(rng) for _ in range(max(1, quantidade))]
    total = sum((i.valor for i in itens), _ZERO)
    if valor_frete is None:
        valor_frete = _ZERO if nfce or rng.random() < 0.5 else _dinheiro(rng, 15, 300)
    if valor_desconto is None:
        percentual = Decimal(rng.randint(1, 10)) if rng.random() < 0.3 else _ZERO
        valor_desconto = _percentual(total, percentual)
    _ratear(itens, "frete", Decimal(valor_frete), total)
    _ratear(itens, "desconto", Decimal(valor_desconto), total)
    aliquota_icms = Decimal({"1": "18.00", "2": "12.00", "3": "0.00"}[id_destino])
    for item in itens:
        _impostos_item(rng, item, aliquota_icms, com_ipi=not nfce and id_destino != "3")
    return itens


def _item(rng) -> _Item:
    indice = rng.randrange(len(_PRODUTOS))
    descricao, ncm, unidade, minimo, maximo = _PRODUTOS[indice]
    quantidade = Decimal(rng.randint(1, 40))
    valor_unitario = _dinheiro(rng, minimo, maximo)
    return _Item(f"{1000 + indice}", descricao, ncm, unidade, _ean(rng), quantidade, valor_unitario,
                 (quantidade * valor_unitario).quantize(_CENTAVO))  # fmt: skip


def _ratear(itens: list[_Item], campo: str, valor: Decimal, total: Decimal) -> None:
    # Proportional share rounded down; the last item takes the remainder, so the parts sum exactly.
    restante = valor
    for item in itens[:-1]:
        parte = (valor * item.valor / total).quantize(_CENTAVO, ROUND_DOWN)
        setattr(item, campo, parte)
        restante -= parte
    setattr(itens[-1], campo, restante)


def _impostos_item(rng, item: _Item, aliquota_icms: Decimal, com_ipi: bool) -> None:
    item.base_icms = item.valor + item.frete - item.desconto if aliquota_icms else _ZERO
    item.aliquota_icms = aliquota_icms
    item.icms = _percentual(item.base_icms, aliquota_icms)
    if com_ipi and rng.random() < 0.5:
        item.aliquota_ipi = Decimal(rng.choice(("5.00", "10.00", "15.00")))
        item.ipi = _percentual(item.valor, item.aliquota_ipi)
    base_pis = item.valor - item.desconto
    item.pis = _percentual(base_pis, Decimal("1.65"))
    item.cofins = _percentual(base_pis, Decimal("7.60"))


def _ean(rng) -> str:
    if rng.random() < 0.3:
        return "SEM GTIN"
    corpo = f"789{rng.randint(0, 10**9 - 1):09d}"
    soma = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(corpo))
    return corpo + str((10 - soma % 10) % 10)
