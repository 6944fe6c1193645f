"""Loading A1 files: what is accepted, what is read from it, and the message for each kind of bad file."""

import hashlib
import os
from datetime import datetime, timedelta, UTC

import pytest
from cryptography.hazmat.primitives import serialization

from core.certificados import A1, CertificadoInvalido, carregar_pfx
from core.certificados.a1 import OID_CNPJ, OID_DADOS_PESSOA_FISICA, documentos_do_certificado
from tests.certificados.conftest import CNPJ_ALFANUMERICO, SENHA, autoassinado, der_texto, pfx


def test_it_loads_an_e_cnpj_with_its_metadata(e_cnpj, emissor):
    a1 = carregar_pfx(e_cnpj.pfx, SENHA)

    assert isinstance(a1, A1)
    assert (a1.cnpj, a1.cpf, a1.documento) == ("11222333000181", "", "11222333000181")
    assert a1.titular == "DISTRIBUIDORA AURORA LTDA"
    assert a1.emissor == "AC TESTE FISCAL"
    assert a1.numero_serie == format(emissor.certificado.serial_number, "x")
    der = emissor.certificado.public_bytes(serialization.Encoding.DER)
    assert a1.thumbprint == hashlib.sha256(der).hexdigest()
    assert a1.validade_inicio == emissor.certificado.not_valid_before_utc
    assert a1.validade_fim == emissor.certificado.not_valid_after_utc
    assert a1.dias_para_vencer == (a1.validade_fim - datetime.now(UTC)).days
    assert [c.subject for c in a1.cadeia] == [emissor.cadeia[0].subject]
    assert a1.pem_certificados().count(b"BEGIN CERTIFICATE") == 2
    assert b"PRIVATE KEY" in a1.pem_chave()


def test_it_loads_an_e_cpf_from_the_holder_data_otherName(e_cpf):
    a1 = carregar_pfx(e_cpf.pfx, SENHA)
    assert (a1.cnpj, a1.cpf, a1.titular) == ("", "52998224725", "MARIA DA SILVA")


def test_it_loads_legacy_3des_files(e_cnpj_legado):
    assert carregar_pfx(e_cnpj_legado.pfx, SENHA).cnpj == "11222333000181"


def test_it_loads_legacy_rc2_40_files(rc2):
    a1 = carregar_pfx(rc2.pfx, SENHA)
    assert a1.cnpj == "11222333000181" and len(a1.cadeia) == 1


def test_it_accepts_an_alphanumeric_cnpj(alfanumerico):
    assert carregar_pfx(alfanumerico.pfx, SENHA).cnpj == CNPJ_ALFANUMERICO


def test_it_accepts_a_certificate_of_an_untrusted_issuer_with_the_cnpj_only_in_the_cn(autoassinado_com_cnpj_no_cn):
    a1 = carregar_pfx(autoassinado_com_cnpj_no_cn.pfx, SENHA)

    assert (a1.cnpj, a1.titular, a1.emissor) == ("19131243000197", "EMPRESA INDEPENDENTE LTDA", a1.titular + ":19131243000197")
    assert a1.cadeia == []


def test_an_empty_password_opens_a_file_without_one(emissor):
    assert carregar_pfx(emissor.pfx(b""), "").cnpj == "11222333000181"


@pytest.mark.parametrize("tag", [0x04, 0x13, 0x0C, 0x16], ids=["octet", "printable", "utf8", "ia5"])
def test_the_cnpj_otherName_may_use_any_string_type(tag):
    valor = der_texto(tag, "11222333000181")
    if tag == 0x04:  # an OCTET STRING wrapping a PrintableString, as some issuers write it
        valor = der_texto(0x04, der_texto(0x13, "11222333000181").decode("latin-1"))
    _, certificado = autoassinado("EMPRESA SEM CN COM DOCUMENTO", [(OID_CNPJ.dotted_string, valor)])
    assert documentos_do_certificado(certificado) == ("11222333000181", "")


def test_the_cpf_is_read_after_the_birth_date_and_zero_filled_fields_are_ignored():
    _, certificado = autoassinado(
        "JOAO SEM CPF NO CN",
        [(OID_DADOS_PESSOA_FISICA.dotted_string, der_texto(0x04, "15031975" + "52998224725" + "0" * 26)),
         (OID_CNPJ.dotted_string, der_texto(0x04, "0" * 14))],
    )  # fmt: skip
    assert documentos_do_certificado(certificado) == ("", "52998224725")


def test_a_cn_with_an_invalid_cnpj_does_not_count():
    _, certificado = autoassinado("EMPRESA:11222333000100")
    assert documentos_do_certificado(certificado) == ("", "")


# --- Bad files -----------------------------------------------------------------------------------


def _erro(dados: bytes, senha: str = SENHA, **kwargs) -> CertificadoInvalido:
    with pytest.raises(CertificadoInvalido) as erro:
        carregar_pfx(dados, senha, **kwargs)
    assert SENHA not in str(erro.value) and senha not in str(erro.value)
    return erro.value


def test_a_wrong_password_blames_the_password(e_cnpj, e_cnpj_legado):
    for arquivo in (e_cnpj, e_cnpj_legado):
        erro = _erro(arquivo.pfx, "senha-errada")
        assert erro.campo == "senha"
        assert str(erro) == "Senha incorreta para este certificado."


@pytest.mark.parametrize(
    ("dados", "trecho"),
    [
        (os.urandom(2048), "não é um certificado A1"),
        (b"", "vazio"),
        (b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "formato PEM"),
        (b"\x30" * (2 * 1024 * 1024), "mais de 1 MiB"),
    ],
    ids=["aleatorio", "vazio", "pem", "grande"],
)
def test_what_is_not_a_pkcs12_file_blames_the_file(dados, trecho):
    erro = _erro(dados)
    assert erro.campo == "arquivo" and trecho in str(erro)


def test_a_truncated_file_blames_the_file(e_cnpj):
    erro = _erro(e_cnpj.pfx[: len(e_cnpj.pfx) // 2])
    assert erro.campo == "arquivo"


def test_a_file_without_the_private_key_is_refused(sem_chave):
    assert "não contém a chave privada" in str(_erro(sem_chave.pfx))


def test_a_key_that_does_not_match_the_certificate_is_refused(chave_trocada):
    assert "não corresponde ao certificado" in str(_erro(chave_trocada.pfx))


def test_an_expired_certificate_is_refused_unless_validity_is_not_checked(vencido):
    erro = _erro(vencido.pfx)
    assert erro.campo == "arquivo" and "venceu em" in str(erro)
    assert carregar_pfx(vencido.pfx, SENHA, verificar_validade=False).dias_para_vencer < 0


def test_a_certificate_not_yet_valid_is_refused(futuro):
    assert "só é válido a partir de" in str(_erro(futuro.pfx))


def test_it_tolerates_a_few_minutes_of_clock_difference():
    chave, certificado = autoassinado("RECEM EMITIDO:11222333000181", inicio=datetime.now(UTC) + timedelta(minutes=2))
    assert carregar_pfx(pfx(chave, certificado), SENHA).cnpj == "11222333000181"


def test_a_certificate_without_cnpj_or_cpf_is_refused(sem_documento):
    erro = _erro(sem_documento.pfx)
    assert erro.campo == "arquivo" and "não traz CNPJ nem CPF" in str(erro)


def test_the_repr_never_shows_the_private_key(e_cnpj):
    texto = repr(carregar_pfx(e_cnpj.pfx, SENHA))
    assert "chave_privada" not in texto and "PRIVATE" not in texto
