"""DANFE, DANFC-e and DACTE as PDF, rendered with brazilfiscalreport from the original XML.

The DACTE OS (CT-e OS, modelo 67), which the library does not draw, comes from `dacte_os`, built on the
same PDF library (fpdf2). Reform taxes (IBS, CBS, IS) are printed whenever the document carries them.

brazilfiscalreport draws with fpdf2's core fonts, which only know Latin-1: a C1 control character
(a cp1252 quote mis-decoded as U+0093 is common in real files) or an emoji in any text field makes
it raise. So every text is sanitised first. Whatever still fails becomes one ErroPDF
with a Portuguese message, never a 500.

Rendering takes 0.1-1.7 s and its result depends only on the XML bytes (and the cancelled
watermark), so `danfe_do_documento()` / `dacte_do_documento()` cache it by the XML's SHA-256. The
cache only saves time: when it fails (Redis down) the PDF is rendered without it, with a warning.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import warnings
import zlib
from collections.abc import Callable
from functools import partial

import brazilfiscalreport
from django.conf import settings
from django.core.cache import cache
from lxml import etree

from core.models import Situacao

from .dacte_os import desenhar_dacte_os
from .entrada import EntradaInvalida
from .xml_seguro import ler_xml

logger = logging.getLogger(__name__)

NS_NFE = "{http://www.portalfiscal.inf.br/nfe}"
NS_CTE = "{http://www.portalfiscal.inf.br/cte}"
_IMP_IBSCBS = f"{NS_CTE}imp/{NS_CTE}IBSCBS"
_IBSCBS_TOT = f"{NS_NFE}total/{NS_NFE}IBSCBSTot"
# Part of the cache key with the library's version: raise it when what this project draws or the
# options it passes change, so the cache does not serve the old drawings.
REVISAO_DESENHO = 2

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

        return _gerar("DANFC-e", _pela_biblioteca(Danfce, DanfceConfig(watermark_cancelled=cancelada)), raiz)
    from brazilfiscalreport.danfe import Danfe, DanfeConfig, DanfeLayout

    config = DanfeConfig(watermark_cancelled=cancelada)
    if _tem_grupos_da_reforma(inf):
        # Only the NT 2026.010 layout prints IBS, CBS and IS; left to its AUTO choice the library
        # uses it from 2026-12-01 on and would print a 2026 note's reform taxes nowhere.
        config.layout = DanfeLayout.NT_2026_010
    return _gerar("DANFE", _pela_biblioteca(Danfe, config), raiz)


def renderizar_dacte(xml: bytes, *, cancelada: bool = False) -> bytes:
    """The DACTE of a CT-e (modelo 57, by brazilfiscalreport) or the DACTE OS of a CT-e OS (modelo 67)."""
    raiz = _ler(xml, "DACTE")
    inf = raiz.find(f".//{NS_CTE}infCte")
    if inf is None:
        raise ErroPDF(_sem_documento_completo(raiz, "o CT-e completo", "DACTE"))
    if etree.QName(raiz).localname in ("cteOSProc", "CTeOS"):
        return _gerar("DACTE OS", partial(desenhar_dacte_os, cancelada=cancelada), raiz)
    from brazilfiscalreport.dacte import Dacte, DacteConfig

    # The IBS/CBS column appears only when the CT-e has the group: a CT-e without it keeps the
    # usual layout instead of printing empty reform boxes.
    config = DacteConfig(watermark_cancelled=cancelada, display_ibs_cbs=inf.find(_IMP_IBSCBS) is not None)
    return _gerar("DACTE", _pela_biblioteca(Dacte, config), raiz)


def _tem_grupos_da_reforma(inf: etree._Element) -> bool:
    return inf.find(_IBSCBS_TOT) is not None or any(
        imposto.find(f"{NS_NFE}IBSCBS") is not None or imposto.find(f"{NS_NFE}IS") is not None
        for imposto in inf.iterfind(f"{NS_NFE}det/{NS_NFE}imposto")
    )


def _ler(xml: bytes, nome: str) -> etree._Element:
    try:
        return ler_xml(xml)
    except EntradaInvalida as erro:
        raise ErroPDF(f"Não foi possível gerar o {nome}: o XML armazenado não pôde ser lido ({erro.motivo}).") from None


def _sem_documento_completo(raiz: etree._Element, documento: str, nome: str) -> str:
    raiz_nome = etree.QName(raiz).localname
    return f"O XML ({raiz_nome}) não contém {documento}; o {nome} precisa do XML completo."


def _pela_biblioteca(classe, config) -> Callable[[etree._Element], bytes]:
    def desenhar(raiz: etree._Element) -> bytes:
        return bytes(classe(xml=etree.tostring(raiz, encoding="unicode"), config=config).output())

    return desenhar


def _gerar(nome: str, desenhar: Callable[[etree._Element], bytes], raiz: etree._Element) -> bytes:
    sanitizar(raiz)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the library warns about layouts; nothing for the user
            return desenhar(raiz)
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
    versao = f"{brazilfiscalreport.__version__}.{REVISAO_DESENHO}"
    chave = f"fiscal:pdf:{nome}:{versao}:{documento.arquivo.sha256}:{int(cancelada)}"
    pdf = _ler_do_cache(chave)
    if pdf is None:
        try:
            xml = documento.arquivo.bytes_originais()
        except (ValueError, zlib.error) as erro:
            logger.error("XML armazenado de %s corrompido: %s", documento.chave, erro)
            raise ErroPDF(f"O XML armazenado de {documento.chave} não confere com seu SHA-256.") from erro
        pdf = renderizar(xml, cancelada=cancelada)
        _gravar_no_cache(chave, pdf)
    return pdf


# Any error of the cache backend (redis-py's ConnectionError and TimeoutError, a memcached client's own
# types) is caught: a PDF costs a second to render, an outage of the cache must not cost the response.
def _ler_do_cache(chave: str) -> bytes | None:
    try:
        return cache.get(chave)
    except Exception as erro:
        logger.warning("cache fora do ar, PDF gerado sem o cache (%s: %s)", type(erro).__name__, erro)
        return None


def _gravar_no_cache(chave: str, pdf: bytes) -> None:
    try:
        cache.set(chave, pdf, settings.FISCAL_PDF_CACHE_SEGUNDOS)
    except Exception as erro:
        logger.warning("cache fora do ar, PDF servido sem o cache (%s: %s)", type(erro).__name__, erro)
