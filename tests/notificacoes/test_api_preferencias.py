"""GET/PATCH /api/notificacoes/preferencias/: each user's own choices, defaults until they change one."""

import pytest
from rest_framework.test import APIClient

from core.models import PreferenciaNotificacao
from core.notifications import destinatarios
from core.tenancy import escopo

from .conftest import criar_membro

pytestmark = pytest.mark.django_db
URL = "/api/notificacoes/preferencias/"
PADROES = {
    "nfe_importada": True,
    "cte_importado": True,
    "erro_importacao": True,
    "consulta_concluida": False,
    "certificado_vencendo": True,
    "resumo_diario": True,
    "webhook_desativado": True,
}


def cliente(usuario) -> APIClient:
    from tests.api.conftest import cliente_com_token

    return cliente_com_token(usuario)


def test_it_answers_the_defaults_without_writing_a_row(org, dona):
    resposta = cliente(dona).get(URL)

    assert resposta.status_code == 200
    assert resposta.json() == {"email": "dona@alfa.com.br", **PADROES}
    assert not escopo(PreferenciaNotificacao, org).exists()


def test_patch_changes_only_the_fields_sent_and_keeps_one_row(org, dona):
    api = cliente(dona)

    primeira = api.patch(URL, {"nfe_importada": False}, format="json")
    segunda = api.patch(URL, {"consulta_concluida": True}, format="json")

    assert primeira.status_code == segunda.status_code == 200
    esperado = {**PADROES, "nfe_importada": False, "consulta_concluida": True}
    assert segunda.json() == {"email": "dona@alfa.com.br", **esperado}
    assert api.get(URL).json() == segunda.json()
    assert escopo(PreferenciaNotificacao, org).count() == 1


def test_each_user_sees_and_changes_only_their_own(org, dona, colega, estranho):
    cliente(colega).patch(URL, {"erro_importacao": False}, format="json")
    cliente(estranho).patch(URL, {"resumo_diario": False}, format="json")

    assert cliente(dona).get(URL).json()["erro_importacao"] is True
    assert cliente(colega).get(URL).json()["erro_importacao"] is False
    assert cliente(dona).get(URL).json()["resumo_diario"] is True
    assert escopo(PreferenciaNotificacao, org).get().usuario == colega


@pytest.mark.parametrize(
    ("corpo", "campo"),
    [
        ({"nfe_importada": "talvez"}, "nfe_importada"),
        ({"nfe_importada": None}, "nfe_importada"),
        ({"sms": True}, "sms"),
        ({"email": "outra@pessoa.com"}, "email"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(dona, corpo, campo):
    resposta = cliente(dona).patch(URL, corpo, format="json")

    assert resposta.status_code == 400
    assert resposta.json()["erro"] == "Parâmetros inválidos."
    assert campo in resposta.json()["detalhes"]


def test_a_body_that_is_not_an_object_is_a_400(dona):
    resposta = cliente(dona).patch(URL, [True], format="json")
    assert resposta.status_code == 400 and set(resposta.json()) == {"erro", "detalhes"}


def test_without_a_token_it_is_a_401(db):
    anonimo = APIClient()
    assert anonimo.get(URL).status_code == 401
    resposta = anonimo.patch(URL, {"nfe_importada": False}, format="json")
    assert resposta.status_code == 401 and "erro" in resposta.json()


def test_loading_the_recipients_costs_two_queries_whatever_their_number(org, dona, django_assert_num_queries):
    for n in range(10):
        usuario = criar_membro(org, f"pessoa{n}@alfa.com.br")
        if n % 2:
            PreferenciaNotificacao.objects.create(organizacao=org, usuario=usuario, nfe_importada=False)

    with django_assert_num_queries(2):
        pessoas = destinatarios(org, "nfe_importada")

    assert len(pessoas) == 6  # the owner and the five who kept the default
