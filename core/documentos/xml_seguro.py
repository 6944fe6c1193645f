"""Parsing fiscal XML safely: no DTD, no entities, no network, libxml2's size and depth limits kept."""

from __future__ import annotations

import threading

from lxml import etree

from .entrada import EntradaInvalida

BOM_UTF8 = b"\xef\xbb\xbf"
BOMS_UTF16 = (b"\xff\xfe", b"\xfe\xff")

MOTIVO_DTD = "DTD/entidades não são permitidos"
_MARCAS_DOCTYPE = (b"<!DOCTYPE", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"))

_local = threading.local()


def _parser() -> etree.XMLParser:
    """One hardened parser per thread: lxml parsers must not be shared between threads at once."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,  # XXE and billion laughs: entities are never expanded
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,  # keeps libxml2's depth and text-size limits
            remove_comments=False,
            remove_blank_text=False,
        )
        _local.parser = parser
    return parser


def ler_xml(conteudo: bytes, nome: str = "") -> etree._Element:
    """Parse bytes (so the XML declaration picks the encoding) and refuse any DTD or entity."""
    conteudo = _sem_espacos_iniciais(conteudo)
    if not conteudo:
        raise EntradaInvalida(nome, "arquivo vazio")
    try:
        raiz = etree.fromstring(conteudo, _parser())
    except etree.XMLSyntaxError as exc:
        # libxml2 may itself abort an entity bomb; the user still gets the DTD message.
        motivo = MOTIVO_DTD if _tem_doctype(conteudo) else _motivo_sintaxe(conteudo, exc)
        raise EntradaInvalida(nome, motivo) from None
    docinfo = raiz.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise EntradaInvalida(nome, MOTIVO_DTD)
    return raiz


def _tem_doctype(conteudo: bytes) -> bool:
    return any(marca in conteudo for marca in _MARCAS_DOCTYPE)


def _sem_espacos_iniciais(conteudo: bytes) -> bytes:
    """Some emitters put blank lines before '<?xml', which libxml2 refuses; drop them (UTF-8 only)."""
    if conteudo[:1].isspace():
        return conteudo.lstrip()
    if conteudo.startswith(BOM_UTF8) and conteudo[3:4].isspace():
        return BOM_UTF8 + conteudo[3:].lstrip()
    return conteudo


def _motivo_sintaxe(conteudo: bytes, exc: etree.XMLSyntaxError) -> str:
    mensagem = exc.msg or str(exc)
    if b"\x00" in conteudo[:1024] and not conteudo.startswith(BOMS_UTF16):
        return f"não é XML (conteúdo binário): {mensagem}"
    inicio = conteudo[3:] if conteudo.startswith(BOM_UTF8) else conteudo
    if inicio.startswith(b"<") or conteudo.startswith(BOMS_UTF16):
        return f"não é XML válido (malformado ou truncado): {mensagem}"
    return f"não é XML: {mensagem}"
