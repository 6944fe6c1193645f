"""The tax reform's groups (IBS, CBS, IS): NF-e items and totals, CT-e and CT-e OS.

Element names and nesting follow the official schemas, never a guess:
- NF-e 4.00 with NT 2025.002-RTC (`leiauteNFe_v4.00.xsd`, `DFeTiposBasicos_v1.00.xsd` of PL_010):
  `det/imposto/IBSCBS` (TTribNFe), `det/imposto/IS` (TIS), `det/vItem`, `total/IBSCBSTot`
  (TIBSCBSMonoTot), `total/ISTot` (TISTot), `total/vNFTot`.
- CT-e 4.00 with NT 2025.001-RTC (`cteTiposBasico_v4.00.xsd`, PL_CTe_400): `infCte/imp/IBSCBS` (TTribCTe)
  and `imp/vTotDFe`; the same in CT-e OS.

The figures people sum and filter on become Decimal columns; the whole group is also kept as the XML has
it (`tributos_reforma`, strings keyed by schema name), so deferral, reduction, monophasic and presumed
credit details are there without a column each. A document without a group gets NULLs, never zeros.
"""

from __future__ import annotations


from lxml import etree

from .comum import Grupo

# (model field, path inside IBSCBS) for the NF-e item and the CT-e: the gIBSCBS alternative of the choice.
_CAMPOS_IBSCBS = (
    ("valor_bc_ibs_cbs", ("gIBSCBS", "vBC")),
    ("aliquota_ibs_uf", ("gIBSCBS", "gIBSUF", "pIBSUF")),
    ("valor_ibs_uf", ("gIBSCBS", "gIBSUF", "vIBSUF")),
    ("aliquota_ibs_mun", ("gIBSCBS", "gIBSMun", "pIBSMun")),
    ("valor_ibs_mun", ("gIBSCBS", "gIBSMun", "vIBSMun")),
    ("valor_ibs", ("gIBSCBS", "vIBS")),
    ("aliquota_cbs", ("gIBSCBS", "gCBS", "pCBS")),
    ("valor_cbs", ("gIBSCBS", "gCBS", "vCBS")),
)
_CAMPOS_IS = (
    ("valor_bc_is", ("vBCIS",)),
    ("aliquota_is", ("pIS",)),
    ("valor_is", ("vIS",)),
)
# total/IBSCBSTot (TIBSCBSMonoTot).
_CAMPOS_IBSCBS_TOT = (
    ("valor_bc_ibs_cbs", ("vBCIBSCBS",)),
    ("valor_ibs", ("gIBS", "vIBS")),
    ("valor_ibs_uf", ("gIBS", "gIBSUF", "vIBSUF")),
    ("valor_ibs_mun", ("gIBS", "gIBSMun", "vIBSMun")),
    ("valor_credito_presumido_ibs", ("gIBS", "vCredPres")),
    ("valor_cbs", ("gCBS", "vCBS")),
    ("valor_credito_presumido_cbs", ("gCBS", "vCredPres")),
)

CAMPOS_ITEM_NFE = (
    "valor_item", "cst_ibs_cbs", "classificacao_tributaria", *(c for c, _ in _CAMPOS_IBSCBS),
    "cst_is", "classificacao_tributaria_is", *(c for c, _ in _CAMPOS_IS), "tributos_reforma",
)  # fmt: skip
CAMPOS_TOTAL_NFE = ("valor_nf_tot", *(c for c, _ in _CAMPOS_IBSCBS_TOT), "valor_is", "tributos_reforma")
CAMPOS_CTE = (
    "cst_ibs_cbs", "classificacao_tributaria", *(c for c, _ in _CAMPOS_IBSCBS), "valor_total_dfe",
    "tributos_reforma",
)  # fmt: skip


def arvore(el: etree._Element) -> dict:
    """An element's children as {local name: text or nested dict}; a repeated name becomes a list."""
    resultado: dict = {}
    for filho in el:
        tag = filho.tag
        if not isinstance(tag, str):
            continue
        nome = tag[tag.rfind("}") + 1 :]  # nome_local, inlined: this runs for every element of every group
        valor = arvore(filho) if len(filho) else (filho.text or "").strip()
        if nome in resultado:
            anterior = resultado[nome]
            resultado[nome] = [*anterior, valor] if isinstance(anterior, list) else [anterior, valor]
        else:
            resultado[nome] = valor
    return resultado


def _valores(grupo: Grupo | None, campos) -> dict:
    """{field: the Decimal at its path, None when any step is absent}. Each subgroup on the paths is built
    once (eight fields share gIBSCBS): this ran for every item of every NF-e and was a third of reading one."""
    if grupo is None:
        return dict.fromkeys(campo for campo, _ in campos)
    grupos: dict[tuple[str, ...], Grupo | None] = {(): grupo}

    def subgrupo(caminho: tuple[str, ...]) -> Grupo | None:
        if caminho not in grupos:
            pai = subgrupo(caminho[:-1])
            grupos[caminho] = pai.grupo_opcional(caminho[-1]) if pai is not None else None
        return grupos[caminho]

    valores = {}
    for campo, caminho in campos:
        pai = subgrupo(caminho[:-1])
        valores[campo] = pai.decimal(caminho[-1]) if pai is not None and caminho[-1] in pai else None
    return valores


def tributos_do_item(det: Grupo) -> dict:
    """`det/vItem`, `det/imposto/IBSCBS` and `det/imposto/IS` as NFeItem fields."""
    imposto = det.grupo_opcional("imposto")
    ibscbs = imposto.grupo_opcional("IBSCBS") if imposto else None
    imposto_seletivo = imposto.grupo_opcional("IS") if imposto else None
    reforma = {}
    if ibscbs is not None:
        reforma["IBSCBS"] = arvore(ibscbs.el)
    if imposto_seletivo is not None:
        reforma["IS"] = arvore(imposto_seletivo.el)
    return {
        "valor_item": det.decimal("vItem") if "vItem" in det else None,
        "cst_ibs_cbs": ibscbs.texto("CST") if ibscbs else "",
        "classificacao_tributaria": ibscbs.texto("cClassTrib") if ibscbs else "",
        **_valores(ibscbs, _CAMPOS_IBSCBS),
        "cst_is": imposto_seletivo.texto("CSTIS") if imposto_seletivo else "",
        "classificacao_tributaria_is": imposto_seletivo.texto("cClassTribIS") if imposto_seletivo else "",
        **_valores(imposto_seletivo, _CAMPOS_IS),
        "tributos_reforma": reforma,
    }


def tributos_do_total(total: Grupo) -> dict:
    """`total/IBSCBSTot`, `total/ISTot` and `total/vNFTot` as NFe fields."""
    ibscbs = total.grupo_opcional("IBSCBSTot")
    imposto_seletivo = total.grupo_opcional("ISTot")
    reforma = {}
    if ibscbs is not None:
        reforma["IBSCBSTot"] = arvore(ibscbs.el)
    if imposto_seletivo is not None:
        reforma["ISTot"] = arvore(imposto_seletivo.el)
    if "vNFTot" in total:
        reforma["vNFTot"] = total.texto("vNFTot")
    return {
        "valor_nf_tot": total.decimal("vNFTot") if "vNFTot" in total else None,
        **_valores(ibscbs, _CAMPOS_IBSCBS_TOT),
        "valor_is": imposto_seletivo.decimal("vIS") if imposto_seletivo else None,
        "tributos_reforma": reforma,
    }


def tributos_do_cte(imp: Grupo | None) -> dict:
    """`imp/IBSCBS` and `imp/vTotDFe` of a CT-e or CT-e OS as CTe fields."""
    ibscbs = imp.grupo_opcional("IBSCBS") if imp else None
    reforma = {}
    if ibscbs is not None:
        reforma["IBSCBS"] = arvore(ibscbs.el)
    tem_total = imp is not None and "vTotDFe" in imp
    if tem_total:
        reforma["vTotDFe"] = imp.texto("vTotDFe")
    return {
        "cst_ibs_cbs": ibscbs.texto("CST") if ibscbs else "",
        "classificacao_tributaria": ibscbs.texto("cClassTrib") if ibscbs else "",
        **_valores(ibscbs, _CAMPOS_IBSCBS),
        "valor_total_dfe": imp.decimal("vTotDFe") if tem_total else None,
        "tributos_reforma": reforma,
    }
