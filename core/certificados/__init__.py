"""A1 certificates of an organization: loading and validating the PKCS#12 file, storing it encrypted,
and the capture options (per certificate, with organization-wide defaults)."""

from .a1 import A1, CertificadoInvalido, carregar_pfx, dias_para_vencer, documentos_do_certificado
from .cadastro import (
    CertificadoDuplicado,
    a1_do_certificado,
    atualizar_certificado,
    cadastrar_certificado,
    excluir_certificado,
    gravar_certificado,
    preparar_certificado,
    validar_alteracao,
)
from .opcoes import (
    OpcaoInvalida,
    OpcoesDeConsulta,
    atualizar_configuracao,
    configuracao_da_organizacao,
    normalizar_uf,
    opcoes_efetivas,
)

__all__ = [
    "A1",
    "CertificadoDuplicado",
    "CertificadoInvalido",
    "OpcaoInvalida",
    "OpcoesDeConsulta",
    "a1_do_certificado",
    "atualizar_certificado",
    "atualizar_configuracao",
    "cadastrar_certificado",
    "carregar_pfx",
    "configuracao_da_organizacao",
    "dias_para_vencer",
    "documentos_do_certificado",
    "excluir_certificado",
    "gravar_certificado",
    "normalizar_uf",
    "opcoes_efetivas",
    "preparar_certificado",
    "validar_alteracao",
]
