"""DANFE, DANFC-e and DACTE as PDF, rendered with brazilfiscalreport from the original XML.

brazilfiscalreport draws with fpdf2's core fonts, which only know Latin-1: a C1 control character
(a cp1252 quote mis-decoded as U+0093 is common in real files) or an emoji in any text field makes
it raise. So every text is sanitised first. Whatever still fails becomes one ErroPDF
with a Portuguese message, never a 500.

Rendering takes 0.1-1.7 s and its result depends only on the XML bytes (and the cancelled
watermark), so `danfe_do_documento()` / `dacte_do_documento()` cache it by the XML's SHA-256.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import warnings
import zlib
from collections.abc import Callable

import brazilfiscalreport
from django.conf import settings
from django.core.cache import cache
from lxml import etree

from core.models import Situacao

from .entrada import EntradaInvalida
from .xml_seguro import ler_xml

logger = logging.getLogger(__name__)

NS_NFE = "{http://www.portalfiscal.inf.br/nfe}"
NS_CTE = "{http://www.portalfiscal.inf.br/cte}"

# C0 controls except tab, line feed and carriage return; DEL; C1 controls.
_CONTROLES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Typographic characters outside Latin-1 that have an obvious plain equivalent.
_EQUIVALENTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2022": "-", "\u2026": "...", "\u20ac": "EUR", "\u2122": "TM", "\u00a0": " ", "\u2009": " ",
    "\u200b": "", "\ufeff": "",
})  # fmt: skip


class ErroPDF(Exception):
    """The PDF could not be produced; `str()` is a message for people, in Portuguese."""


class SemXMLCompleto(ErroPDF):
    """The document is only a summary (resNFe): there is nothing to print."""


# -------------------------------------------------------------------------------------- rendering


def renderizar_danfe(xml: bytes, *, cancelada: bool = False) -> bytes:
    """The DANFE of an NF-e (modelo 55) or the DANFC-e of an NFC-e (modelo 65)."""
    raiz = _ler(xml, "DANFE")
    inf = raiz.find(f".//{NS_NFE}infNFe")
    if inf is None:
        raise ErroPDF(_sem_documento_completo(raiz, "a NF-e completa", "DANFE"))
    modelo = inf.findtext(f"{NS_NFE}ide/{NS_NFE}mod")
    if modelo == "65":
        from brazilfiscalreport.danfce import Danfce, DanfceConfig

        return _gerar("DANFC-e", Danfce, DanfceConfig(watermark_cancelled=cancelada), raiz)
    from brazilfiscalreport.danfe import Danfe, DanfeConfig

    return _gerar("DANFE", Danfe, DanfeConfig(watermark_cancelled=cancelada), raiz)


def renderizar_dacte(xml: bytes, *, cancelada: bool = False) -> bytes:
    """The DACTE of a CT-e (modelo 57). brazilfiscalreport has no DACTE OS (modelo 67) layout."""
    raiz = _ler(xml, "DACTE")
    if raiz.find(f".//{NS_CTE}infCte") is None:
        raise ErroPDF(_sem_documento_completo(raiz, "o CT-e completo", "DACTE"))
    if etree.QName(raiz).localname in ("cteOSProc", "CTeOS"):
        raise ErroPDF("O DACTE de CT-e OS (modelo 67) ainda não é suportado pelo gerador de PDF.")
    from brazilfiscalreport.dacte import Dacte, DacteConfig

    return _gerar("DACTE", Dacte, DacteConfig(watermark_cancelled=cancelada), raiz)


def _ler(xml: bytes, nome: str) -> etree._Element:
    try:
        return ler_xml(xml)
    except EntradaInvalida as erro:
        raise ErroPDF(f"Não foi possível gerar o {nome}: o XML armazenado não pôde ser lido ({erro.motivo}).") from None


def _sem_documento_completo(raiz: etree._Element, documento: str, nome: str) -> str:
    raiz_nome = etree.QName(raiz).localname
    return f"O XML ({raiz_nome}) não contém {documento}; o {nome} precisa do XML completo."


def _gerar(nome: str, classe, config, raiz: etree._Element) -> bytes:
    texto = etree.tostring(sanitizar(raiz), encoding="unicode")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the library warns about layouts; nothing for the user
            return bytes(classe(xml=texto, config=config).output())
    except Exception as erro:
        logger.warning("falha ao gerar %s: %s: %s", nome, type(erro).__name__, erro)
        raise ErroPDF(f"Não foi possível gerar o {nome}: {_motivo(erro)}.") from erro


def _motivo(erro: Exception) -> str:
    if isinstance(erro, KeyError):
        # The library looks codes up in fixed tables (tpServ=9 is a known case).
        return f"o documento tem um código que o gerador de PDF não conhece ({erro.args[0]!r})"
    if isinstance(erro, (AttributeError, TypeError)):
        return "o documento não tem um grupo que o gerador de PDF exige"
    return f"erro do gerador de PDF ({type(erro).__name__}: {erro})"


# ------------------------------------------------------------------------------------ sanitising


def sanitizar(raiz: etree._Element) -> etree._Element:
    """Every text and attribute of `raiz` (in place) reduced to printable Latin-1."""
    for elemento in raiz.iter():
        if isinstance(elemento.tag, str):
            for nome, valor in elemento.attrib.items():
                elemento.set(nome, texto_imprimivel(valor))
            if elemento.text:
                elemento.text = texto_imprimivel(elemento.text)
        if elemento.tail:
            elemento.tail = texto_imprimivel(elemento.tail)
    return raiz


def texto_imprimivel(texto: str) -> str:
    """`texto` with control characters gone and anything outside Latin-1 folded or replaced by '?'."""
    if texto.isascii() and not _CONTROLES.search(texto):
        return texto  # the common case, kept cheap
    texto = _CONTROLES.sub(_controle, texto).translate(_EQUIVALENTES)
    return "".join(c if ord(c) < 256 else _dobrar(c) for c in texto)


def _controle(achado: re.Match) -> str:
    # A C1 character in a Brazilian file is almost always a cp1252 byte decoded as Latin-1
    # (0x93 is a left double quote): keep what it meant when cp1252 defines it, drop it otherwise.
    codigo = ord(achado.group())
    if 0x80 <= codigo <= 0x9F:
        try:
            return bytes([codigo]).decode("cp1252").translate(_EQUIVALENTES)
        except UnicodeDecodeError:
            return ""
    return ""


def _dobrar(caractere: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFKD", caractere) if ord(c) < 256 and not unicodedata.combining(c))
    return base or "?"


# ---------------------------------------------------------------------------------------- caching


def danfe_do_documento(nfe) -> bytes:
    """The DANFE of a stored NF-e, from the cache when it was rendered before."""
    if not nfe.completa:
        raise SemXMLCompleto(
            f"A NF-e {nfe.chave} só tem o resumo (resNFe); o DANFE precisa do XML completo. "
            "Importe o XML da nota (nfeProc) para gerar o DANFE."
        )
    return _em_cache("danfe", renderizar_danfe, nfe)


def dacte_do_documento(cte) -> bytes:
    """The DACTE of a stored CT-e, from the cache when it was rendered before."""
    return _em_cache("dacte", renderizar_dacte, cte)


def _em_cache(nome: str, renderizar: Callable[..., bytes], documento) -> bytes:
    cancelada = documento.situacao == Situacao.CANCELADA
    # The library version is part of the key so an upgrade does not serve the old drawings.
    chave = f"fiscal:pdf:{nome}:{brazilfiscalreport.__version__}:{documento.arquivo.sha256}:{int(cancelada)}"
    pdf = cache.get(chave)
    if pdf is None:
        try:
            xml = documento.arquivo.bytes_originais()
        except (ValueError, zlib.error) as erro:
            logger.error("XML armazenado de %s corrompido: %s", documento.chave, erro)
            raise ErroPDF(f"O XML armazenado de {documento.chave} não confere com seu SHA-256.") from erro
        pdf = renderizar(xml, cancelada=cancelada)
        cache.set(chave, pdf, settings.FISCAL_PDF_CACHE_SEGUNDOS)
    return pdf
