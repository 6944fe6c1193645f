"""Readers from a parsed fiscal XML root (see `core.documentos.entrada.ler_xml`) to `core.documentos.dados`.

Dispatch is on the root's local name AND namespace, never on file names or the DistDFe `schema` hint.
"""

from __future__ import annotations

from lxml import etree

from core.documentos.dados import DadosCTe, DadosEvento, DadosNFe, ResumoNFe

from .comum import NS_CTE, NS_NFE, DocumentoIncompleto, DocumentoNaoSuportado, normalizar_documento
from .cte import ler_cte
from .eventos import STATUS_NAO_INFORMADO, ler_evento
from .nfe import ler_nfe, ler_resumo_nfe

__all__ = [
    "NS_CTE",
    "NS_NFE",
    "STATUS_NAO_INFORMADO",
    "DocumentoIncompleto",
    "DocumentoNaoSuportado",
    "elemento_assinado",
    "identificar",
    "ler_cte",
    "ler_documento",
    "ler_evento",
    "ler_nfe",
    "ler_resumo_nfe",
    "normalizar_documento",
]

_NAMESPACE_ESPERADO = {
    "nfeProc": NS_NFE,
    "NFe": NS_NFE,
    "resNFe": NS_NFE,
    "resEvento": NS_NFE,  # summary of NF-e events, nfe namespace
    "procEventoNFe": NS_NFE,
    "cteProc": NS_CTE,
    "CTe": NS_CTE,
    "cteOSProc": NS_CTE,
    "CTeOS": NS_CTE,
    "procEventoCTe": NS_CTE,
}
_TIPOS = {f"{{{ns}}}{nome}": nome for nome, ns in _NAMESPACE_ESPERADO.items()}
_SUPORTADOS = "nfeProc, NFe, cteProc, cteOSProc, resNFe, resEvento, procEventoNFe, procEventoCTe"

# Path from the root to the element the XMLDSig Reference points at; () = summaries, never signed.
_CAMINHO_ASSINADO = {
    "nfeProc": ("NFe", "infNFe"),
    "NFe": ("infNFe",),
    "cteProc": ("CTe", "infCte"),
    "CTe": ("infCte",),
    "cteOSProc": ("CTeOS", "infCte"),
    "CTeOS": ("infCte",),
    "procEventoNFe": ("evento", "infEvento"),
    "procEventoCTe": ("eventoCTe", "infEvento"),
    "resNFe": (),
    "resEvento": (),
}


def identificar(raiz: etree._Element) -> str:
    """The document type: one of the root names in `_NAMESPACE_ESPERADO`, or DocumentoNaoSuportado."""
    tipo = _TIPOS.get(raiz.tag)
    if tipo is not None:
        return tipo
    nome = etree.QName(raiz).localname if isinstance(raiz.tag, str) else str(raiz.tag)
    namespace = etree.QName(raiz).namespace if isinstance(raiz.tag, str) else None
    onde = f"no namespace {namespace}" if namespace else "sem namespace"
    esperado = _NAMESPACE_ESPERADO.get(nome)
    if esperado is not None:
        raise DocumentoNaoSuportado(
            f"raiz {nome} {onde} não é um documento fiscal suportado: esperado o namespace {esperado}"
        )
    raise DocumentoNaoSuportado(f"raiz {nome} {onde} não é um documento fiscal suportado (esperado {_SUPORTADOS})")


def elemento_assinado(raiz: etree._Element) -> etree._Element | None:
    """The element the signature covers (infNFe, infCte, infEvento), or None for summaries."""
    caminho = _CAMINHO_ASSINADO[identificar(raiz)]
    if not caminho:
        return None
    namespace = raiz.tag[: raiz.tag.rfind("}") + 1]
    atual = raiz
    for passo in caminho:
        proximo = atual.find(namespace + passo)
        if proximo is None:
            raise DocumentoIncompleto(f"elemento obrigatório ausente: {'/'.join(caminho[: caminho.index(passo) + 1])}")
        atual = proximo
    return atual


def ler_documento(raiz: etree._Element) -> DadosNFe | ResumoNFe | DadosCTe | DadosEvento:
    """Identify the root and run the matching reader."""
    tipo = identificar(raiz)
    if tipo in ("nfeProc", "NFe"):
        return ler_nfe(raiz)
    if tipo == "resNFe":
        return ler_resumo_nfe(raiz)
    if tipo in ("cteProc", "CTe", "cteOSProc", "CTeOS"):
        return ler_cte(raiz)
    return ler_evento(raiz)
