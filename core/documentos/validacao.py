"""Consistency checks that go beyond the schema: key, protocol and environment.

Each failure raises `DocumentoRejeitado` with a message that names the field at fault, because that
message is what the user reads in the ImportLog, the API answer and the command output.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from .chave import ChaveInvalida, decompor_chave
from .dados import Assinatura, Protocolo

CSTAT_AUTORIZADO = frozenset({100, 150})
CSTAT_DENEGADO = frozenset({110, 205, 301, 302, 303})
# retEvento: 135 registered and linked, 136 registered but not linked, 155 cancellation out of time.
CSTAT_EVENTO_REGISTRADO = frozenset({135, 136, 155})
# A protocol (protNFe/protCTe, retCancNFe/retCancCTe) saying the document is cancelled (MOC NF-e 7.0,
# tabela de códigos de retorno): 101 "Cancelamento de NF-e homologado", 151 "Cancelamento de NF-e
# homologado fora de prazo", 155 "Cancelamento homologado fora de prazo".
CSTAT_CANCELADO = frozenset({101, 151, 155})
# tpEvento that cancel the document: 110111 cancelamento, 110112 cancelamento por substituição (NFC-e).
TIPOS_CANCELAMENTO = frozenset({"110111", "110112"})


class DocumentoRejeitado(ValueError):
    """The XML is well formed but must not be stored; the message says why."""


def conferir_chave(
    chave: str,
    *,
    codigo_uf: str,
    data_emissao: datetime,
    emitente_documento: str,
    modelo: str,
    serie: int,
    numero: int,
    tipo_emissao: str,
    codigo_numerico: str,
    digito_verificador: str,
) -> None:
    """The key's check digit is right and every field packed in it agrees with the document."""
    try:
        partes = decompor_chave(chave)
    except ChaveInvalida as erro:
        raise DocumentoRejeitado(str(erro)) from None
    esperado = {
        "cUF": (codigo_uf, partes.codigo_uf),
        "AAMM de dhEmi": (data_emissao.strftime("%y%m"), partes.ano_mes),
        "CNPJ/CPF do emitente": (emitente_documento.zfill(14), partes.cnpj_emitente),
        "mod": (modelo, partes.modelo),
        "serie": (serie, partes.serie),
        "número": (numero, partes.numero),
        "tpEmis": (tipo_emissao, partes.tipo_emissao),
        "código numérico": (codigo_numerico.zfill(8) if codigo_numerico else "", partes.codigo_numerico),
        "cDV": (digito_verificador, str(partes.digito)),
    }
    divergentes = [
        f"{campo} {no_documento} (na chave: {na_chave})"
        for campo, (no_documento, na_chave) in esperado.items()
        if no_documento not in ("", None) and no_documento != na_chave
    ]
    if divergentes:
        raise DocumentoRejeitado(f"chave do Id {chave} não confere com o documento: " + "; ".join(divergentes))


def conferir_protocolo(chave: str, protocolo: Protocolo | None, assinatura: Assinatura | None) -> None:
    """The protocol is this document's: same key and, when present, the digest SEFAZ received."""
    if protocolo is None:
        return
    if protocolo.chave != chave:
        raise DocumentoRejeitado(f"protocolo é da chave {protocolo.chave}, não da chave {chave} do documento")
    if assinatura and protocolo.digest_value and protocolo.digest_value != assinatura.digest_value:
        raise DocumentoRejeitado(
            f"digVal do protocolo ({protocolo.digest_value}) não confere com o DigestValue da assinatura "
            f"({assinatura.digest_value}): o documento não é o que a SEFAZ autorizou"
        )


def situacao_pelo_protocolo(protocolo: Protocolo | None) -> str:
    """autorizada / denegada / cancelada / sem_protocolo; any other cStat is a rejection, not a document."""
    if protocolo is None:
        return "sem_protocolo"
    if protocolo.codigo_status in CSTAT_AUTORIZADO:
        return "autorizada"
    if protocolo.codigo_status in CSTAT_DENEGADO:
        return "denegada"
    if protocolo.codigo_status in CSTAT_CANCELADO:
        return "cancelada"
    raise DocumentoRejeitado(
        f"protocolo com cStat {protocolo.codigo_status} ({protocolo.motivo or 'sem xMotivo'}) "
        "não autoriza o uso do documento"
    )


def conferir_ambiente(ambiente: int | None) -> None:
    """Homologation documents have no fiscal value; keep them out unless the operator allows it."""
    if ambiente == 2 and not settings.FISCAL_ACEITAR_HOMOLOGACAO:
        raise DocumentoRejeitado(
            "documento emitido em homologação (tpAmb=2) não tem valor fiscal; "
            "defina FISCAL_ACEITAR_HOMOLOGACAO=true para aceitá-lo"
        )


def conferir_evento_registrado(protocolo: Protocolo | None, chave: str) -> None:
    if protocolo is None:
        return
    if protocolo.chave and protocolo.chave != chave:
        raise DocumentoRejeitado(f"retorno do evento é da chave {protocolo.chave}, não da chave {chave}")
    if protocolo.codigo_status not in CSTAT_EVENTO_REGISTRADO | CSTAT_CANCELADO:
        raise DocumentoRejeitado(
            f"evento não foi registrado pela SEFAZ (cStat {protocolo.codigo_status}: {protocolo.motivo})"
        )
