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

from .comum import DocumentoIncompleto, Grupo, decimal_em

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
    """An element's children as {local name: text or nested dict}; a repeated name becomes a list.

    A child outside its parent's namespace (schema-invalid) keeps its full {uri}name, so no lookup by a
    schema name finds it, as `Grupo` would not."""
    tag = el.tag
    return _arvore(el, tag[: tag.rfind("}") + 1])


def _arvore(el: etree._Element, ns: str) -> dict:
    resultado: dict = {}
    corte = len(ns)
    for filho in el:
        tag = filho.tag
        if not isinstance(tag, str):
            continue
        # nome_local, inlined: this runs for every element of every group
        nome = tag[corte:] if tag.startswith(ns) and tag.find("}", corte) < 0 else tag
        valor = _arvore(filho, ns) if len(filho) else (filho.text or "").strip()
        if nome in resultado:
            anterior = resultado[nome]
            resultado[nome] = [*anterior, valor] if isinstance(anterior, list) else [anterior, valor]
        else:
            resultado[nome] = valor
    return resultado


def _no(grupo: dict, base: str, caminho: tuple[str, ...]):
    """The text or subtree at `caminho` inside a group's `arvore`; None when a step is absent (or a step that
    should be a group is a leaf). A repeated step makes "which one counts" a guess: refused, as `Grupo` does."""
    no = grupo
    for passo, nome in enumerate(caminho):
        if not isinstance(no, dict):
            return None
        no = no.get(nome)
        if no is None:
            return None
        if isinstance(no, list):
            raise DocumentoIncompleto(f"elemento repetido: {base}/{'/'.join(caminho[: passo + 1])} aparece mais de uma vez")
    return no


def _texto(grupo: dict, base: str, nome: str) -> str:
    valor = _no(grupo, base, (nome,))
    if valor is None:
        raise DocumentoIncompleto(f"elemento obrigatório ausente: {base}/{nome}")
    return valor if isinstance(valor, str) else ""


def _decimal(grupo: dict, base: str, nome: str):
    return decimal_em(f"{base}/{nome}", _texto(grupo, base, nome))


def _valores(grupo: dict | None, base: str, campos) -> dict:
    """{field: the Decimal at its path, None when any step is absent}, read from the group's `arvore`
    (built anyway for `tributos_reforma`): building a `Grupo` per subgroup instead was a third of reading
    an NF-e with the reform's groups."""
    if grupo is None:
        return dict.fromkeys(campo for campo, _ in campos)
    valores = {}
    for campo, caminho in campos:
        valor = _no(grupo, base, caminho)
        if valor is not None:
            valor = decimal_em(f"{base}/{'/'.join(caminho)}", valor if isinstance(valor, str) else "")
        valores[campo] = valor
    return valores


def tributos_do_item(det: Grupo) -> dict:
    """`det/vItem`, `det/imposto/IBSCBS` and `det/imposto/IS` as NFeItem fields."""
    imposto = det.grupo_opcional("imposto")
    reforma = _grupos(imposto, ("IBSCBS", "IS"))
    ibscbs, imposto_seletivo = reforma.get("IBSCBS"), reforma.get("IS")
    base = f"{imposto.caminho}/IBSCBS" if imposto else ""
    base_is = f"{imposto.caminho}/IS" if imposto else ""
    return {
        "valor_item": det.decimal("vItem") if "vItem" in det else None,
        "cst_ibs_cbs": _texto(ibscbs, base, "CST") if ibscbs is not None else "",
        "classificacao_tributaria": _texto(ibscbs, base, "cClassTrib") if ibscbs is not None else "",
        **_valores(ibscbs, base, _CAMPOS_IBSCBS),
        "cst_is": _texto(imposto_seletivo, base_is, "CSTIS") if imposto_seletivo is not None else "",
        "classificacao_tributaria_is": _texto(imposto_seletivo, base_is, "cClassTribIS") if imposto_seletivo is not None else "",
        **_valores(imposto_seletivo, base_is, _CAMPOS_IS),
        "tributos_reforma": reforma,
    }


def _grupos(pai: Grupo | None, nomes: tuple[str, ...]) -> dict:
    """{name: arvore} of the groups `nomes` present under `pai` (each looked up as `Grupo` does: a repeated
    one is refused); an element that is a leaf here (schema-invalid) counts as an empty group."""
    if pai is None:
        return {}
    grupos = {}
    for nome in nomes:
        el = pai.elemento_opcional(nome)
        if el is not None:
            grupos[nome] = arvore(el)
    return grupos


def tributos_do_total(total: Grupo) -> dict:
    """`total/IBSCBSTot`, `total/ISTot` and `total/vNFTot` as NFe fields."""
    reforma = _grupos(total, ("IBSCBSTot", "ISTot"))
    ibscbs, imposto_seletivo = reforma.get("IBSCBSTot"), reforma.get("ISTot")
    if "vNFTot" in total:
        reforma["vNFTot"] = total.texto("vNFTot")
    return {
        "valor_nf_tot": total.decimal("vNFTot") if "vNFTot" in total else None,
        **_valores(ibscbs, f"{total.caminho}/IBSCBSTot", _CAMPOS_IBSCBS_TOT),
        "valor_is": _decimal(imposto_seletivo, f"{total.caminho}/ISTot", "vIS") if imposto_seletivo is not None else None,
        "tributos_reforma": reforma,
    }


def tributos_do_cte(imp: Grupo | None) -> dict:
    """`imp/IBSCBS` and `imp/vTotDFe` of a CT-e or CT-e OS as CTe fields."""
    reforma = _grupos(imp, ("IBSCBS",))
    ibscbs = reforma.get("IBSCBS")
    base = f"{imp.caminho}/IBSCBS" if imp else ""
    tem_total = imp is not None and "vTotDFe" in imp
    if tem_total:
        reforma["vTotDFe"] = imp.texto("vTotDFe")
    return {
        "cst_ibs_cbs": _texto(ibscbs, base, "CST") if ibscbs is not None else "",
        "classificacao_tributaria": _texto(ibscbs, base, "cClassTrib") if ibscbs is not None else "",
        **_valores(ibscbs, base, _CAMPOS_IBSCBS),
        "valor_total_dfe": imp.decimal("vTotDFe") if tem_total else None,
        "tributos_reforma": reforma,
    }
