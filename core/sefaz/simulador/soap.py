"""SOAP 1.1 and 1.2 envelopes as the .asmx services of the Ambiente Nacional take and give them.

Both bindings exist at the AN (its WSDLs declare both): SOAP 1.1 is ``text/xml`` with a ``SOAPAction`` header
(required: servers fault without it, nfewizard-io#97); SOAP 1.2 is ``application/soap+xml`` with an
optional ``action`` parameter (PyNFe sends none and the AN accepts it). The answer uses the caller's
version. Anything that is not a well-formed envelope of the expected operation is a SOAP Fault (HTTP 500).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from lxml import etree

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
_TIPOS = {"text/xml": SOAP11, "application/soap+xml": SOAP12}
_CONTENT_TYPE = {SOAP11: "text/xml; charset=utf-8", SOAP12: "application/soap+xml; charset=utf-8"}
_DECLARACAO = b'<?xml version="1.0" encoding="utf-8"?>'
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True)
class Operacao:
    """One service: where its data message sits in the request and where the answer goes."""

    servico: str  # "nfe", "cte" or "evento"
    ns: str  # the WSDL namespace
    acao: str  # the soapAction
    entrada: str  # the Body's child
    dados: str | None  # the child of `entrada` holding the data message (None: `entrada` holds it)
    saida: str  # the answer Body's child
    resultado: str | None  # the child of `saida` holding the answer (None: `saida` holds it)


_NFE = "http://www.portalfiscal.inf.br/nfe/wsdl/NFeDistribuicaoDFe"
_CTE = "http://www.portalfiscal.inf.br/cte/wsdl/CTeDistribuicaoDFe"
_EVENTO = "http://www.portalfiscal.inf.br/nfe/wsdl/NFeRecepcaoEvento4"
OPERACOES = {
    "nfe": Operacao("nfe", _NFE, f"{_NFE}/nfeDistDFeInteresse", "nfeDistDFeInteresse", "nfeDadosMsg",
                    "nfeDistDFeInteresseResponse", "nfeDistDFeInteresseResult"),
    "cte": Operacao("cte", _CTE, f"{_CTE}/cteDistDFeInteresse", "cteDistDFeInteresse", "cteDadosMsg",
                    "cteDistDFeInteresseResponse", "cteDistDFeInteresseResult"),
    "evento": Operacao("evento", _EVENTO, f"{_EVENTO}/nfeRecepcaoEvento", "nfeDadosMsg", None, "nfeResultMsg", None),
}  # fmt: skip


class FalhaSoap(Exception):
    """The request cannot be served: answered with a SOAP Fault in ``versao``."""

    def __init__(self, mensagem: str, versao: str = SOAP12, *, do_cliente: bool = True):
        super().__init__(mensagem)
        self.mensagem, self.versao, self.do_cliente = mensagem, versao, do_cliente


@dataclass(frozen=True)
class Pedido:
    versao: str  # SOAP11 or SOAP12
    dados: etree._Element | None  # the data message (distDFeInt, envEvento), detached from the envelope


def versao_do_pedido(content_type: str | None) -> str | None:
    tipo, _ = _content_type(content_type)
    return _TIPOS.get(tipo)


def ler_pedido(operacao: Operacao, corpo: bytes, content_type: str | None, soap_action: str | None) -> Pedido:
    tipo, parametros = _content_type(content_type)
    versao = _TIPOS.get(tipo)
    if versao is None:
        raise FalhaSoap(f"Content-Type nao suportado: {tipo or '(ausente)'}", SOAP11)
    acao = (soap_action or "").strip().strip('"') if versao == SOAP11 else parametros.get("action", "")
    if versao == SOAP11 and not acao:
        raise FalhaSoap("Server did not recognize the value of HTTP Header SOAPAction: .", versao)
    if acao and acao != operacao.acao:
        raise FalhaSoap(f"Server did not recognize the value of HTTP Header SOAPAction: {acao}.", versao)
    entrada = _entrada(operacao, _envelope(corpo, versao), versao)
    recipiente = entrada if operacao.dados is None else entrada.find(f"{{{operacao.ns}}}{operacao.dados}")
    dados = None if recipiente is None else next(iter(_filhos(recipiente)), None)
    return Pedido(versao, destacar(dados) if dados is not None else None)


def montar_resposta(operacao: Operacao, versao: str, conteudo: etree._Element) -> bytes:
    envelope = etree.Element(f"{{{versao}}}Envelope", nsmap={"soap": versao})
    corpo = etree.SubElement(envelope, f"{{{versao}}}Body")
    saida = etree.SubElement(corpo, f"{{{operacao.ns}}}{operacao.saida}", nsmap={None: operacao.ns})
    if operacao.resultado:
        saida = etree.SubElement(saida, f"{{{operacao.ns}}}{operacao.resultado}")
    saida.append(conteudo)
    return _DECLARACAO + etree.tostring(envelope, encoding="utf-8")


def montar_falha(versao: str, mensagem: str, *, do_cliente: bool = True) -> bytes:
    envelope = etree.Element(f"{{{versao}}}Envelope", nsmap={"soap": versao})
    falha = etree.SubElement(etree.SubElement(envelope, f"{{{versao}}}Body"), f"{{{versao}}}Fault")
    if versao == SOAP11:
        etree.SubElement(falha, "faultcode").text = "soap:Client" if do_cliente else "soap:Server"
        etree.SubElement(falha, "faultstring").text = mensagem
    else:
        codigo = etree.SubElement(etree.SubElement(falha, f"{{{versao}}}Code"), f"{{{versao}}}Value")
        codigo.text = "soap:Sender" if do_cliente else "soap:Receiver"
        texto = etree.SubElement(etree.SubElement(falha, f"{{{versao}}}Reason"), f"{{{versao}}}Text")
        texto.set("{http://www.w3.org/XML/1998/namespace}lang", "pt-BR")
        texto.text = mensagem
    return _DECLARACAO + etree.tostring(envelope, encoding="utf-8")


def content_type(versao: str) -> str:
    return _CONTENT_TYPE[versao]


def destacar(elemento: etree._Element) -> etree._Element:
    """The data message as a standalone document, without the envelope's namespace declarations.

    SEFAZ verifies signatures over the data message alone. A copy of an element keeps every namespace
    in scope (soap:, the WSDL's), and inclusive C14N would then put them into the signed infEvento and
    change its digest; so the declarations inherited from the envelope are dropped when unused.
    """
    proprios = {prefixo for no in elemento.iter() if isinstance(no.tag, str) for prefixo in _declarados(no)}
    copia = copy.deepcopy(elemento)
    etree.cleanup_namespaces(copia, keep_ns_prefixes=[prefixo for prefixo in proprios if prefixo])
    return etree.fromstring(etree.tostring(copia), _PARSER)


def _declarados(no: etree._Element) -> set[str | None]:
    """Prefixes declared on ``no`` itself (lxml's nsmap also lists the inherited ones)."""
    pai = no.getparent()
    herdados = set(pai.nsmap.items()) if pai is not None else set()
    return {prefixo for prefixo, uri in no.nsmap.items() if (prefixo, uri) not in herdados}


def _envelope(corpo: bytes, versao: str) -> etree._Element:
    try:
        raiz = etree.fromstring(corpo, _PARSER)
    except etree.XMLSyntaxError as erro:
        raise FalhaSoap(f"XML mal formado: {erro}", versao) from None
    if raiz.getroottree().docinfo.doctype:
        raise FalhaSoap("DTD nao permitido", versao)
    if raiz.tag not in (f"{{{SOAP11}}}Envelope", f"{{{SOAP12}}}Envelope"):
        raise FalhaSoap("a mensagem nao e um envelope SOAP", versao)
    if raiz.tag != f"{{{versao}}}Envelope":
        raise FalhaSoap("VersionMismatch: envelope de outra versao SOAP que a do Content-Type", versao)
    return raiz


def _entrada(operacao: Operacao, envelope: etree._Element, versao: str) -> etree._Element:
    corpo = envelope.find(f"{{{versao}}}Body")
    filhos = _filhos(corpo) if corpo is not None else []
    if len(filhos) != 1 or filhos[0].tag != f"{{{operacao.ns}}}{operacao.entrada}":
        nome = etree.QName(filhos[0]).text if filhos else "(vazio)"
        raise FalhaSoap(f"Body deve conter {{{operacao.ns}}}{operacao.entrada}, recebido {nome}", versao)
    return filhos[0]


def _filhos(elemento: etree._Element) -> list[etree._Element]:
    return [filho for filho in elemento if isinstance(filho.tag, str)]


def _content_type(valor: str | None) -> tuple[str, dict[str, str]]:
    partes = [parte.strip() for parte in (valor or "").split(";")]
    parametros = {}
    for parte in partes[1:]:
        nome, _, conteudo = parte.partition("=")
        parametros[nome.strip().lower()] = conteudo.strip().strip('"')
    return partes[0].lower(), parametros
