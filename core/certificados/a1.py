"""Loading an A1 certificate (PKCS#12, .pfx/.p12) and reading what ICP-Brasil puts in it.

Bytes and a password in, an `A1` (key, certificate, chain, CNPJ/CPF) out, or a `CertificadoInvalido`
whose Portuguese message says what is wrong with the file. The password is never part of a message, a
log line or a repr, and Django's error reports hide it (`sensitive_variables`).

Where the holder's document lives (DOC-ICP-04; NT 2014.002 cStat 473 "Certificado Transmissor sem CNPJ ou CPF"): the subjectAltName
otherName
2.16.76.1.3.3 holds the CNPJ of an e-CNPJ; 2.16.76.1.3.1 holds an e-CPF holder's data, birth date
(ddmmaaaa) then CPF. Older and non-ICP files only have it in the subject CN, as "NOME:CNPJ".
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, UTC

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.views.decorators.debug import sensitive_variables

from core.documentos.chave import validar_cnpj, validar_cpf
from core.erros import EntradaInvalida

OID_DADOS_PESSOA_FISICA = x509.ObjectIdentifier("2.16.76.1.3.1")
OID_CNPJ = x509.ObjectIdentifier("2.16.76.1.3.3")

TAMANHO_MAXIMO_PFX = 1024 * 1024  # an A1 with its chain is a few KB
# A certificate issued minutes ago must not be refused because this server's clock is slightly behind.
TOLERANCIA_DE_RELOGIO = timedelta(minutes=5)

# Outer PKCS#12 structure (RFC 7292 §4): SEQUENCE { INTEGER 3, ContentInfo { OID data | signedData, ...
_OID_PKCS7_DATA = bytes.fromhex("2a864886f70d010701")
_OID_PKCS7_SIGNED_DATA = bytes.fromhex("2a864886f70d010702")
# ASN.1 string types an issuer may have used for an otherName value instead of OCTET STRING.
_TIPOS_TEXTO = {0x04, 0x0C, 0x12, 0x13, 0x14, 0x16, 0x1A}
_BMP_STRING = 0x1E
_CN_COM_DOCUMENTO = re.compile(r"(?P<nome>.*):(?P<documento>[0-9A-Za-z]{11,14})")


class CertificadoInvalido(EntradaInvalida):
    """The file cannot be used as an A1 certificate. `campo` is the input to blame: "arquivo" or "senha"."""

    def __init__(self, mensagem: str, campo: str = "arquivo"):
        super().__init__(campo, mensagem)


@dataclass(frozen=True)
class A1:
    chave_privada: object = field(repr=False)  # a cryptography private key (RSA in practice)
    certificado: x509.Certificate
    cadeia: list[x509.Certificate] = field(default_factory=list)  # issuers, the leaf's issuer first
    cnpj: str = ""
    cpf: str = ""

    @property
    def documento(self) -> str:
        return self.cnpj or self.cpf

    @property
    def titular(self) -> str:
        """The holder's name: the subject CN without its ":CNPJ"/":CPF" suffix."""
        cn = _nome_comum(self.certificado.subject)
        if not cn:
            return self.certificado.subject.rfc4514_string()
        casamento = _CN_COM_DOCUMENTO.fullmatch(cn)
        return casamento["nome"].strip() if casamento else cn

    @property
    def emissor(self) -> str:
        return _nome_comum(self.certificado.issuer) or self.certificado.issuer.rfc4514_string()

    @property
    def numero_serie(self) -> str:
        return format(self.certificado.serial_number, "x")

    @property
    def thumbprint(self) -> str:
        """SHA-256 of the certificate's DER, in hex: what identifies one certificate file."""
        return hashlib.sha256(self.certificado.public_bytes(serialization.Encoding.DER)).hexdigest()

    @property
    def validade_inicio(self) -> datetime:
        return self.certificado.not_valid_before_utc

    @property
    def validade_fim(self) -> datetime:
        return self.certificado.not_valid_after_utc

    @property
    def dias_para_vencer(self) -> int:
        return dias_para_vencer(self.validade_fim)

    def pem_chave(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM, for a TLS client (keep it in memory or a 0600 file)."""
        return self.chave_privada.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def pem_certificados(self) -> bytes:
        """The certificate followed by its chain, PEM: what a TLS client sends, so the server can build the path to the ICP-Brasil root."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [self.certificado, *self.cadeia])


def dias_para_vencer(validade_fim: datetime, agora: datetime | None = None) -> int:
    """Whole days left until `validade_fim`; negative once it has passed."""
    return (validade_fim - (agora or datetime.now(UTC))).days


@sensitive_variables("pfx", "senha")
def carregar_pfx(
    pfx: bytes, senha: str, *, verificar_validade: bool = True, agora: datetime | None = None
) -> A1:
    """Load and check an A1 file; raise CertificadoInvalido saying what is wrong.

    Legacy files (3DES, RC2-40) load too: cryptography's bundled OpenSSL has the legacy algorithms.
    `verificar_validade=False` skips the expiry checks (to inspect an expired file).
    """
    pfx = bytes(pfx or b"")
    _verificar_formato(pfx)
    chave, certificado, outros = _abrir(pfx, senha)
    certificado, cadeia = _separar_certificado(chave, certificado, outros)
    if verificar_validade:
        _verificar_validade(certificado, agora or datetime.now(UTC))
    cnpj, cpf = documentos_do_certificado(certificado)
    if not (cnpj or cpf):
        raise CertificadoInvalido(
            "O certificado não traz CNPJ nem CPF do titular (ICP-Brasil: OID 2.16.76.1.3.3 ou 2.16.76.1.3.1, "
            "ou o nome comum no formato NOME:CNPJ); a SEFAZ o recusaria (cStat 473)."
        )
    return A1(chave_privada=chave, certificado=certificado, cadeia=cadeia, cnpj=cnpj, cpf=cpf)


def _verificar_formato(pfx: bytes) -> None:
    if not pfx:
        raise CertificadoInvalido("O arquivo está vazio.")
    if len(pfx) > TAMANHO_MAXIMO_PFX:
        raise CertificadoInvalido("O arquivo tem mais de 1 MiB: não parece um certificado A1 (.pfx/.p12).")
    if pfx.lstrip()[:11] == b"-----BEGIN ":
        raise CertificadoInvalido(
            "O arquivo está no formato PEM (texto). Envie o certificado A1 em PKCS#12 (.pfx ou .p12), "
            "que inclui a chave privada."
        )
    if not _parece_pkcs12(pfx):
        raise CertificadoInvalido("O arquivo não é um certificado A1 (PKCS#12, .pfx/.p12) ou está corrompido.")


@sensitive_variables("pfx", "senha")
def _abrir(pfx: bytes, senha: str):
    try:
        return pkcs12.load_key_and_certificates(pfx, (senha or "").encode("utf-8"))
    except ValueError as erro:
        # The outer structure is PKCS#12 (checked above), so this is the password or the MAC over
        # the contents; cryptography words the two cases as "Could not deserialize" vs "Invalid password".
        if "deserialize" in str(erro).lower():
            raise CertificadoInvalido("O arquivo PKCS#12 está corrompido ou usa um formato não suportado.") from None
        raise CertificadoInvalido("Senha incorreta para este certificado.", campo="senha") from None
    except Exception:  # unsupported algorithms surface as other exception types
        raise CertificadoInvalido("O arquivo PKCS#12 está corrompido ou usa um formato não suportado.") from None


def _separar_certificado(chave, certificado, outros) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The certificate of the private key, and the others ordered as its issuer chain."""
    if chave is None:
        raise CertificadoInvalido(
            "O arquivo não contém a chave privada: exporte o certificado A1 com a chave privada (.pfx/.p12)."
        )
    todos = [c for c in [certificado, *outros] if c is not None]
    if not todos:
        raise CertificadoInvalido("O arquivo não contém nenhum certificado, só a chave privada.")
    publica = _chave_publica(chave.public_key())
    folha = next((c for c in todos if _chave_publica(c.public_key()) == publica), None)
    if folha is None:
        raise CertificadoInvalido("A chave privada do arquivo não corresponde ao certificado.")
    return folha, _ordenar_cadeia(folha, [c for c in todos if c is not folha])


def _chave_publica(chave) -> bytes:
    return chave.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _ordenar_cadeia(folha: x509.Certificate, outros: list[x509.Certificate]) -> list[x509.Certificate]:
    ordenados, atual, restantes = [], folha, list(outros)
    while True:
        emissor = next((c for c in restantes if c.subject == atual.issuer and c is not atual), None)
        if emissor is None:
            return ordenados + restantes
        ordenados.append(emissor)
        restantes.remove(emissor)
        atual = emissor


def _verificar_validade(certificado: x509.Certificate, agora: datetime) -> None:
    inicio, fim = certificado.not_valid_before_utc, certificado.not_valid_after_utc
    if fim < agora:
        raise CertificadoInvalido(
            f"O certificado venceu em {fim:%d/%m/%Y} (validade de {inicio:%d/%m/%Y} a {fim:%d/%m/%Y}). "
            "Envie o certificado renovado."
        )
    if inicio > agora + TOLERANCIA_DE_RELOGIO:
        raise CertificadoInvalido(f"O certificado só é válido a partir de {inicio:%d/%m/%Y %H:%M} (UTC).")


# --- The holder's CNPJ / CPF ----------------------------------------------------------------------


def documentos_do_certificado(certificado: x509.Certificate) -> tuple[str, str]:
    """(CNPJ, CPF) of the holder, each "" when absent: ICP-Brasil otherNames first, then the subject CN."""
    outros = _outros_nomes(certificado)
    cnpj = _cnpj_de(outros.get(OID_CNPJ, ""))
    cpf = _cpf_de(outros.get(OID_DADOS_PESSOA_FISICA, ""))
    if cnpj or cpf:
        return cnpj, cpf
    return _documento_do_nome_comum(certificado.subject)


def _outros_nomes(certificado: x509.Certificate) -> dict[x509.ObjectIdentifier, str]:
    try:
        san = certificado.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return {}
    return {nome.type_id: _texto_de(nome.value) for nome in san.get_values_for_type(x509.OtherName)}


def _texto_de(valor: bytes) -> str:
    """The text inside an otherName value, whatever ASN.1 type (or explicit wrapper) the issuer used."""
    dados = bytes(valor)
    for _ in range(3):
        try:
            tag, conteudo, fim = _ler_tlv(dados, 0)
        except ValueError:
            break
        if fim != len(dados):
            break
        if tag == _BMP_STRING:
            return conteudo.decode("utf-16-be", errors="replace")
        if tag in _TIPOS_TEXTO:
            dados = _sem_embrulho(conteudo) if tag == 0x04 else conteudo
            break
        if not tag & 0x20:  # a primitive type we do not know: keep the raw bytes
            break
        dados = conteudo  # a constructed wrapper such as [0] EXPLICIT: look inside
    return dados.decode("latin-1")


def _sem_embrulho(conteudo: bytes) -> bytes:
    """An OCTET STRING some issuers fill with a DER string (PrintableString...) instead of the text."""
    try:
        tag, interno, fim = _ler_tlv(conteudo, 0)
    except ValueError:
        return conteudo
    return interno if fim == len(conteudo) and tag in _TIPOS_TEXTO - {0x04} else conteudo


def _cnpj_de(texto: str) -> str:
    candidato = re.sub(r"[^0-9A-Z]", "", texto.upper())[:14]
    return candidato if validar_cnpj(candidato) else ""


def _cpf_de(dados_pessoa_fisica: str) -> str:
    candidato = dados_pessoa_fisica[8:19]  # ddmmaaaa, then the CPF (DOC-ICP-04)
    return candidato if validar_cpf(candidato) else ""


def _documento_do_nome_comum(nome: x509.Name) -> tuple[str, str]:
    for atributo in nome.get_attributes_for_oid(NameOID.COMMON_NAME):
        casamento = _CN_COM_DOCUMENTO.fullmatch(str(atributo.value).strip())
        if not casamento:
            continue
        documento = casamento["documento"].upper()
        if len(documento) == 14 and validar_cnpj(documento):
            return documento, ""
        if len(documento) == 11 and validar_cpf(documento):
            return "", documento
    return "", ""


def _nome_comum(nome: x509.Name) -> str:
    atributos = nome.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(atributos[0].value).strip() if atributos else ""


# --- Minimal DER reading --------------------------------------------------------------------------


def _ler_tlv(dados: bytes, posicao: int) -> tuple[int, bytes, int]:
    """(tag, contents, position after) of the DER element at `posicao`; ValueError if malformed.

    An indefinite length (BER, written by a few old tools) takes the rest of the data.
    """
    if posicao + 2 > len(dados):
        raise ValueError("truncado")
    tag, tamanho = dados[posicao], dados[posicao + 1]
    posicao += 2
    if tag & 0x1F == 0x1F:
        raise ValueError("tag longa")
    if tamanho == 0x80:
        return tag, dados[posicao:], len(dados)
    if tamanho > 0x80:
        octetos = tamanho & 0x7F
        if octetos > 4 or posicao + octetos > len(dados):
            raise ValueError("tamanho inválido")
        tamanho = int.from_bytes(dados[posicao : posicao + octetos], "big")
        posicao += octetos
    fim = posicao + tamanho
    if fim > len(dados):
        raise ValueError("truncado")
    return tag, dados[posicao:fim], fim


def _parece_pkcs12(dados: bytes) -> bool:
    try:
        tag, pfx, _ = _ler_tlv(dados, 0)
        if tag != 0x30:
            return False
        tag, versao, posicao = _ler_tlv(pfx, 0)
        if tag != 0x02 or versao != b"\x03":
            return False
        tag, conteudo, _ = _ler_tlv(pfx, posicao)
        if tag != 0x30:
            return False
        tag, oid, _ = _ler_tlv(conteudo, 0)
    except ValueError:
        return False
    return tag == 0x06 and oid in (_OID_PKCS7_DATA, _OID_PKCS7_SIGNED_DATA)
