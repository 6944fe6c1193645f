"""/api/certificados/: upload, metadata, options, tenant isolation; the password never comes back."""

import base64
import logging

import pytest
from rest_framework.test import APIClient

from core.models import CertificadoDigital, ConfiguracaoConsulta
from core.tenancy import escopo
from tests.certificados.conftest import CNPJ_ALFANUMERICO, SENHA

pytestmark = pytest.mark.django_db

CAMPOS = [
    "id", "nome", "cnpj", "cpf", "titular", "emissor", "numero_serie", "thumbprint", "validade_inicio",
    "validade_fim", "dias_para_vencer", "vencido", "consulta_automatica", "intervalo_minutos", "uf", "ambiente",
    "servicos", "ciencia_automatica", "problema", "problema_em", "criado_em",
]  # fmt: skip


def enviar(api, arquivo, senha=SENHA, **campos):
    return api.post("/api/certificados/", {"arquivo": arquivo.upload(), "senha": senha, **campos}, format="multipart")


def criado(api, arquivo, **campos) -> dict:
    resposta = enviar(api, arquivo, **campos)
    assert resposta.status_code == 201, resposta.json()
    return resposta.json()


def assert_sem_segredos(resposta, arquivo):
    corpo = resposta.content
    assert SENHA.encode() not in corpo
    assert base64.b64encode(arquivo.pfx)[:24] not in corpo
    assert b'"senha"' not in corpo and b'"pfx"' not in corpo


def test_upload_returns_the_metadata_and_never_the_password(api, org, e_cnpj):
    resposta = enviar(api, e_cnpj, nome="Matriz", uf="SP", consulta_automatica="true", servicos="nfe")

    assert resposta.status_code == 201, resposta.json()
    corpo = resposta.json()
    assert list(corpo) == CAMPOS
    assert (corpo["cnpj"], corpo["cpf"], corpo["titular"], corpo["emissor"]) == (
        "11222333000181", "", "DISTRIBUIDORA AURORA LTDA", "AC TESTE FISCAL"
    )  # fmt: skip
    assert (corpo["uf"], corpo["ambiente"], corpo["consulta_automatica"], corpo["servicos"]) == ("35", 1, True, ["nfe"])
    assert (corpo["intervalo_minutos"], corpo["ciencia_automatica"], corpo["vencido"]) == (None, None, False)
    assert corpo["dias_para_vencer"] > 200 and len(corpo["thumbprint"]) == 64
    assert_sem_segredos(resposta, e_cnpj)
    for outra in (api.get("/api/certificados/"), api.get(f"/api/certificados/{corpo['id']}/")):
        assert outra.status_code == 200
        assert_sem_segredos(outra, e_cnpj)
    assert escopo(CertificadoDigital, org).get().senha == SENHA


def test_upload_of_an_e_cpf_and_of_an_alphanumeric_cnpj(api, e_cpf, alfanumerico):
    assert criado(api, e_cpf)["cpf"] == "52998224725"
    assert criado(api, alfanumerico)["cnpj"] == CNPJ_ALFANUMERICO


def test_services_may_repeat_in_multipart(api, e_cnpj):
    resposta = api.post(
        "/api/certificados/", {"arquivo": e_cnpj.upload(), "senha": SENHA, "servicos": ["cte", "nfe"]}, format="multipart"
    )
    assert resposta.json()["servicos"] == ["nfe", "cte"]


@pytest.mark.parametrize(
    ("arquivo", "senha", "campo", "trecho"),
    [
        ("e_cnpj", "senha-errada", "senha", "Senha incorreta"),
        ("vencido", SENHA, "arquivo", "venceu em"),
        ("futuro", SENHA, "arquivo", "só é válido a partir"),
        ("sem_documento", SENHA, "arquivo", "não traz CNPJ nem CPF"),
        ("sem_chave", SENHA, "arquivo", "chave privada"),
    ],
)
def test_a_bad_file_or_password_answers_400_naming_the_field(api, org, request, arquivo, senha, campo, trecho):
    resposta = enviar(api, request.getfixturevalue(arquivo), senha=senha)

    assert resposta.status_code == 400
    corpo = resposta.json()
    assert corpo["erro"] == "Parâmetros inválidos." and list(corpo["detalhes"]) == [campo]
    assert trecho in corpo["detalhes"][campo][0]
    assert SENHA.encode() not in resposta.content and b"senha-errada" not in resposta.content
    assert not escopo(CertificadoDigital, org).exists()


def test_a_file_that_is_not_a_pfx_answers_400_on_arquivo(api):
    from django.core.files.uploadedfile import SimpleUploadedFile

    resposta = api.post(
        "/api/certificados/", {"arquivo": SimpleUploadedFile("nota.xml", b"<NFe/>"), "senha": "x"}, format="multipart"
    )
    assert resposta.status_code == 400
    assert "não é um certificado A1" in resposta.json()["detalhes"]["arquivo"][0]


def test_a_homologacao_capture_the_import_would_reject_is_refused_saying_what_to_change(api, org, e_cnpj, settings):
    # given: FISCAL_ACEITAR_HOMOLOGACAO off (the default): every homologação document would be rejected
    recusado = enviar(api, e_cnpj, ambiente="2")

    assert recusado.status_code == 400
    [mensagem] = recusado.json()["detalhes"]["ambiente"]
    assert "ambiente 1 (produção)" in mensagem and "FISCAL_ACEITAR_HOMOLOGACAO=true" in mensagem
    assert not escopo(CertificadoDigital, org).exists()

    # when: registered for production, then switched to homologação
    corpo = criado(api, e_cnpj)
    alterado = api.patch(f"/api/certificados/{corpo['id']}/", {"ambiente": 2}, format="json")

    # then: refused too, and nothing changed
    assert alterado.status_code == 400 and "FISCAL_ACEITAR_HOMOLOGACAO" in alterado.json()["detalhes"]["ambiente"][0]
    assert escopo(CertificadoDigital, org).get().ambiente == 1
    settings.FISCAL_ACEITAR_HOMOLOGACAO = True
    assert api.patch(f"/api/certificados/{corpo['id']}/", {"ambiente": 2}, format="json").status_code == 200


@pytest.mark.parametrize(
    ("campos", "campo"),
    [
        ({"uf": "ZZ"}, "uf"),
        ({"ambiente": "3"}, "ambiente"),
        ({"intervalo_minutos": "30"}, "intervalo_minutos"),
        ({"servicos": "nfe,mdfe"}, "servicos"),
        ({"consulta_automatica": "true"}, "uf"),  # the test CA writes no UF into the certificate
    ],
)
def test_bad_options_answer_400_naming_the_field(api, e_cnpj, campos, campo):
    resposta = enviar(api, e_cnpj, **campos)
    assert resposta.status_code == 400
    assert campo in resposta.json()["detalhes"]


def test_missing_file_or_password_answer_400(api):
    resposta = api.post("/api/certificados/", {}, format="multipart")
    assert resposta.status_code == 400
    assert set(resposta.json()["detalhes"]) == {"arquivo", "senha"}


def test_the_same_certificate_twice_answers_409_with_the_existing_id(api, e_cnpj, e_cnpj_legado):
    primeiro = criado(api, e_cnpj)

    resposta = enviar(api, e_cnpj_legado)

    assert resposta.status_code == 409
    assert resposta.json()["detalhes"] == {"certificado": primeiro["id"]}
    assert f"id {primeiro['id']}" in resposta.json()["erro"]


def test_patch_changes_the_options_only(api, e_cnpj):
    certificado = criado(api, e_cnpj)
    url = f"/api/certificados/{certificado['id']}/"

    resposta = api.patch(url, {"uf": "RJ", "intervalo_minutos": 120, "servicos": "cte", "consulta_automatica": True,
                               "ciencia_automatica": True, "nome": "Filial", "cnpj": "99999999999999"}, format="json")  # fmt: skip

    assert resposta.status_code == 200, resposta.json()
    corpo = resposta.json()
    assert (corpo["uf"], corpo["intervalo_minutos"], corpo["servicos"], corpo["nome"]) == ("33", 120, ["cte"], "Filial")
    assert corpo["cnpj"] == "11222333000181"  # metadata is read-only
    volta = api.patch(url, {"intervalo_minutos": None, "servicos": None, "ciencia_automatica": None}, format="json")
    assert [volta.json()[c] for c in ("intervalo_minutos", "servicos", "ciencia_automatica")] == [None, None, None]


@pytest.mark.parametrize(
    ("campos", "campo"),
    [
        ({"intervalo_minutos": 59}, "intervalo_minutos"),
        ({"uf": "XX"}, "uf"),
        ({"servicos": []}, "servicos"),
        ({"consulta_automatica": True}, "uf"),
        ({"problema": "inventado"}, "problema"),
        ({"senha": "nova"}, "senha"),
    ],
)
def test_patch_refuses_bad_options_and_a_new_file_or_password(api, e_cnpj, campos, campo):
    certificado = criado(api, e_cnpj)
    resposta = api.patch(f"/api/certificados/{certificado['id']}/", campos, format="json")
    assert resposta.status_code == 400
    assert campo in resposta.json()["detalhes"]


def test_patch_with_a_file_says_to_register_a_new_certificate(api, e_cnpj, outro_e_cnpj):
    certificado = criado(api, e_cnpj)
    resposta = api.patch(f"/api/certificados/{certificado['id']}/", {"arquivo": outro_e_cnpj.upload()}, format="multipart")
    assert resposta.status_code == 400
    assert "cadastre-o" in resposta.json()["detalhes"]["arquivo"][0]


def test_a_problem_is_cleared_with_an_empty_value(api, org, e_cnpj):
    certificado = criado(api, e_cnpj)
    escopo(CertificadoDigital, org).update(problema="593: CNPJ-Base difere")
    url = f"/api/certificados/{certificado['id']}/"
    assert api.get(url).json()["problema"] == "593: CNPJ-Base difere"

    resposta = api.patch(url, {"problema": ""}, format="json")

    assert resposta.status_code == 200 and resposta.json()["problema"] == ""


def test_delete(api, org, e_cnpj):
    certificado = criado(api, e_cnpj)
    url = f"/api/certificados/{certificado['id']}/"

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert not escopo(CertificadoDigital, org).exists()


def test_put_is_not_offered(api, e_cnpj):
    certificado = criado(api, e_cnpj)
    assert api.put(f"/api/certificados/{certificado['id']}/", {}, format="json").status_code == 405


def test_another_organization_sees_nothing(api, api_outra, e_cnpj):
    certificado = criado(api, e_cnpj)
    url = f"/api/certificados/{certificado['id']}/"

    assert api_outra.get("/api/certificados/").json() == []
    for resposta in (api_outra.get(url), api_outra.patch(url, {"nome": "x"}, format="json"), api_outra.delete(url)):
        assert resposta.status_code == 404
        assert resposta.json() == {"erro": "Não encontrado.", "detalhes": {}}
    assert api.get(url).json()["nome"] == ""
    assert criado(api_outra, e_cnpj)["id"] != certificado["id"]  # the same file is theirs to register too


def test_without_a_token_it_answers_401(e_cnpj, db):
    anonimo = APIClient()
    for resposta in (
        anonimo.get("/api/certificados/"),
        enviar(anonimo, e_cnpj),
        anonimo.get("/api/certificados/configuracao/"),
    ):
        assert resposta.status_code == 401
        assert set(resposta.json()) == {"erro", "detalhes"}


# --- /api/certificados/configuracao/ --------------------------------------------------------------


def test_configuration_get_creates_the_defaults(api, org):
    resposta = api.get("/api/certificados/configuracao/")

    assert resposta.status_code == 200
    corpo = resposta.json()
    assert {k: corpo[k] for k in ("intervalo_minutos", "servicos", "ciencia_automatica", "destinatarios")} == {
        "intervalo_minutos": 60, "servicos": ["nfe", "cte"], "ciencia_automatica": False, "destinatarios": []
    }  # fmt: skip
    assert escopo(ConfiguracaoConsulta, org).count() == 1


def test_configuration_patch(api, api_outra, org):
    resposta = api.patch(
        "/api/certificados/configuracao/",
        {"intervalo_minutos": 180, "servicos": "nfe", "ciencia_automatica": True, "destinatarios": ["Fiscal@Alfa.com.br"]},
        format="json",
    )

    assert resposta.status_code == 200, resposta.json()
    assert resposta.json()["destinatarios"] == ["fiscal@alfa.com.br"]
    salva = escopo(ConfiguracaoConsulta, org).get()
    assert (salva.intervalo_minutos, salva.servicos, salva.ciencia_automatica) == (180, ["nfe"], True)
    assert api_outra.get("/api/certificados/configuracao/").json()["intervalo_minutos"] == 60


@pytest.mark.parametrize(
    ("campos", "campo"),
    [
        ({"intervalo_minutos": 10}, "intervalo_minutos"),
        ({"servicos": ["xml"]}, "servicos"),
        ({"destinatarios": ["nao-e-email"]}, "destinatarios"),
        ({"destinatarios": "fiscal@alfa.com.br"}, "destinatarios"),
    ],
)
def test_configuration_patch_refuses_bad_values(api, campos, campo):
    resposta = api.patch("/api/certificados/configuracao/", campos, format="json")
    assert resposta.status_code == 400
    assert campo in resposta.json()["detalhes"]


def test_configuracao_is_never_taken_for_a_certificate_id(api):
    assert api.delete("/api/certificados/configuracao/").status_code == 405
    assert api.get("/api/certificados/abc/").status_code == 404


# --- Logs --------------------------------------------------------------------------------------------


def test_the_password_never_reaches_the_logs_through_the_api(api, e_cnpj, caplog):
    caplog.set_level(logging.DEBUG)

    enviar(api, e_cnpj, senha="errada-" + SENHA)
    certificado = criado(api, e_cnpj, uf="SP")
    enviar(api, e_cnpj)  # duplicate
    api.patch(f"/api/certificados/{certificado['id']}/", {"senha": SENHA}, format="json")
    api.delete(f"/api/certificados/{certificado['id']}/")

    assert "cadastrado" in caplog.text
    assert SENHA not in caplog.text
