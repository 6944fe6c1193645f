"""Real A1 files for the certificate tests, made once per session.

Most come from `core.geracao.certificado` (ICP-Brasil-shaped, issued by the throwaway test CA); the
odd ones (self-signed, no document, otherName in another string type) are built here with
cryptography, with EC keys because they are instant to generate.
"""

import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta, UTC

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.core.files.uploadedfile import SimpleUploadedFile

from core.documentos.chave import digitos_cnpj
from core.geracao.certificado import gerar_certificado
from tests.api.conftest import cliente_com_token

SENHA = "Senha-do-PFX-7q2w!"
CNPJ_ALFANUMERICO = "12ABC34501DE" + digitos_cnpj("12ABC34501DE")


@dataclass(frozen=True)
class Arquivo:
    """An A1 file as a user would upload it."""

    pfx: bytes
    senha: str = SENHA
    cnpj: str = ""
    cpf: str = ""

    def upload(self, nome="certificado.pfx") -> SimpleUploadedFile:
        return SimpleUploadedFile(nome, self.pfx, content_type="application/x-pkcs12")


def protecao(senha: str = SENHA):
    return serialization.BestAvailableEncryption(senha.encode())


def do_gerado(gerado, *, legado=False, senha=SENHA) -> Arquivo:
    return Arquivo(gerado.pfx(senha.encode(), legado=legado), senha, gerado.cnpj or "", gerado.cpf or "")


def autoassinado(cn: str, outros_nomes=(), *, atributos=(), inicio=None, dias=365):
    """(key, certificate) self-signed, with the given CN and otherNames (list of (oid, DER value))."""
    chave = ec.generate_private_key(ec.SECP256R1())
    nome = x509.Name([*atributos, x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    inicio = inicio or datetime.now(UTC) - timedelta(days=1)
    construtor = (
        x509.CertificateBuilder()
        .subject_name(nome)
        .issuer_name(nome)
        .public_key(chave.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(inicio)
        .not_valid_after(inicio + timedelta(days=dias))
    )
    if outros_nomes:
        nomes = [x509.OtherName(x509.ObjectIdentifier(oid), valor) for oid, valor in outros_nomes]
        construtor = construtor.add_extension(x509.SubjectAlternativeName(nomes), critical=False)
    return chave, construtor.sign(chave, hashes.SHA256())


def pfx(chave, certificado, cadeia=None, senha=SENHA) -> bytes:
    return pkcs12.serialize_key_and_certificates(b"teste", chave, certificado, cadeia, protecao(senha))


def der_texto(tag: int, texto: str) -> bytes:
    dados = texto.encode("ascii")
    return bytes([tag, len(dados)]) + dados


# --- Files from the ICP-Brasil-shaped generator -----------------------------------------------------


@pytest.fixture(scope="session")
def e_cnpj(emissor) -> Arquivo:
    """DISTRIBUIDORA AURORA LTDA, CNPJ 11222333000181, with the test CA in its chain."""
    return do_gerado(emissor)


@pytest.fixture(scope="session")
def e_cnpj_legado(emissor) -> Arquivo:
    return do_gerado(emissor, legado=True)


@pytest.fixture(scope="session")
def e_cpf() -> Arquivo:
    return do_gerado(gerar_certificado(cpf="52998224725", nome="MARIA DA SILVA"))


@pytest.fixture(scope="session")
def outro_e_cnpj(transportadora) -> Arquivo:
    return do_gerado(transportadora)


@pytest.fixture(scope="session")
def alfanumerico() -> Arquivo:
    return do_gerado(gerar_certificado(cnpj=CNPJ_ALFANUMERICO, nome="EMPRESA ALFANUMERICA SA"))


@pytest.fixture(scope="session")
def vencido() -> Arquivo:
    inicio = datetime.now(UTC) - timedelta(days=400)
    return do_gerado(gerar_certificado(cnpj="11444777000161", inicio=inicio, dias_validade=365))


@pytest.fixture(scope="session")
def futuro() -> Arquivo:
    inicio = datetime.now(UTC) + timedelta(days=2)
    return do_gerado(gerar_certificado(cnpj="11444777000161", inicio=inicio))


@pytest.fixture(scope="session")
def rc2(emissor, tmp_path_factory) -> Arquivo:
    """What old Windows/OpenSSL exports look like: certificates under RC2-40, the key under 3DES."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl não está instalado")
    pasta = tmp_path_factory.mktemp("rc2")
    (pasta / "chave.pem").write_bytes(
        emissor.chave_privada.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (pasta / "cert.pem").write_bytes(emissor.certificado.public_bytes(serialization.Encoding.PEM))
    (pasta / "ac.pem").write_bytes(emissor.cadeia[0].public_bytes(serialization.Encoding.PEM))
    comando = [
        openssl, "pkcs12", "-export", "-legacy", "-certpbe", "PBE-SHA1-RC2-40", "-keypbe", "PBE-SHA1-3DES",
        "-inkey", "chave.pem", "-in", "cert.pem", "-certfile", "ac.pem", "-out", "rc2.pfx", "-passout", "env:SENHA_PFX",
    ]  # fmt: skip
    feito = subprocess.run(comando, cwd=pasta, env={"SENHA_PFX": SENHA}, capture_output=True, text=True)
    if feito.returncode != 0:
        pytest.skip(f"este openssl não gera PKCS#12 RC2-40: {feito.stderr[:200]}")
    info = subprocess.run(
        [openssl, "pkcs12", "-info", "-noout", "-legacy", "-in", "rc2.pfx", "-passin", "env:SENHA_PFX"],
        cwd=pasta, env={"SENHA_PFX": SENHA}, capture_output=True, text=True,
    )  # fmt: skip
    assert "40BitRC2" in info.stdout + info.stderr  # really the legacy algorithm
    return Arquivo((pasta / "rc2.pfx").read_bytes(), SENHA, emissor.cnpj)


# --- Odd files built by hand ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def autoassinado_com_cnpj_no_cn() -> Arquivo:
    """Issued by nobody SEFAZ trusts, CNPJ only in the CN: accepted at upload (trust is SEFAZ's call)."""
    chave, certificado = autoassinado(
        "EMPRESA INDEPENDENTE LTDA:19131243000197",
        atributos=[x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "PR")],
    )
    return Arquivo(pfx(chave, certificado), SENHA, "19131243000197")


@pytest.fixture(scope="session")
def sem_documento() -> Arquivo:
    chave, certificado = autoassinado("EMPRESA SEM DOCUMENTO")
    return Arquivo(pfx(chave, certificado))


@pytest.fixture(scope="session")
def sem_chave(emissor) -> Arquivo:
    return Arquivo(pkcs12.serialize_key_and_certificates(None, None, emissor.certificado, emissor.cadeia, protecao()))


@pytest.fixture(scope="session")
def chave_trocada(emissor) -> Arquivo:
    """A private key with a certificate of another key pair."""
    outra, _ = autoassinado("OUTRA:19131243000197")
    return Arquivo(pkcs12.serialize_key_and_certificates(b"x", outra, None, [emissor.certificado], protecao()))


# --- API clients ---------------------------------------------------------------------------------


@pytest.fixture
def api(nova_org):
    return cliente_com_token(nova_org.usuario)


@pytest.fixture
def api_outra(outra_org):
    from core.models import Membro

    return cliente_com_token(Membro.objects.get(organizacao=outra_org).usuario)
