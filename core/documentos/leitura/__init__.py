"""Readers from a parsed fiscal XML root (see `core.documentos.xml_seguro.ler_xml`) to `core.documentos.dados`.

Dispatch is on the root's local name AND namespace, never on file names or the DistDFe `schema` hint.
"""

from __future__ import annotations

from lxml import etree

from core.documentos.dados import DadosCTe, DadosEvento, DadosNFe, DadosOutro, ResumoNFe

from .comum import NS_CTE, NS_NFE, DocumentoIncompleto, DocumentoNaoSuportado, normalizar_documento
from .cte import TIPOS_CTE, ler_cte
from .estrutura import FORMAS, Estrutura, EstruturaInvalida, identificar, localizar, localizar_desconhecido
from .eventos import STATUS_NAO_INFORMADO, ler_evento
from .nfe import ler_nfe, ler_resumo_nfe
from .outros import TIPOS_OUTROS, ler_outro

__all__ = [
    "NS_CTE",
    "NS_NFE",
    "STATUS_NAO_INFORMADO",
    "DocumentoIncompleto",
    "DocumentoNaoSuportado",
    "Estrutura",
    "EstruturaInvalida",
    "elemento_assinado",
    "identificar",
    "ler_cte",
    "ler_documento",
    "ler_evento",
    "ler_nfe",
    "ler_outro",
    "ler_resumo_nfe",
    "localizar",
    "localizar_desconhecido",
    "normalizar_documento",
]


def elemento_assinado(raiz: etree._Element) -> etree._Element | None:
    """The element the signature covers (infNFe, infCte, infEvento, infCanc), or None for summaries."""
    return localizar(raiz).assinado


def ler_documento(origem: etree._Element | Estrutura) -> DadosNFe | ResumoNFe | DadosCTe | DadosEvento | DadosOutro:
    """Locate the envelope and run the matching reader on it."""
    estrutura = origem if isinstance(origem, Estrutura) else localizar(origem)
    tipo = estrutura.tipo
    if tipo in ("nfeProc", "NFe"):
        return ler_nfe(estrutura)
    if tipo == "resNFe":
        return ler_resumo_nfe(estrutura.raiz)
    if tipo in TIPOS_CTE:
        return ler_cte(estrutura)
    if tipo in TIPOS_OUTROS or tipo not in FORMAS:
        return ler_outro(estrutura)  # GTV-e, CT-e Simplificado, or an unknown signed DF-e
    return ler_evento(estrutura)
