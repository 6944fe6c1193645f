"""Who signed: a mathematically valid signature is not enough, the signer must be someone who may sign.

Two checks, after `xmldsig.verificar_assinatura`:
1. The signer is tied to the document: the CNPJ base (8 characters) of the signing certificate (ICP-Brasil
   otherName 2.16.76.1.3.3, or the CPF in 2.16.76.1.3.1 for an e-CPF) is the emitter's, or the event
   author's; for a cancellation, the author is also the emitter named in the key. SEFAZ applies the same
   rule when it authorizes (NF-e MOC 7.0 rejection 213 "CNPJ-Base do Emitente difere do CNPJ-Base do
   Certificado Digital"), except for documents signed by a Provedor de Assinatura e Autorização: with
   `infPAA` the signer is the PAA named in `CNPJPAA` (NT 2025.002-RTC / PL_010 `leiauteNFe_v4.00.xsd`).
2. The certificate chains to an ICP-Brasil root shipped with the project (core/certificados/icp_brasil).
   A self-signed certificate is refused; one issued by an authority outside the known chain is kept with
   the distinct state `cadeia_desconhecida`, never plain `valida`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import lru_cache

from core.certificados.cadeia import documentos_do_signatario, verificar_cadeia

from .dados import Assinatura
from .validacao import DocumentoRejeitado

VALIDA = "valida"
CADEIA_DESCONHECIDA = "cadeia_desconhecida"


def conferir_signatario(
    assinatura: Assinatura, *, titular: str, papel: str, momento: datetime | None, cnpj_paa: str = ""
) -> Assinatura:
    """The signature with its `estado`; DocumentoRejeitado when the signer may not sign for `titular`.

    `titular` is the CNPJ (14), CPF (11) or key segment (14, "000" + CPF) of whoever must have signed;
    `papel` names it in messages ("emitente", "autor do evento").
    """
    cnpj, cpf = _documentos(assinatura.certificado_der)
    quem = cnpj or cpf or "sem CNPJ/CPF"
    cadeia = _cadeia(assinatura, momento, quem)
    esperado, descricao = (cnpj_paa, "Provedor de Assinatura e Autorização (infPAA/CNPJPAA)") if cnpj_paa else (titular, papel)
    if not cnpj and not cpf:
        raise DocumentoRejeitado(
            "certificado do signatário não traz CNPJ nem CPF (ICP-Brasil, OID 2.16.76.1.3.3 ou 2.16.76.1.3.1)"
        )
    if not mesmo_titular(cnpj, cpf, esperado):
        raise DocumentoRejeitado(
            f"assinado pelo certificado de {quem}, que não é do {descricao} {esperado}: "
            "a assinatura precisa ser do próprio emitente (mesma raiz de CNPJ)"
        )
    return _com_estado(assinatura, cadeia)


def conferir_autorizador(assinatura: Assinatura, *, momento: datetime | None) -> Assinatura:
    """SEFAZ's own optional signature (retCancNFe): not tied to the emitter, but never self-signed."""
    cnpj, cpf = _documentos(assinatura.certificado_der)
    return _com_estado(assinatura, _cadeia(assinatura, momento, cnpj or cpf or "sem CNPJ/CPF"))


def _cadeia(assinatura: Assinatura, momento: datetime | None, quem: str):
    cadeia = verificar_cadeia(assinatura.certificado_der, assinatura.intermediarios_der, momento)
    if cadeia.autoassinado:
        raise DocumentoRejeitado(
            f"assinatura feita com certificado autoassinado ({quem}): não é um certificado ICP-Brasil"
        )
    return cadeia


def _com_estado(assinatura: Assinatura, cadeia) -> Assinatura:
    if cadeia.confiavel:
        return replace(assinatura, estado=VALIDA, motivo_cadeia="")
    return replace(assinatura, estado=CADEIA_DESCONHECIDA, motivo_cadeia=cadeia.motivo)


@lru_cache(maxsize=256)
def _documentos(certificado_der: bytes) -> tuple[str, str]:
    # A bulk import sees the same few signers thousands of times: read each certificate's CNPJ/CPF once.
    return documentos_do_signatario(certificado_der)


def mesmo_titular(cnpj: str, cpf: str, documento: str) -> bool:
    """The certificate's CNPJ/CPF stands for `documento`: same CNPJ base, same CPF, or the key's "000"+CPF."""
    documento = documento.upper()
    if len(documento) == 11:
        return bool(cpf) and cpf == documento
    if len(documento) != 14:
        return False
    if cnpj and cnpj.upper()[:8] == documento[:8]:
        return True
    return bool(cpf) and documento == "000" + cpf
