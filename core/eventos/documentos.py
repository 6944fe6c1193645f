"""What an event says about a document: a summary and links, never the XML itself."""

from __future__ import annotations

from django.conf import settings

from core.documentos.manifestacao_estado import resumo_da_manifestacao
from core.models import CTe, ImportLog, NFe, OutroDocumento


def _parte(documento, prefixo: str) -> dict:
    return {
        "documento": getattr(documento, f"{prefixo}_documento"),
        "nome": getattr(documento, f"{prefixo}_nome"),
        "uf": getattr(documento, f"{prefixo}_uf"),
    }


# Payload name -> column. The reform's values (IBS, CBS, IS, vNFTot, vTotDFe) are null when the document has
# no such group; "total" of an NF-e is vNFTot when present, else vNF, and "nf" is always vNF.
VALORES_NFE = {
    "total": "valor_total", "nf": "valor_nf", "nf_tot": "valor_nf_tot", "produtos": "valor_produtos",
    "icms": "valor_icms", "ipi": "valor_ipi", "bc_ibs_cbs": "valor_bc_ibs_cbs", "ibs": "valor_ibs",
    "ibs_uf": "valor_ibs_uf", "ibs_mun": "valor_ibs_mun", "cbs": "valor_cbs", "is": "valor_is",
    "credito_presumido_ibs": "valor_credito_presumido_ibs", "credito_presumido_cbs": "valor_credito_presumido_cbs",
}  # fmt: skip
VALORES_CTE = {
    "prestacao": "valor_prestacao", "receber": "valor_receber", "carga": "valor_carga",
    "bc_ibs_cbs": "valor_bc_ibs_cbs", "ibs": "valor_ibs", "cbs": "valor_cbs", "total_dfe": "valor_total_dfe",
}  # fmt: skip


def _dinheiro(valor) -> str | None:
    return None if valor is None else f"{valor:.2f}"


def _valores(documento) -> dict:
    if isinstance(documento, OutroDocumento):
        return {"total": _dinheiro(documento.valor_total)}
    campos = VALORES_NFE if isinstance(documento, NFe) else VALORES_CTE
    return {nome: _dinheiro(getattr(documento, campo)) for nome, campo in campos.items()}


def _finalidade(documento) -> dict:
    if not isinstance(documento, NFe):
        return {}
    return {"finalidade": documento.finalidade, "finalidade_nome": documento.get_finalidade_display() if documento.finalidade else ""}


_CAMINHOS = {NFe: "nfes", CTe: "ctes", OutroDocumento: "outros-documentos"}


def dados_do_documento(documento: NFe | CTe | OutroDocumento) -> dict:
    caminho = _CAMINHOS[type(documento)]
    base = f"{settings.FISCAL_URL_PUBLICA.rstrip('/')}/api/{caminho}/{documento.chave}/"
    return {
        "chave": documento.chave,
        "modelo": documento.modelo,
        "numero": documento.numero,
        "serie": documento.serie,
        "data_emissao": documento.data_emissao,
        "emitente": _parte(documento, "emitente"),
        "destinatario": _parte(documento, "destinatario"),
        "valores": _valores(documento),
        **_finalidade(documento),
        "situacao": documento.situacao,
        "completa": documento.completa,
        "assinatura": documento.assinatura,
        "links": {"detalhe": base, "xml": f"{base}xml/"},
        **({"tipo": documento.tipo} if isinstance(documento, OutroDocumento) else {}),
        **({"manifestacao": resumo_da_manifestacao(documento)} if isinstance(documento, NFe) else {}),
    }


def dados_do_erro(log: ImportLog) -> dict:
    return {
        "arquivo": log.arquivo,
        "chave": log.chave,
        "tipo_xml": log.tipo_xml,
        "origem": log.origem,
        "mensagem": log.mensagem,
    }
