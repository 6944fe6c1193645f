"""TLS of the simulator and who is calling: server context, CA bundle, identity in the client certificate.

The Ambiente Nacional requires an ICP-Brasil client certificate on every connection and takes the
caller's identity from it: the CNPJ in the otherName 2.16.76.1.3.3, or the CPF inside 2.16.76.1.3.1
(DOC-ICP-04; cStat 473 of NT 2014.002). Test certificates also carry "NOME:CNPJ" in the CN, used as a fallback.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from core.geracao.certificado import OID_CNPJ, OID_DADOS_PESSOA_FISICA, CertificadoGerado

_TAGS_DE_TEXTO = {0x04, 0x0C, 0x13, 0x16}  # OCTET STRING, UTF8String, PrintableString, IA5String


@dataclass(frozen=True)
class Identidade:
    """The caller as the certificate names it; both None when it carries no CNPJ/CPF (cStat 473)."""

    cnpj: str | None = None
    cpf: str | None = None

    @property
    def documento(self) -> str | None:
        return self.cnpj or self.cpf


def identidade_do_certificado(der: bytes | None) -> Identidade:
    if not der:
        return Identidade()
    certificado = x509.load_der_x509_certificate(der)
    cnpj, cpf = _documentos_icp(certificado)
    if cnpj or cpf:
        return Identidade(cnpj=cnpj, cpf=cpf)
    return _identidade_do_cn(certificado)


def contexto_servidor(servidor: CertificadoGerado, cas_confiaveis: Iterable[x509.Certificate]) -> ssl.SSLContext:
    """TLS ≥ 1.2, client certificate required and verified against ``cas_confiaveis``."""
    contexto = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    contexto.minimum_version = ssl.TLSVersion.TLSv1_2
    contexto.verify_mode = ssl.CERT_REQUIRED
    _carregar_certificado(contexto, servidor)
    for ca in cas_confiaveis:
        confiar(contexto, ca)
    return contexto


def confiar(contexto: ssl.SSLContext, ca: x509.Certificate) -> None:
    # Adds to the context's store: handshakes that start afterwards accept certificates issued by `ca`.
    contexto.load_verify_locations(cadata=ca.public_bytes(serialization.Encoding.PEM).decode("ascii"))


def escrever_pem(caminho: str, certificados: Iterable[x509.Certificate]) -> str:
    with open(caminho, "wb") as arquivo:
        for certificado in certificados:
            arquivo.write(certificado.public_bytes(serialization.Encoding.PEM))
    return caminho


def _carregar_certificado(contexto: ssl.SSLContext, servidor: CertificadoGerado) -> None:
    # ssl only loads keys from files: a private directory, removed as soon as OpenSSL has read it.
    chave = servidor.chave_privada.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cadeia = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [servidor.certificado, *servidor.cadeia])
    with tempfile.TemporaryDirectory(prefix="sefaz-simulador-") as pasta:
        caminho = os.path.join(pasta, "servidor.pem")
        descritor = os.open(caminho, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descritor, "wb") as arquivo:
            arquivo.write(chave + cadeia)
        contexto.load_cert_chain(caminho)


def _documentos_icp(certificado: x509.Certificate) -> tuple[str | None, str | None]:
    try:
        nomes = certificado.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None, None
    cnpj = cpf = None
    for outro in nomes.get_values_for_type(x509.OtherName):
        texto = _texto_der(outro.value)
        if outro.type_id == OID_CNPJ and len(texto) >= 14:
            cnpj = texto[:14].upper()
        elif outro.type_id == OID_DADOS_PESSOA_FISICA and len(texto) >= 19:
            cpf = texto[8:19]  # birth date (8), then the CPF (11): DOC-ICP-04
    return cnpj, cpf


def _texto_der(valor: bytes) -> str:
    """The text inside a DER string value (possibly wrapped in an explicit [0] tag)."""
    if len(valor) < 2:
        return ""
    tag, tamanho, inicio = valor[0], valor[1], 2
    if tamanho & 0x80:  # long form: the low bits say how many length bytes follow
        quantos = tamanho & 0x7F
        tamanho, inicio = int.from_bytes(valor[2 : 2 + quantos], "big"), 2 + quantos
    conteudo = valor[inicio : inicio + tamanho]
    if tag == 0xA0:
        return _texto_der(conteudo)
    if tag not in _TAGS_DE_TEXTO:
        return ""
    return conteudo.decode("latin-1").strip()


def _identidade_do_cn(certificado: x509.Certificate) -> Identidade:
    nomes = certificado.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not nomes or ":" not in str(nomes[0].value):
        return Identidade()
    documento = str(nomes[0].value).rsplit(":", 1)[1].strip().upper()
    if len(documento) == 14 and documento[12:].isdigit() and documento.isalnum():
        return Identidade(cnpj=documento)
    if len(documento) == 11 and documento.isdigit():
        return Identidade(cpf=documento)
    return Identidade()
