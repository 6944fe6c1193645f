"""The tax reform's groups for generated documents: IBS/CBS per NF-e item and per CT-e, IS, and the totals.

Element names and order follow the official schemas (PL_010 `DFeTiposBasicos_v1.00.xsd`: TCIBS, TTribNFe,
TIS, TIBSCBSMonoTot, TISTot; PL_CTe_400 TTribCTe). Rates: 2026 is the test year of LC 214/2025
(CBS 0.9%, IBS 0.1%) and the taxes are not added to the document's total (NT 2025.002-RTC for vItem and
vNFTot, NT 2025.001-RTC for vTotDFe); from 2027 the generator uses illustrative rates and adds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from lxml import etree

from .comum import _ZERO, _campos, _percentual, _v


@dataclass(frozen=True)
class Aliquotas:
    ibs_uf: Decimal
    ibs_mun: Decimal
    cbs: Decimal
    por_fora: bool  # the taxes are added to vItem / vNFTot / vTotDFe


def aliquotas_do_ano(ano: int) -> Aliquotas:
    if ano <= 2026:
        return Aliquotas(Decimal("0.10"), Decimal("0.00"), Decimal("0.90"), por_fora=False)
    return Aliquotas(Decimal("0.05"), Decimal("0.05"), Decimal("8.80"), por_fora=True)


@dataclass
class ValoresIBSCBS:
    base: Decimal = _ZERO
    ibs_uf: Decimal = _ZERO
    ibs_mun: Decimal = _ZERO
    cbs: Decimal = _ZERO
    imposto_seletivo: Decimal = _ZERO

    @property
    def ibs(self) -> Decimal:
        return self.ibs_uf + self.ibs_mun


@dataclass
class TotaisReforma:
    itens: list[ValoresIBSCBS] = field(default_factory=list)

    def soma(self, campo: str) -> Decimal:
        return sum((getattr(v, campo) for v in self.itens), _ZERO)


def grupo_ibscbs(pai, ns: str, base: Decimal, aliquotas: Aliquotas, *, cst: str = "000",
                 classificacao: str = "000001") -> ValoresIBSCBS:  # fmt: skip
    """`IBSCBS` (TTribNFe / TTribCTe) with the gIBSCBS alternative under `pai`."""
    valores = ValoresIBSCBS(
        base=base,
        ibs_uf=_percentual(base, aliquotas.ibs_uf),
        ibs_mun=_percentual(base, aliquotas.ibs_mun),
        cbs=_percentual(base, aliquotas.cbs),
    )
    ibscbs = etree.SubElement(pai, ns + "IBSCBS")
    _campos(ibscbs, ns, [("CST", cst), ("cClassTrib", classificacao)])
    g = etree.SubElement(ibscbs, ns + "gIBSCBS")
    _campos(g, ns, [("vBC", _v(base))])
    _campos(etree.SubElement(g, ns + "gIBSUF"), ns, [("pIBSUF", _v(aliquotas.ibs_uf)), ("vIBSUF", _v(valores.ibs_uf))])
    _campos(etree.SubElement(g, ns + "gIBSMun"), ns, [
        ("pIBSMun", _v(aliquotas.ibs_mun)), ("vIBSMun", _v(valores.ibs_mun)),
    ])  # fmt: skip
    _campos(g, ns, [("vIBS", _v(valores.ibs))])
    _campos(etree.SubElement(g, ns + "gCBS"), ns, [("pCBS", _v(aliquotas.cbs)), ("vCBS", _v(valores.cbs))])
    return valores


def grupo_imposto_seletivo(imposto, ns: str, base: Decimal, quantidade: Decimal, unidade: str) -> Decimal:
    """`IS` (TIS): an illustrative 10% selective tax on the item."""
    aliquota = Decimal("10.00")
    valor = _percentual(base, aliquota)
    _campos(etree.SubElement(imposto, ns + "IS"), ns, [
        ("CSTIS", "000"), ("cClassTribIS", "000001"), ("vBCIS", _v(base)), ("pIS", _v(aliquota)),
        ("uTrib", unidade), ("qTrib", f"{quantidade:.4f}"), ("vIS", _v(valor)),
    ])  # fmt: skip
    return valor


def totais_nfe(total, ns: str, totais: TotaisReforma, valor_nf_tot: Decimal) -> None:
    """`ISTot`, `IBSCBSTot` (TIBSCBSMonoTot: gIBS and gCBS) and `vNFTot`, after ICMSTot."""
    imposto_seletivo = totais.soma("imposto_seletivo")
    if imposto_seletivo:
        _campos(etree.SubElement(total, ns + "ISTot"), ns, [("vIS", _v(imposto_seletivo))])
    tot = etree.SubElement(total, ns + "IBSCBSTot")
    _campos(tot, ns, [("vBCIBSCBS", _v(totais.soma("base")))])
    g_ibs = etree.SubElement(tot, ns + "gIBS")
    _campos(etree.SubElement(g_ibs, ns + "gIBSUF"), ns, [
        ("vDif", "0.00"), ("vDevTrib", "0.00"), ("vIBSUF", _v(totais.soma("ibs_uf"))),
    ])  # fmt: skip
    _campos(etree.SubElement(g_ibs, ns + "gIBSMun"), ns, [
        ("vDif", "0.00"), ("vDevTrib", "0.00"), ("vIBSMun", _v(totais.soma("ibs_mun"))),
    ])  # fmt: skip
    _campos(g_ibs, ns, [
        ("vIBS", _v(totais.soma("ibs_uf") + totais.soma("ibs_mun"))), ("vCredPres", "0.00"),
        ("vCredPresCondSus", "0.00"),
    ])  # fmt: skip
    _campos(etree.SubElement(tot, ns + "gCBS"), ns, [
        ("vDif", "0.00"), ("vDevTrib", "0.00"), ("vCBS", _v(totais.soma("cbs"))), ("vCredPres", "0.00"),
        ("vCredPresCondSus", "0.00"),
    ])  # fmt: skip
    _campos(total, ns, [("vNFTot", _v(valor_nf_tot))])
