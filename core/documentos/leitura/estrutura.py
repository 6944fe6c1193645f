"""The envelope of a fiscal XML, located once and strictly: which element is signed, which is the protocol.

Signature wrapping works by making the verifier and the reader look at different elements (two `NFe` in
one `nfeProc`: the first verified, the last read). Here every envelope is matched against the sequence its
schema allows, each element on the path must occur exactly once, and the reader and the verifier are
both handed the very node found here, never a re-lookup by tag.

Envelopes (root > document > signed element, protocol), from the official schemas:
- NF-e 4.00 (PL_010, `procNFe_v4.00.xsd`, `leiauteNFe_v4.00.xsd`): nfeProc > NFe > infNFe, protNFe.
- CT-e 4.00 (PL_CTe_400, `procCTe_v4.00.xsd`, `procCTeOS_v4.00.xsd`, `procGTVe_v4.00.xsd`,
  `procCTeSimp_v4.00.xsd`): cteProc > CTe, cteOSProc > CTeOS, GTVeProc > GTVe, cteSimpProc > CTeSimp,
  each > infCte, all four with protCTe.
- Events (`procEventoNFe_v1.00.xsd`, `procEventoCTe_v4.00.xsd`): procEventoNFe > evento > infEvento,
  retEvento; procEventoCTe > eventoCTe > infEvento, retEventoCTe.
- Old-layout cancellations (NF-e PL_006 `procCancNFe_v2.00.xsd`/`leiauteCancNFe_v2.00.xsd`; CT-e
  PL_CTe_200 `cancCTeTiposBasico_v2.00.xsd`): procCancNFe > cancNFe > infCanc, retCancNFe;
  procCancCTe > cancCTe > infCanc, retCancCTe; and the bare answers retCancNFe / retCancCTe.
- Distribution summaries (`resNFe_v1.01.xsd`, `resEvento_v1.01.xsd`): unsigned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from .comum import NS_CTE, NS_NFE, DocumentoIncompleto, DocumentoNaoSuportado

DS = "http://www.w3.org/2000/09/xmldsig#"


class EstruturaInvalida(DocumentoIncompleto):
    """The envelope holds more (or other) elements than its schema allows: never guess which one counts."""


@dataclass(frozen=True)
class Forma:
    """What one root may contain. `documento` is "" when the root itself is the signed document."""

    namespace: str
    documento: str | None  # child of the root that carries the signed element and its Signature
    assinado: str | None  # the signed element (infNFe, infCte, infEvento, infCanc)
    protocolo: tuple[str, ...] = ()  # the protocol child of the root (at most one occurrence)
    filhos_documento: frozenset[str] = frozenset()  # what the document element may hold besides Signature


_NFE_FILHOS = frozenset({"infNFe", "infNFeSupl"})
_CTE_FILHOS = frozenset({"infCte", "infCTeSupl"})
_EVENTO_FILHOS = frozenset({"infEvento"})
_CANC_FILHOS = frozenset({"infCanc"})
_PROT_CTE = ("protCTe",)

FORMAS: dict[str, Forma] = {
    "nfeProc": Forma(NS_NFE, "NFe", "infNFe", ("protNFe",), _NFE_FILHOS),
    "NFe": Forma(NS_NFE, "", "infNFe", (), _NFE_FILHOS),
    "cteProc": Forma(NS_CTE, "CTe", "infCte", _PROT_CTE, _CTE_FILHOS),
    "CTe": Forma(NS_CTE, "", "infCte", (), _CTE_FILHOS),
    "cteOSProc": Forma(NS_CTE, "CTeOS", "infCte", _PROT_CTE, _CTE_FILHOS),
    "CTeOS": Forma(NS_CTE, "", "infCte", (), _CTE_FILHOS),
    "GTVeProc": Forma(NS_CTE, "GTVe", "infCte", _PROT_CTE, _CTE_FILHOS),
    "GTVe": Forma(NS_CTE, "", "infCte", (), _CTE_FILHOS),
    "cteSimpProc": Forma(NS_CTE, "CTeSimp", "infCte", _PROT_CTE, _CTE_FILHOS),
    "CTeSimp": Forma(NS_CTE, "", "infCte", (), _CTE_FILHOS),
    "procEventoNFe": Forma(NS_NFE, "evento", "infEvento", ("retEvento",), _EVENTO_FILHOS),
    "procEventoCTe": Forma(NS_CTE, "eventoCTe", "infEvento", ("retEventoCTe",), _EVENTO_FILHOS),
    "procCancNFe": Forma(NS_NFE, "cancNFe", "infCanc", ("retCancNFe",), _CANC_FILHOS),
    "procCancCTe": Forma(NS_CTE, "cancCTe", "infCanc", ("retCancCTe",), _CANC_FILHOS),
    # SEFAZ's own answer about an old-layout cancellation; its Signature (SEFAZ's) is optional, which
    # core.documentos.preparacao checks: every other signed form requires one.
    "retCancNFe": Forma(NS_NFE, "", "infCanc", (), _CANC_FILHOS),
    "retCancCTe": Forma(NS_CTE, "", "infCanc", (), _CANC_FILHOS),
    "resNFe": Forma(NS_NFE, None, None),
    "resEvento": Forma(NS_NFE, None, None),
}
_POR_TAG = {f"{{{forma.namespace}}}{nome}": nome for nome, forma in FORMAS.items()}
_SIGNATURE = f"{{{DS}}}Signature"
# Every Id attribute of the file (measured ~7x faster than selecting elements by an Id value).
_IDS = etree.XPath("//@Id")


@dataclass(frozen=True)
class Estrutura:
    """The located parts of one fiscal XML. `assinado` is what the signature must cover and what is read."""

    tipo: str  # the root's local name: nfeProc, CTe, procEventoNFe...
    raiz: etree._Element
    documento: etree._Element | None  # NFe, CTe, evento, cancNFe... (the root for bare documents)
    assinado: etree._Element | None  # infNFe, infCte, infEvento, infCanc; None for summaries
    protocolo: etree._Element | None  # protNFe, protCTe, retEvento... as found, or None

    @property
    def assinatura(self) -> etree._Element | None:
        return None if self.documento is None else self.documento.find(_SIGNATURE)


def identificar(raiz: etree._Element) -> str:
    """The document type: a key of FORMAS, or DocumentoNaoSuportado naming what was expected."""
    tipo = _POR_TAG.get(raiz.tag)
    if tipo is not None:
        return tipo
    nome = etree.QName(raiz).localname if isinstance(raiz.tag, str) else str(raiz.tag)
    namespace = etree.QName(raiz).namespace if isinstance(raiz.tag, str) else None
    onde = f"no namespace {namespace}" if namespace else "sem namespace"
    forma = FORMAS.get(nome)
    if forma is not None:
        raise DocumentoNaoSuportado(
            f"raiz {nome} {onde} não é um documento fiscal suportado: esperado o namespace {forma.namespace}"
        )
    raise DocumentoNaoSuportado(
        f"raiz {nome} {onde} não é um documento fiscal suportado (esperado {', '.join(FORMAS)})"
    )


def localizar(raiz: etree._Element) -> Estrutura:
    """Match the envelope strictly; raise EstruturaInvalida naming the surplus or missing element."""
    tipo = identificar(raiz)
    forma = FORMAS[tipo]
    if forma.assinado is None:
        return Estrutura(tipo, raiz, None, None, None)
    ns = f"{{{forma.namespace}}}"
    if forma.documento:
        permitidos = {ns + forma.documento} | {ns + p for p in forma.protocolo}
        _so_filhos(raiz, tipo, permitidos)
        documento = _unico(raiz, ns + forma.documento, f"{tipo}/{forma.documento}", obrigatorio=True)
        (nome_protocolo,) = forma.protocolo
        protocolo = _unico(raiz, ns + nome_protocolo, f"{tipo}/{nome_protocolo}", obrigatorio=False)
    else:
        documento, protocolo = raiz, None
    caminho = f"{tipo}/{forma.documento}" if forma.documento else tipo
    _so_filhos(documento, caminho, {ns + nome for nome in forma.filhos_documento} | {_SIGNATURE})
    assinado = _unico(documento, ns + forma.assinado, f"{caminho}/{forma.assinado}", obrigatorio=True)
    assinaturas = documento.findall(_SIGNATURE)
    if len(assinaturas) > 1:
        raise EstruturaInvalida(f"{len(assinaturas)} assinaturas em {caminho}: o arquivo deve trazer uma só")
    _recusar_id_repetido(raiz, assinado, protocolo)
    return Estrutura(tipo, raiz, documento, assinado, protocolo)


def _so_filhos(elemento: etree._Element, caminho: str, permitidos: set[str]) -> None:
    for filho in elemento:
        if not isinstance(filho.tag, str):
            continue  # comments and processing instructions carry no data
        if filho.tag not in permitidos:
            nome = etree.QName(filho).localname
            raise EstruturaInvalida(f"elemento inesperado {nome} em {caminho}: o arquivo não segue o leiaute")


def _unico(pai: etree._Element, tag: str, caminho: str, *, obrigatorio: bool) -> etree._Element | None:
    encontrados = [filho for filho in pai if filho.tag == tag]
    if len(encontrados) > 1:
        raise EstruturaInvalida(
            f"{len(encontrados)} elementos {caminho}: o arquivo deve trazer um só documento"
        )
    if not encontrados:
        if obrigatorio:
            raise DocumentoIncompleto(f"elemento obrigatório ausente: {caminho}")
        return None
    return encontrados[0]


def _recusar_id_repetido(raiz: etree._Element, assinado: etree._Element, protocolo: etree._Element | None) -> None:
    """No other element anywhere in the file may carry the signed Id: `#Id` must name one element.

    The one tolerated twin is the protocol's own infProt, outside the signed document: some real CT-e OS
    protocols repeat the infCte Id there, and no Reference can reach it (it is not under the Signature's
    document, and the verifier never resolves URIs by search).
    """
    id_assinado = assinado.get("Id")
    if not id_assinado:
        return  # the verifier refuses it with its own message
    for valor in _IDS(raiz):
        if valor != id_assinado:
            continue
        elemento = valor.getparent()
        if elemento is assinado:
            continue
        if protocolo is not None and elemento.getparent() is protocolo:
            continue
        nome = etree.QName(elemento).localname
        raise EstruturaInvalida(f"Id {id_assinado} repetido (também em {nome}): o arquivo deve trazer um só")


# A DF-e kind this release does not know (a new model, a new envelope): its signed element is found from
# its one Signature, never by guessing a tag, and only under the same strict rules as the known ones.
_ASSINATURAS = etree.XPath("//ds:Signature", namespaces={"ds": DS})
_ID_COM_CHAVE = re.compile(r"^[A-Za-z]{2,6}(?P<chave>[0-9]{6}[0-9A-Z]{12}[0-9]{26})$")
_NAMESPACES_FISCAIS = frozenset({NS_NFE, NS_CTE})


def localizar_desconhecido(raiz: etree._Element, erro: DocumentoNaoSuportado) -> Estrutura:
    """The structure of an unknown signed DF-e of the nfe/cte namespaces, or `erro` again.

    Accepted only when the file holds exactly one Signature, whose one Reference names exactly one element
    of the file, a sibling of the Signature (the enveloped profile of every known DF-e), with an Id that is
    a prefix plus a 44-character chave. Its protocol, if any, is the root's child holding an infProt.
    """
    if not isinstance(raiz.tag, str) or etree.QName(raiz).namespace not in _NAMESPACES_FISCAIS:
        raise erro
    assinaturas = _ASSINATURAS(raiz)
    if len(assinaturas) != 1:
        raise erro
    assinatura = assinaturas[0]
    referencias = assinatura.findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
    uri = referencias[0].get("URI", "") if len(referencias) == 1 else ""
    if not uri.startswith("#") or not _ID_COM_CHAVE.match(uri[1:]):
        raise erro
    com_id = [valor.getparent() for valor in _IDS(raiz) if valor == uri[1:]]
    documento = assinatura.getparent()
    if len(com_id) != 1 or com_id[0].getparent() is not documento:
        raise erro
    tipo = etree.QName(raiz).localname
    protocolos = [filho for filho in raiz if isinstance(filho.tag, str) and filho.find("{*}infProt") is not None]
    if len(protocolos) > 1:
        raise EstruturaInvalida(f"mais de um protocolo em {tipo}: o arquivo deve trazer um só")
    return Estrutura(tipo, raiz, documento, com_id[0], protocolos[0] if protocolos else None)


def chave_do_assinado(assinado: etree._Element) -> str:
    correspondencia = _ID_COM_CHAVE.match(assinado.get("Id") or "")
    if correspondencia is None:
        raise DocumentoIncompleto(f"Id {assinado.get('Id')!r} não traz uma chave de acesso")
    return correspondencia["chave"]
