"""Test/demo certificates shaped like ICP-Brasil A1 (e-CNPJ / e-CPF), issued by a throwaway test CA.

Nothing here is trusted by anyone: the CA "AC TESTE FISCAL" exists only inside this process.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta, UTC
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.documentos.chave import somente_documento

# ICP-Brasil otherName OIDs (DOC-ICP-04): holder data of an e-CPF, name of the company's responsible
# person, CNPJ of an e-CNPJ, responsible person's data of an e-CNPJ.
OID_DADOS_PESSOA_FISICA = x509.ObjectIdentifier("2.16.76.1.3.1")
OID_NOME_RESPONSAVEL = x509.ObjectIdentifier("2.16.76.1.3.2")
OID_CNPJ = x509.ObjectIdentifier("2.16.76.1.3.3")
OID_DADOS_RESPONSAVEL = x509.ObjectIdentifier("2.16.76.1.3.4")

_NOME_AC = "AC TESTE FISCAL"
_INICIO_AC = datetime(2000, 1, 1, tzinfo=UTC)
_FIM_AC = datetime(2099, 12, 31, tzinfo=UTC)
# Fixed responsible person / holder data: birth date (8), CPF (11), NIS (11), RG (15), issuer+UF (6).
_NASCIMENTO = "01011980"
_CPF_RESPONSAVEL = "52998224725"


@dataclass
class CertificadoGerado:
    chave_privada: rsa.RSAPrivateKey
    certificado: x509.Certificate
    cadeia: list[x509.Certificate] = field(default_factory=list)  # issuers, leaf's issuer first
    cnpj: str | None = None
    cpf: str | None = None

    @property
    def documento(self) -> str:
        return self.cnpj or self.cpf or ""

    @property
    def nome(self) -> str:
        """Holder name: the CN without its ":CNPJ"/":CPF" suffix."""
        cn = str(self.certificado.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
        return cn.rsplit(":", 1)[0]

    def pfx(self, senha: bytes, legado: bool = False) -> bytes:
        """PKCS#12 with key, certificate and chain; ``legado`` uses 3DES/SHA-1 like old A1 files."""
        nome = self.certificado.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        return pkcs12.serialize_key_and_certificates(
            str(nome).encode(), self.chave_privada, self.certificado, self.cadeia, _protecao(senha, legado)
        )


def gerar_certificado(
    cnpj: str | None = "11222333000181",
    nome: str = "EMPRESA TESTE LTDA",
    cpf: str | None = None,
    dias_validade: int = 365,
    inicio: datetime | None = None,
    chave_bits: int = 2048,
    rotulo_chave: str = "folha",
    emissor: tuple[rsa.RSAPrivateKey, x509.Certificate] | None = None,
    autoassinado: bool = False,
) -> CertificadoGerado:
    """An e-CNPJ (or e-CPF when ``cpf`` is given) A1-like certificate signed by the test CA.

    Certificates with the same ``chave_bits`` and ``rotulo_chave`` share one RSA key (generation is
    slow); pass another ``rotulo_chave`` when a test needs a different key pair. The default start is
    90 days ago so the demo documents dated "recently" fall inside the validity. ``emissor`` (a key and
    certificate from `gerar_autoridade`) signs it instead of the test CA; ``autoassinado`` makes it its
    own issuer, as a forger would (no chain).
    """
    e_cpf = cpf is not None
    documento = somente_documento(cpf if e_cpf else cnpj or "")
    if not documento:
        raise ValueError("informe cnpj ou cpf")
    inicio = inicio or datetime.now(UTC).replace(microsecond=0) - timedelta(days=90)
    chave = _chave_rsa(chave_bits, rotulo_chave)
    titular = _nome_titular(nome, documento)
    chave_ac, certificado_ac = (chave, None) if autoassinado else (emissor or _ac(chave_bits))
    certificado = (
        x509.CertificateBuilder()
        .subject_name(titular)
        .issuer_name(certificado_ac.subject if certificado_ac else titular)
        .public_key(chave.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(inicio)
        .not_valid_after(inicio + timedelta(days=dias_validade))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_uso_chave(ac=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(_outros_nomes(nome, documento, e_cpf)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(chave.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(chave_ac.public_key()), critical=False
        )
        .sign(chave_ac, hashes.SHA256())
    )
    return CertificadoGerado(
        chave_privada=chave,
        certificado=certificado,
        cadeia=[certificado_ac] if certificado_ac else [],
        cnpj=None if e_cpf else documento,
        cpf=documento if e_cpf else None,
    )


@cache
def _chave_rsa(bits: int, rotulo: str) -> rsa.RSAPrivateKey:
    # RSA generation costs 50-500 ms; tests create many certificates, so one key per (bits, label).
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@cache
def _ac(bits: int) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    return _autoridade(_NOME_AC, _chave_rsa(bits, "ac"), None, path_length=0, serial=1)


def _autoridade(
    nome: str,
    chave: rsa.RSAPrivateKey,
    emissor: tuple[rsa.RSAPrivateKey, x509.Certificate] | None,
    path_length: int | None,
    serial: int | None = None,
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    sujeito = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ICP-Brasil TESTE"),
            x509.NameAttribute(NameOID.COMMON_NAME, nome),
        ]
    )
    chave_emissor, certificado_emissor = emissor or (chave, None)
    construtor = (
        x509.CertificateBuilder()
        .subject_name(sujeito)
        .issuer_name(certificado_emissor.subject if certificado_emissor else sujeito)
        .public_key(chave.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(_INICIO_AC)
        .not_valid_after(_FIM_AC)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_uso_chave(ac=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(chave.public_key()), critical=False)
    )
    if certificado_emissor is not None:
        construtor = construtor.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(chave_emissor.public_key()), critical=False
        )
    return chave, construtor.sign(chave_emissor, hashes.SHA256())


def gerar_autoridade(
    nome: str,
    emissor: tuple[rsa.RSAPrivateKey, x509.Certificate] | None = None,
    rotulo_chave: str | None = None,
    chave_bits: int = 2048,
    path_length: int | None = 0,
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """Key and certificate of another test CA: a root when ``emissor`` is None, else issued by it.

    Same ``rotulo_chave`` (default: the name), same key; a different label with an existing name makes
    an impostor CA, as a forger would.
    """
    return _autoridade(nome, _chave_rsa(chave_bits, rotulo_chave or f"ac:{nome}"), emissor, path_length)


def pem_autoridade_teste(chave_bits: int = 2048) -> bytes:
    """The test CA's certificate in PEM, to trust it via FISCAL_CADEIA_CERTIFICADOS_EXTRAS (same process)."""
    return _ac(chave_bits)[1].public_bytes(serialization.Encoding.PEM)


def _nome_titular(nome: str, documento: str) -> x509.Name:
    # ICP-Brasil subject: CN is "NAME:CNPJ" (e-CNPJ) or "NAME:CPF" (e-CPF).
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ICP-Brasil"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Certificado de TESTE A1"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{nome}:{documento}"),
        ]
    )


def _outros_nomes(nome: str, documento: str, e_cpf: bool) -> list[x509.GeneralName]:
    if e_cpf:
        dados = f"{_NASCIMENTO}{documento}{'0' * 11}{'0' * 15}SSPSP "
        return [x509.OtherName(OID_DADOS_PESSOA_FISICA, _octet_string(dados))]
    responsavel = f"{_NASCIMENTO}{_CPF_RESPONSAVEL}{'0' * 11}{'0' * 15}SSPSP "
    return [
        x509.OtherName(OID_DADOS_RESPONSAVEL, _octet_string(responsavel)),
        x509.OtherName(OID_NOME_RESPONSAVEL, _octet_string(f"RESPONSAVEL {nome}"[:60])),
        x509.OtherName(OID_CNPJ, _octet_string(documento)),
    ]


def _octet_string(texto: str) -> bytes:
    # otherName values are DER OCTET STRINGs holding ASCII text (DOC-ICP-04); short-form lengths only.
    dados = texto.encode("ascii")
    if len(dados) > 127:
        raise ValueError("valor longo demais para otherName")
    return bytes([0x04, len(dados)]) + dados


def _uso_chave(ac: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ac,
        content_commitment=not ac,
        key_encipherment=not ac,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ac,
        crl_sign=ac,
        encipher_only=False,
        decipher_only=False,
    )


def _protecao(senha: bytes, legado: bool) -> serialization.KeySerializationEncryption:
    if legado:
        # What Windows/older OpenSSL wrote for years; loaders must still accept it.
        return (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(2048)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())
            .build(senha)
        )
    if not senha:
        return serialization.NoEncryption()
    return serialization.BestAvailableEncryption(senha)


def autoridade_teste(chave_bits: int = 2048) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """Key and certificate of the test CA ("AC TESTE FISCAL") that issues every certificate made here.

    One per process: a certificate generated in one process is not trusted by another one's CA.
    """
    return _ac(chave_bits)


def gerar_certificado_servidor(
    nomes: tuple[str, ...] = ("localhost",),
    ips: tuple[str, ...] = ("127.0.0.1",),
    dias_validade: int = 365,
    chave_bits: int = 2048,
) -> CertificadoGerado:
    """A TLS server certificate (SAN DNS ``nomes`` + IP ``ips``) issued by the test CA, for local simulators."""
    chave_ac, certificado_ac = _ac(chave_bits)
    chave = _chave_rsa(chave_bits, "servidor-tls")
    inicio = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    nomes_alternativos: list[x509.GeneralName] = [x509.DNSName(nome) for nome in nomes]
    nomes_alternativos += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    certificado = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, nomes[0] if nomes else ips[0])]))
        .issuer_name(certificado_ac.subject)
        .public_key(chave.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(inicio)
        .not_valid_after(inicio + timedelta(days=dias_validade))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=True, data_encipherment=False,
                key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(nomes_alternativos), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(chave_ac.public_key()), critical=False
        )
        .sign(chave_ac, hashes.SHA256())
    )
    return CertificadoGerado(chave_privada=chave, certificado=certificado, cadeia=[certificado_ac])
