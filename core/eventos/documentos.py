"""What an event says about a document: a summary and links, never the XML itself."""

from __future__ import annotations

from django.conf import settings

from core.models import CTe, ImportLog, NFe, OutroDocumento


def _parte(documento, prefixo: str) -> dict:
    return {
        "documento": getattr(documento, f"{prefixo}_documento"),
        "nome": getattr(documento, f"{prefixo}_nome"),
        "uf": getattr(documento, f"{prefixo}_uf"),
    }


def _valores(documento) -> dict:
    if isinstance(documento, OutroDocumento):
        valor = documento.valor_total
        return {"total": None if valor is None else f"{valor:.2f}"}
    if isinstance(documento, NFe):
        campos = {"total": "valor_total", "produtos": "valor_produtos", "icms": "valor_icms", "ipi": "valor_ipi"}
    else:
        campos = {"prestacao": "valor_prestacao", "receber": "valor_receber", "carga": "valor_carga"}
    return {nome: f"{getattr(documento, campo):.2f}" for nome, campo in campos.items()}


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
        "situacao": documento.situacao,
        "completa": documento.completa,
        "assinatura": documento.assinatura,
        "links": {"detalhe": base, "xml": f"{base}xml/"},
        **({"tipo": documento.tipo} if isinstance(documento, OutroDocumento) else {}),
    }


def dados_do_erro(log: ImportLog) -> dict:
    return {
        "arquivo": log.arquivo,
        "chave": log.chave,
        "tipo_xml": log.tipo_xml,
        "origem": log.origem,
        "mensagem": log.mensagem,
    }
