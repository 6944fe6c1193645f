"""Signer trust: does a certificate chain to a trusted ICP-Brasil root (core/certificados/cadeia.py)?

Generated certificates come from core.geracao.certificado (the test CA "AC TESTE FISCAL", trusted only
through FISCAL_CADEIA_CERTIFICADOS_EXTRAS); the shipped ICP-Brasil store is checked file by file, and
against the real signed samples of ../shared/samples when they are beside the repository.
"""

import base64
import re
import zipfile
from datetime import datetime, timedelta, UTC
from io import StringIO
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.management import CommandError, call_command

from core.certificados.cadeia import (
    PASTA_ICP_BRASIL,
    RepositorioInvalido,
    carregar_repositorio,
    certificados_da_pasta,
    documentos_do_signatario,
    impressao_digital,
    nome_comum,
    verificar_cadeia,
)
from core.geracao.certificado import autoridade_teste, gerar_autoridade, gerar_certificado, pem_autoridade_teste

AMOSTRAS = Path(__file__).resolve().parents[3] / "shared" / "samples"


def der(certificado: x509.Certificate) -> bytes:
    return certificado.public_bytes(serialization.Encoding.DER)


def pem(certificado: x509.Certificate) -> bytes:
    return certificado.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def confiar(settings, tmp_path):
    """Trust the given PEM contents as extras (a list replaces the setting)."""

    def confiar(*conteudos: bytes) -> None:
        caminhos = []
        for indice, conteudo in enumerate(conteudos):
            caminho = tmp_path / f"extra-{indice}.pem"
            caminho.write_bytes(conteudo)
            caminhos.append(str(caminho))
        settings.FISCAL_CADEIA_CERTIFICADOS_EXTRAS = caminhos

    return confiar


@pytest.fixture
def ac_teste_confiavel(confiar):
    confiar(pem_autoridade_teste())


# --- Generated certificates -------------------------------------------------------------------------


def test_it_trusts_a_leaf_of_a_test_ca_trusted_by_the_setting(ac_teste_confiavel):
    gerado = gerar_certificado(cnpj="11222333000181", nome="EMPRESA TESTE LTDA")

    resultado = verificar_cadeia(der(gerado.certificado))

    assert resultado.confiavel, resultado.motivo
    assert not resultado.autoassinado and resultado.motivo == ""
    assert resultado.cadeia == [gerado.certificado.subject.rfc4514_string(), gerado.cadeia[0].subject.rfc4514_string()]


def test_without_the_setting_the_same_leaf_is_not_trusted_and_the_issuer_is_named(settings):
    settings.FISCAL_CADEIA_CERTIFICADOS_EXTRAS = []
    gerado = gerar_certificado()

    resultado = verificar_cadeia(der(gerado.certificado))

    assert not resultado.confiavel and not resultado.autoassinado
    assert resultado.motivo == 'emissor "AC TESTE FISCAL" não pertence à cadeia ICP-Brasil conhecida'
    assert resultado.cadeia == [gerado.certificado.subject.rfc4514_string()]


def test_changing_the_setting_is_seen_without_clearing_the_cache(settings, confiar):
    folha = der(gerar_certificado().certificado)
    confiar(pem_autoridade_teste())
    assert verificar_cadeia(folha).confiavel
    settings.FISCAL_CADEIA_CERTIFICADOS_EXTRAS = []
    assert not verificar_cadeia(folha).confiavel


def test_a_self_signed_certificate_is_flagged_as_such(ac_teste_confiavel):
    petrobras = gerar_certificado(cnpj="33000167000101", nome="PETROLEO BRASILEIRO S A PETROBRAS", autoassinado=True)

    resultado = verificar_cadeia(der(petrobras.certificado))

    assert resultado.autoassinado and not resultado.confiavel
    assert resultado.motivo == "certificado autoassinado"
    assert documentos_do_signatario(der(petrobras.certificado)) == ("33000167000101", "")


def test_an_issuer_name_copied_from_a_trusted_ca_does_not_make_it_trusted(ac_teste_confiavel):
    impostora = gerar_autoridade("AC TESTE FISCAL", rotulo_chave="impostora")
    forjado = gerar_certificado(nome="PETROBRAS", cnpj="33000167000101", emissor=impostora)

    resultado = verificar_cadeia(der(forjado.certificado))

    assert not resultado.confiavel and not resultado.autoassinado
    assert "não confere com o emissor \"AC TESTE FISCAL\"" in resultado.motivo


def test_an_impostor_ca_carried_by_the_document_is_not_an_anchor(ac_teste_confiavel):
    impostora = gerar_autoridade("AC TESTE FISCAL", rotulo_chave="impostora")
    forjado = gerar_certificado(nome="PETROBRAS", cnpj="33000167000101", emissor=impostora)

    resultado = verificar_cadeia(der(forjado.certificado), [der(impostora[1])])

    assert not resultado.confiavel
    assert resultado.motivo == 'a cadeia termina em "AC TESTE FISCAL", que não é uma raiz ICP-Brasil confiável'
    assert len(resultado.cadeia) == 2


def test_an_intermediate_carried_by_the_document_completes_the_chain(confiar):
    raiz = gerar_autoridade("AC RAIZ TESTE", path_length=1)
    intermediaria = gerar_autoridade("AC INTERMEDIARIA TESTE RFB", emissor=raiz)
    folha = gerar_certificado(emissor=intermediaria)
    confiar(pem(raiz[1]))

    sem = verificar_cadeia(der(folha.certificado))
    com = verificar_cadeia(der(folha.certificado), [der(intermediaria[1])])

    assert not sem.confiavel
    assert sem.motivo == 'emissor "AC INTERMEDIARIA TESTE RFB" não pertence à cadeia ICP-Brasil conhecida'
    assert com.confiavel, com.motivo
    assert [nome_comum(x509.Name.from_rfc4514_string(s)) for s in com.cadeia] == [
        "EMPRESA TESTE LTDA:11222333000181",
        "AC INTERMEDIARIA TESTE RFB",
        "AC RAIZ TESTE",
    ]


def test_intermediates_may_also_come_from_the_setting(confiar):
    raiz = gerar_autoridade("AC RAIZ TESTE", path_length=1)
    intermediaria = gerar_autoridade("AC INTERMEDIARIA TESTE RFB", emissor=raiz)
    confiar(pem(raiz[1]) + pem(intermediaria[1]))

    assert verificar_cadeia(der(gerar_certificado(emissor=intermediaria).certificado)).confiavel


def test_an_intermediate_alone_is_not_an_anchor(confiar):
    raiz = gerar_autoridade("AC RAIZ TESTE", path_length=1)
    intermediaria = gerar_autoridade("AC INTERMEDIARIA TESTE RFB", emissor=raiz)
    confiar(pem(intermediaria[1]))

    resultado = verificar_cadeia(der(gerar_certificado(emissor=intermediaria).certificado))

    assert not resultado.confiavel
    assert resultado.motivo == 'emissor "AC RAIZ TESTE" não pertence à cadeia ICP-Brasil conhecida'


def test_a_real_leaf_cannot_issue_certificates(ac_teste_confiavel):
    # The holder of a genuine e-CNPJ signs a "Petrobras" certificate with its own key and ships both.
    verdadeiro = gerar_certificado(cnpj="11222333000181", nome="EMPRESA TESTE LTDA")
    forjado = gerar_certificado(
        cnpj="33000167000101", nome="PETROBRAS", rotulo_chave="forjado",
        emissor=(verdadeiro.chave_privada, verdadeiro.certificado),
    )  # fmt: skip

    resultado = verificar_cadeia(der(forjado.certificado), [der(verdadeiro.certificado)])

    assert not resultado.confiavel
    assert "não é uma autoridade certificadora" in resultado.motivo


def test_a_ca_below_its_path_length_limit_is_refused(ac_teste_confiavel):
    # The test CA has pathLenConstraint 0: it may issue leaves only, not another CA.
    sub = gerar_autoridade("AC SUBORDINADA TESTE", emissor=autoridade_teste())
    folha = gerar_certificado(emissor=sub)

    resultado = verificar_cadeia(der(folha.certificado), [der(sub[1])])

    assert not resultado.confiavel
    assert "pathLenConstraint" in resultado.motivo


def test_look_alike_certificates_in_the_document_cannot_make_the_search_explode(ac_teste_confiavel):
    # 8 copies of an intermediate A (same name, same key) signed by the key of 8 copies of B: 64 paths.
    chave_a, chave_b, chave_c = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    nome_c = _nome("AC C")
    copias_b = [_certificado(_nome("AC B"), chave_b, nome_c, chave_c) for _ in range(8)]
    copias_a = [_certificado(_nome("AC A"), chave_a, copias_b[0].subject, chave_b) for _ in range(8)]
    folha = gerar_certificado(emissor=(chave_a, copias_a[0]), rotulo_chave="folha-ec")

    resultado = verificar_cadeia(der(folha.certificado), [der(c) for c in copias_a + copias_b])

    assert not resultado.confiavel
    assert "exigem mais de 64 verificações" in resultado.motivo


def _nome(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _certificado(sujeito: x509.Name, chave, emissor: x509.Name, chave_emissor) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(sujeito)
        .issuer_name(emissor)
        .public_key(chave.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2040, 1, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(chave_emissor, hashes.SHA256())
    )


def test_dates_are_checked_at_the_given_moment_only(ac_teste_confiavel):
    inicio = datetime(2024, 1, 10, tzinfo=UTC)
    gerado = gerar_certificado(inicio=inicio, dias_validade=365)
    folha = der(gerado.certificado)

    assert verificar_cadeia(folha).confiavel  # expired today, but no moment given
    assert verificar_cadeia(folha, momento=datetime(2024, 6, 1, 12, 0)).confiavel  # naive = UTC
    antes = verificar_cadeia(folha, momento=inicio - timedelta(days=1))
    depois = verificar_cadeia(folha, momento=inicio + timedelta(days=400))
    assert not antes.confiavel and not depois.confiavel
    assert antes.motivo.startswith('o certificado "EMPRESA TESTE LTDA:11222333000181" não era válido em 09/01/2024')
    assert "validade de 10/01/2024 a 09/01/2025" in depois.motivo


def test_every_certificate_of_the_path_is_checked_at_the_moment(ac_teste_confiavel):
    # The test CA is valid from 2000-01-01: a leaf dated 1999 chains today but not at its own date.
    gerado = gerar_certificado(inicio=datetime(1999, 6, 1, tzinfo=UTC), dias_validade=365)
    folha = der(gerado.certificado)

    assert verificar_cadeia(folha).confiavel
    resultado = verificar_cadeia(folha, momento=datetime(1999, 7, 1, tzinfo=UTC))
    assert not resultado.confiavel
    assert resultado.motivo.startswith('o certificado "AC TESTE FISCAL" não era válido em 01/07/1999')


def test_changing_a_result_does_not_change_the_next_one(ac_teste_confiavel):
    folha = der(gerar_certificado().certificado)
    verificar_cadeia(folha).cadeia.clear()

    assert len(verificar_cadeia(folha).cadeia) == 2


def test_an_unreadable_certificate_is_a_result_not_an_exception(ac_teste_confiavel):
    resultado = verificar_cadeia(b"\x30\x03\x02\x01\x00")

    assert not resultado.confiavel and "ilegível" in resultado.motivo
    assert documentos_do_signatario(b"lixo") == ("", "")


def test_the_signers_documents_come_from_the_icp_brasil_other_names():
    assert documentos_do_signatario(der(gerar_certificado(cnpj="11222333000181").certificado)) == ("11222333000181", "")
    assert documentos_do_signatario(der(gerar_certificado(cpf="52998224725").certificado)) == ("", "52998224725")


def test_a_missing_extra_file_names_the_setting_and_the_file(settings, tmp_path):
    settings.FISCAL_CADEIA_CERTIFICADOS_EXTRAS = [str(tmp_path / "nao-existe.pem")]

    with pytest.raises(RepositorioInvalido, match=r"FISCAL_CADEIA_CERTIFICADOS_EXTRAS: o arquivo .*nao-existe\.pem"):
        carregar_repositorio()


def test_an_extra_file_without_a_certificate_names_the_file(confiar):
    confiar(b"isto nao e um certificado")

    with pytest.raises(RepositorioInvalido, match=r"extra-0\.pem não contém um certificado"):
        carregar_repositorio()


# --- The shipped ICP-Brasil store -------------------------------------------------------------------

ARQUIVOS = certificados_da_pasta()


def test_the_shipped_store_has_the_icp_brasil_roots(settings):
    settings.FISCAL_CADEIA_CERTIFICADOS_EXTRAS = []
    raizes = {nome_comum(c.subject) for _, c in ARQUIVOS if c.subject == c.issuer}

    assert {f"Autoridade Certificadora Raiz Brasileira v{v}" for v in (1, 2, 5, 12)} <= raizes
    assert len(carregar_repositorio().raizes) == len(raizes)


@pytest.mark.parametrize("arquivo,certificado", ARQUIVOS, ids=[a.name for a, _ in ARQUIVOS])
def test_every_shipped_ac_chains_to_a_shipped_root(settings, arquivo, certificado):
    settings.FISCAL_CADEIA_CERTIFICADOS_EXTRAS = []
    resultado = verificar_cadeia(der(certificado))

    if certificado.subject == certificado.issuer:
        assert resultado.autoassinado
    else:
        assert resultado.confiavel, f"{arquivo.name}: {resultado.motivo}"
        assert nome_comum(x509.Name.from_rfc4514_string(resultado.cadeia[-1])).startswith(
            "Autoridade Certificadora Raiz Brasileira"
        )


def test_fontes_lists_every_shipped_file_with_its_fingerprint():
    fontes = (PASTA_ICP_BRASIL / "FONTES.md").read_text(encoding="utf-8")
    linhas = {linha.split("|")[1].strip(" `"): linha for linha in fontes.splitlines() if linha.startswith("| `")}

    assert set(linhas) == {arquivo.name for arquivo, _ in ARQUIVOS}
    for arquivo, certificado in ARQUIVOS:
        assert impressao_digital(certificado) in linhas[arquivo.name], arquivo.name


# --- Real signed documents (../shared/samples, never copied into the project) -----------------------

ASSINADAS = sorted(AMOSTRAS.glob("**/*_VALIDSIG.xml")) if AMOSTRAS.is_dir() else []
_X509 = re.compile(rb"<(?:\w+:)?X509Certificate>\s*([A-Za-z0-9+/=\s]+?)\s*</", re.S)


def _certificado_da_amostra(arquivo: Path) -> bytes:
    return base64.b64decode(b"".join(_X509.search(arquivo.read_bytes()).group(1).split()))


@pytest.mark.skipif(not ASSINADAS, reason=f"amostras reais ausentes ({AMOSTRAS})")
@pytest.mark.parametrize("arquivo", ASSINADAS, ids=lambda p: p.name)
def test_real_signers_chain_to_an_icp_brasil_root(settings, arquivo):
    settings.FISCAL_CADEIA_CERTIFICADOS_EXTRAS = []
    certificado = _certificado_da_amostra(arquivo)
    emitido = x509.load_der_x509_certificate(certificado).not_valid_before_utc

    resultado = verificar_cadeia(certificado, momento=emitido + timedelta(days=30))

    assert resultado.confiavel, resultado.motivo
    assert nome_comum(x509.Name.from_rfc4514_string(resultado.cadeia[-1])).startswith(
        "Autoridade Certificadora Raiz Brasileira"
    )
    assert documentos_do_signatario(certificado)[0]


@pytest.mark.skipif(not ASSINADAS, reason=f"amostras reais ausentes ({AMOSTRAS})")
def test_the_real_samples_cover_four_rfb_acs(settings):
    settings.FISCAL_CADEIA_CERTIFICADOS_EXTRAS = []
    emissores = {
        nome_comum(x509.load_der_x509_certificate(_certificado_da_amostra(a)).issuer) for a in ASSINADAS
    }
    assert {"AC SERASA RFB v2", "AC DIGITALSIGN RFB", "AC SINCOR RFB G5", "AC VALID RFB"} <= emissores


# --- manage.py cadeia_icp_brasil ----------------------------------------------------------------------


def _ac_ec(nome: str, emissor=None, ca: bool = True, organizacao: str = "ICP-Brasil"):
    """An EC (instant) certificate named `nome`: self-signed without `emissor` (key, certificate)."""
    chave = ec.generate_private_key(ec.SECP256R1())
    sujeito = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "BR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organizacao),
        x509.NameAttribute(NameOID.COMMON_NAME, nome),
    ])  # fmt: skip
    chave_emissor, certificado_emissor = emissor or (chave, None)
    certificado = (
        x509.CertificateBuilder()
        .subject_name(sujeito)
        .issuer_name(certificado_emissor.subject if certificado_emissor else sujeito)
        .public_key(chave.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2040, 1, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(chave_emissor, hashes.SHA256())
    )
    return chave, certificado


def test_the_command_imports_only_acs_that_chain_to_an_icp_brasil_root_and_records_their_origin(tmp_path):
    raiz = _ac_ec("Autoridade Certificadora Raiz Brasileira v99")
    ac = _ac_ec("AC EXEMPLO RFB", emissor=raiz)
    arquivos = {
        "ICP-Brasilv99.crt": der(raiz[1]),
        "AC_EXEMPLO_RFB.crt": pem(ac[1]),
        "AC_EXEMPLO_SSL.crt": der(_ac_ec("AC EXEMPLO SSL", emissor=raiz)[1]),
        "folha.cer": der(_ac_ec("EMPRESA:11222333000181", emissor=ac, ca=False)[1]),
        "AC_ORFA.crt": der(_ac_ec("AC ORFA", emissor=_ac_ec("AC SUMIDA"))[1]),
        "RAIZ_FALSA.crt": der(_ac_ec("Autoridade Certificadora Raiz Brasileira v98", organizacao="Outra")[1]),
        "leiame.txt": b"nao e certificado",
    }
    pacote = tmp_path / "ACcompactado.zip"
    with zipfile.ZipFile(pacote, "w") as zip_:
        for nome, dados in arquivos.items():
            zip_.writestr(nome, dados)
    pasta = tmp_path / "icp_brasil"

    call_command(
        "cadeia_icp_brasil", "--importar", str(pacote), "--origem", "teste@abc:{arquivo}", "--pasta", str(pasta)
    )

    assert sorted(p.name for p in pasta.glob("*.pem")) == [
        "AC_EXEMPLO_RFB.pem",
        "Autoridade_Certificadora_Raiz_Brasileira_v99.pem",
    ]
    fontes = (pasta / "FONTES.md").read_text(encoding="utf-8")
    assert "| `AC_EXEMPLO_RFB.pem` | CN=AC EXEMPLO RFB,O=ICP-Brasil,C=BR |" in fontes
    assert f"`{impressao_digital(ac[1])}` | teste@abc:AC_EXEMPLO_RFB |" in fontes

    call_command("cadeia_icp_brasil", "--fontes", "--pasta", str(pasta))  # keeps the origins it had
    assert (pasta / "FONTES.md").read_text(encoding="utf-8") == fontes


def test_the_command_checks_every_link_of_the_shipped_folder():
    saida = StringIO()
    call_command("cadeia_icp_brasil", "--verificar", stdout=saida)

    linhas = saida.getvalue().splitlines()
    assert len(linhas) == len(ARQUIVOS) + 1
    assert any(
        linha.startswith("AC_SERASA_RFB_v2.pem: AC SERASA RFB v2 <- AC Secretaria da Receita Federal do Brasil v3 ")
        and "ok: assinatura confere com o emissor" in linha
        for linha in linhas
    )
    assert linhas[-1].endswith("raiz(es), todos os elos conferem")


def test_the_command_fails_on_a_folder_with_a_broken_link(tmp_path):
    raiz = _ac_ec("Autoridade Certificadora Raiz Brasileira v99")
    (tmp_path / "orfa.pem").write_bytes(pem(_ac_ec("AC ORFA", emissor=_ac_ec("AC SUMIDA"))[1]))
    (tmp_path / "raiz.pem").write_bytes(pem(raiz[1]))

    saida = StringIO()

    with pytest.raises(CommandError, match="2 de 2 certificado"):  # the root is fine but not in FONTES.md
        call_command("cadeia_icp_brasil", "--verificar", "--pasta", str(tmp_path), stdout=saida)
    assert 'orfa.pem: AC ORFA <- AC SUMIDA' in saida.getvalue()
    assert 'FALHA: emissor "AC SUMIDA" não pertence à cadeia ICP-Brasil conhecida' in saida.getvalue()
    assert "raiz ICP-Brasil (autoassinada, assinatura confere); FALHA: fora de FONTES.md" in saida.getvalue()
