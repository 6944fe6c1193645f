"""Registering, changing and removing an organization's A1 certificates.

The API, the admin and `importar_certificado` all come through here. The PFX and its password are
stored encrypted (`CampoCifrado`) and leave this module only as an `A1` for the SEFAZ client
(`a1_do_certificado`): never in a response, a message or a log line.
"""

from __future__ import annotations

import logging

from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import IntegrityError, transaction
from django.views.decorators.debug import sensitive_variables

from core.models import Ambiente, CertificadoDigital, Organizacao
from core.tenancy import escopo

from .a1 import A1, CertificadoInvalido, carregar_pfx
from .opcoes import (
    OpcaoInvalida,
    exigir_uf_para_consulta_automatica,
    normalizar_opcoes_do_certificado,
    normalizar_uf,
)

logger = logging.getLogger(__name__)


class CertificadoDuplicado(CertificadoInvalido):
    """The organization already has this very certificate (same SHA-256 thumbprint)."""

    def __init__(self, existente_id: int):
        super().__init__(
            f"Este certificado já está cadastrado nesta organização (certificado id {existente_id}). "
            "Para mudar as opções, altere aquele cadastro."
        )
        self.existente_id = existente_id


@sensitive_variables("pfx", "senha")
def cadastrar_certificado(organizacao: Organizacao, pfx: bytes, senha: str, **opcoes) -> CertificadoDigital:
    """Validate the A1 file and store it, encrypted, with its metadata and the given options.

    Options: nome, uf ("SP" or "35"), ambiente (1 or 2), consulta_automatica, intervalo_minutos,
    servicos, ciencia_automatica. Raises CertificadoInvalido (CertificadoDuplicado when already there)
    or OpcaoInvalida; both carry the offending input in `campo`.
    """
    return gravar_certificado(preparar_certificado(organizacao, pfx, senha, **opcoes))


@sensitive_variables("pfx", "senha")
def preparar_certificado(organizacao: Organizacao, pfx: bytes, senha: str, **opcoes) -> CertificadoDigital:
    """Every check of `cadastrar_certificado`, returning the unsaved row (forms validate with this)."""
    valores = normalizar_opcoes_do_certificado(opcoes)
    a1 = carregar_pfx(pfx, senha)
    if not valores.get("uf"):
        valores["uf"] = _uf_do_titular(a1)
    exigir_uf_para_consulta_automatica(valores["uf"], valores.get("consulta_automatica", False))
    exigir_ambiente_aceito(valores.get("ambiente", Ambiente.PRODUCAO))
    existente = _cadastrado(organizacao, a1.thumbprint)
    if existente is not None:
        raise CertificadoDuplicado(existente)
    return CertificadoDigital(
        organizacao=organizacao, pfx=bytes(pfx), senha=senha, cnpj=a1.cnpj, cpf=a1.cpf,
        titular=a1.titular[:200], emissor=a1.emissor[:200], numero_serie=a1.numero_serie[:64],
        thumbprint=a1.thumbprint, validade_inicio=a1.validade_inicio, validade_fim=a1.validade_fim, **valores,
    )  # fmt: skip


def gravar_certificado(certificado: CertificadoDigital) -> CertificadoDigital:
    """Insert a row made by `preparar_certificado`; a concurrent upload of the same file is a duplicate."""
    try:
        with transaction.atomic():
            certificado.save(force_insert=True)
    except IntegrityError:
        existente = _cadastrado(certificado.organizacao, certificado.thumbprint)
        if existente is None:
            raise
        raise CertificadoDuplicado(existente) from None
    logger.info(
        "certificado %s cadastrado na organização %s (thumbprint %s, válido até %s)",
        certificado.pk, certificado.organizacao_id, certificado.thumbprint[:16], certificado.validade_fim.date(),
    )  # fmt: skip
    return certificado


def atualizar_certificado(certificado: CertificadoDigital, **opcoes) -> CertificadoDigital:
    """Change the given options (the file and password never change: a new file is a new certificate).

    `problema=""` clears the problem recorded by the SEFAZ client that `certificado` (the row as the
    caller read it) shows, once a person has dealt with it; a problem recorded after that read stays.
    Only the given fields are written, so what the capture and the expiry task write meanwhile stays.
    """
    valores = validar_alteracao(certificado, **opcoes)
    limpar = valores.pop("problema", None) is not None
    for nome, valor in valores.items():
        setattr(certificado, nome, valor)
    with transaction.atomic():
        certificado.save(update_fields=[*valores, "atualizado_em"])
        if limpar:
            _limpar_problema_lido(certificado)
    return certificado


def _limpar_problema_lido(certificado: CertificadoDigital) -> None:
    # Compare-and-swap on the problem the person saw: the capture may record a new one (_marcar_problema)
    # between that read and this write, and nobody has seen that one yet.
    escopo(CertificadoDigital, certificado.organizacao).filter(
        pk=certificado.pk, problema=certificado.problema, problema_em=certificado.problema_em
    ).update(problema="", problema_em=None)
    certificado.refresh_from_db(fields=["problema", "problema_em"])


def validar_alteracao(certificado: CertificadoDigital, **opcoes) -> dict:
    """The normalised options `atualizar_certificado` would apply; OpcaoInvalida if one is bad."""
    problema = opcoes.pop("problema", None)
    if problema:
        raise OpcaoInvalida("problema", 'O problema só pode ser limpo (envie ""), depois de resolvido.')
    valores = normalizar_opcoes_do_certificado(opcoes)
    exigir_uf_para_consulta_automatica(
        valores.get("uf", certificado.uf), valores.get("consulta_automatica", certificado.consulta_automatica)
    )
    if "ambiente" in valores:
        exigir_ambiente_aceito(valores["ambiente"])
    return valores if problema is None else {**valores, "problema": ""}


def exigir_ambiente_aceito(ambiente: int) -> None:
    """Refuse a capture whose every document the import would reject (core.documentos.validacao.conferir_ambiente):
    SEFAZ would hand the NSUs over and the documents would be refused, for nothing."""
    if int(ambiente) == Ambiente.HOMOLOGACAO and not settings.FISCAL_ACEITAR_HOMOLOGACAO:
        raise OpcaoInvalida(
            "ambiente",
            "Ambiente 2 (homologação) recusado: FISCAL_ACEITAR_HOMOLOGACAO está desligado, então todo documento "
            "capturado seria rejeitado. Use ambiente 1 (produção) ou defina FISCAL_ACEITAR_HOMOLOGACAO=true.",
        )


def excluir_certificado(certificado: CertificadoDigital) -> None:
    """Delete the certificate; its NSU cursors stay (they belong to the CNPJ, possibly shared with other
    organizations holding a certificate of it) and so does the query history."""
    pk, organizacao_id = certificado.pk, certificado.organizacao_id
    certificado.delete()
    logger.info("certificado %s excluído da organização %s", pk, organizacao_id)


def a1_do_certificado(certificado: CertificadoDigital) -> A1:
    """Decrypt and load a stored certificate for use (TLS client, signing). CertificadoInvalido if it
    no longer can be used, e.g. because it has expired."""
    return carregar_pfx(certificado.pfx, certificado.senha)


def _cadastrado(organizacao: Organizacao, thumbprint: str) -> int | None:
    return escopo(CertificadoDigital, organizacao).filter(thumbprint=thumbprint).values_list("pk", flat=True).first()


def _uf_do_titular(a1: A1) -> str:
    """ICP-Brasil subjects usually carry the holder's state (ST=SP); "" when absent or not a UF."""
    for atributo in a1.certificado.subject.get_attributes_for_oid(NameOID.STATE_OR_PROVINCE_NAME):
        try:
            return normalizar_uf(str(atributo.value))
        except OpcaoInvalida:
            continue
    return ""
