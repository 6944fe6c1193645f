"""API tokens: stored hashed, shown once, named, expiring, revocable, with their last use; managed by
the organization's administrators through /api/tokens/."""

import hashlib
import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import Membro, TokenDeAPI
from core.tenancy import escopo, token_de_api
from core.tokens import INTERVALO_DO_ULTIMO_USO, criar_token
from tests.api.conftest import cliente_com_token
from tests.membros import novo_membro

URL = "/api/tokens/"


def cliente(chave: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {chave}")
    return api


def tokens_de(org):
    return escopo(TokenDeAPI, org)


# -- at rest --------------------------------------------------------------------------------------


def test_it_stores_only_the_hash_of_the_key(api, org):
    chave = api.post(URL, {"nome": "ERP"}, format="json").json()["chave"]

    assert chave.startswith("fsc_") and len(chave) == 44
    token = tokens_de(org).get(nome="ERP")
    assert token.hash == hashlib.sha256(chave.encode()).hexdigest()
    assert token.prefixo == chave[:8]
    with connection.cursor() as cursor:  # nowhere in the table, whatever the column
        cursor.execute("SELECT * FROM core_tokendeapi")
        linhas = cursor.fetchall()
    assert linhas and not any(chave in str(valor) for linha in linhas for valor in linha)


def test_the_key_is_shown_once_and_then_never(api, org):
    criado = api.post(URL, {"nome": "ERP"}, format="json")

    assert criado.status_code == 201
    corpo = criado.json()
    assert set(corpo) == {
        "id", "nome", "prefixo", "usuario", "usuario_nome", "criado_em", "expira_em", "ultimo_uso_em", "revogado_em",
        "chave",
    }  # fmt: skip
    lista = api.get(URL)
    assert lista.status_code == 200
    assert corpo["chave"] not in lista.content.decode()
    [listado] = [t for t in lista.json() if t["id"] == corpo["id"]]
    assert "chave" not in listado and "hash" not in listado
    assert listado["prefixo"] == corpo["chave"][:8]
    assert cliente(corpo["chave"]).get("/api/nfes/").status_code == 200


def test_it_creates_a_token_for_another_member_with_an_expiry(api, org, nova_org):
    colega = novo_membro(org, "colega@alfa.com.br")
    expira = timezone.now() + timedelta(days=30)

    corpo = api.post(URL, {"nome": "Robô", "usuario": colega.pk, "expira_em": expira.isoformat()}, format="json").json()

    token = tokens_de(org).get(pk=corpo["id"])
    assert (token.usuario, token.criado_por, token.expira_em) == (colega, nova_org.usuario, expira)
    assert corpo["usuario_nome"] == "colega@alfa.com.br"
    assert cliente(corpo["chave"]).get("/api/nfes/").status_code == 200


@pytest.mark.parametrize(
    "corpo, campo",
    [
        ({"nome": ""}, "nome"),
        ({"nome": "   "}, "nome"),
        ({}, "nome"),
        ({"nome": "x", "expira_em": "2020-01-01T00:00:00Z"}, "expira_em"),
        ({"nome": "x", "expira_em": "amanhã"}, "expira_em"),
        ({"nome": "x", "usuario": 999999}, "usuario"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, org, corpo, campo):
    antes = tokens_de(org).count()

    resposta = api.post(URL, corpo, format="json")

    assert resposta.status_code == 400
    assert list(resposta.json()["detalhes"]) == [campo]
    assert tokens_de(org).count() == antes


def test_a_user_of_another_organization_cannot_get_a_token_here(api, org, outra_org):
    de_fora = Membro.objects.get(organizacao=outra_org).usuario

    resposta = api.post(URL, {"nome": "x", "usuario": de_fora.pk}, format="json")

    assert resposta.status_code == 400
    assert resposta.json()["detalhes"] == {"usuario": ["O usuário não é membro desta organização."]}
    assert not TokenDeAPI.objects.filter(usuario=de_fora, nome="x").exists()


# -- refused tokens ---------------------------------------------------------------------------------


def test_a_revoked_token_is_refused_at_once_and_stays_listed(api, org, nova_org):
    criado = api.post(URL, {"nome": "ERP"}, format="json").json()
    erp = cliente(criado["chave"])
    assert erp.get("/api/nfes/").status_code == 200

    revogado = api.post(f"{URL}{criado['id']}/revogar/")

    assert revogado.status_code == 200 and revogado.json()["revogado_em"]
    resposta = erp.get("/api/nfes/")
    assert resposta.status_code == 401
    assert resposta.json()["erro"] == "Token revogado."
    [listado] = [t for t in api.get(URL).json() if t["id"] == criado["id"]]
    assert listado["revogado_em"] == revogado.json()["revogado_em"]
    # Revoking again changes nothing.
    assert api.post(f"{URL}{criado['id']}/revogar/").json()["revogado_em"] == revogado.json()["revogado_em"]


def test_an_expired_token_is_refused_saying_when_it_expired(org, nova_org):
    novo = criar_token(organizacao=org, usuario=nova_org.usuario, nome="curto", expira_em=timezone.now() + timedelta(hours=1))
    assert cliente(novo.chave).get("/api/nfes/").status_code == 200
    vencido = timezone.now() - timedelta(minutes=1)
    tokens_de(org).filter(pk=novo.token.pk).update(expira_em=vencido)

    resposta = cliente(novo.chave).get("/api/nfes/")

    assert resposta.status_code == 401
    assert resposta.json()["erro"] == f"Token expirado em {timezone.localtime(vencido).isoformat(timespec='seconds')}."


def test_an_inactive_user_is_refused(nova_org):
    nova_org.usuario.is_active = False
    nova_org.usuario.save(update_fields=["is_active"])

    resposta = cliente(nova_org.token).get("/api/nfes/")

    assert resposta.status_code == 401
    assert resposta.json()["erro"] == "Usuário inativo ou removido."


def test_an_unknown_key_is_refused(db):
    assert cliente("fsc_" + "x" * 40).get("/api/nfes/").status_code == 401


# -- last use -------------------------------------------------------------------------------------


def test_the_last_use_is_written_on_first_use_and_then_at_most_once_a_minute(org, nova_org):
    novo = criar_token(organizacao=org, usuario=nova_org.usuario, nome="ERP")
    erp = cliente(novo.chave)
    assert novo.token.ultimo_uso_em is None

    erp.get("/api/nfes/")
    primeiro = tokens_de(org).get(pk=novo.token.pk).ultimo_uso_em
    assert primeiro is not None and timezone.now() - primeiro < timedelta(seconds=5)

    erp.get("/api/nfes/")
    assert tokens_de(org).get(pk=novo.token.pk).ultimo_uso_em == primeiro  # within the minute: no write

    antigo = timezone.now() - INTERVALO_DO_ULTIMO_USO - timedelta(seconds=1)
    tokens_de(org).filter(pk=novo.token.pk).update(ultimo_uso_em=antigo)
    erp.get("/api/nfes/")
    assert tokens_de(org).get(pk=novo.token.pk).ultimo_uso_em > primeiro


def test_a_recent_last_use_costs_no_query(org, nova_org, django_assert_num_queries):
    from django.conf import settings
    from django.core.cache import caches

    from core.limite.contadores import conta_no_cache

    api = cliente_com_token(nova_org.usuario)  # used just now
    limite = 0 if conta_no_cache(caches[settings.RATE_LIMIT_CACHE]) else 1
    with django_assert_num_queries(2 + limite):  # the token with its user and organization, then the aggregate
        assert api.get("/api/nfes/totais/").status_code == 200


# -- who may manage tokens --------------------------------------------------------------------------


def test_a_plain_member_gets_403_on_every_route(org, nova_org):
    membro = cliente_com_token(novo_membro(org, "membro@alfa.com.br"))
    alvo = tokens_de(org).get(usuario=nova_org.usuario, nome="Token inicial")

    respostas = [membro.get(URL), membro.post(URL, {"nome": "x"}, format="json"), membro.post(f"{URL}{alvo.pk}/revogar/")]

    assert [r.status_code for r in respostas] == [403, 403, 403]
    assert tokens_de(org).get(pk=alvo.pk).revogado_em is None
    assert not tokens_de(org).filter(nome="x").exists()


def test_an_administrator_sees_and_revokes_only_their_organizations_tokens(api, api_outra, org, outra_org):
    deles = tokens_de(outra_org).get(nome="Token inicial")

    assert deles.pk not in [t["id"] for t in api.get(URL).json()]
    assert api.post(f"{URL}{deles.pk}/revogar/").status_code == 404
    assert tokens_de(outra_org).get(pk=deles.pk).revogado_em is None
    assert {t["id"] for t in api.get(URL).json()} == set(tokens_de(org).values_list("pk", flat=True))


def test_a_token_acts_in_its_organization_only(api, api_outra, org, outra_org):
    novo = api.post(URL, {"nome": "ERP"}, format="json").json()

    assert novo["id"] not in [t["id"] for t in api_outra.get(URL).json()]
    assert tokens_de(org).filter(pk=novo["id"]).exists() and not tokens_de(outra_org).filter(pk=novo["id"]).exists()


# -- the migration ----------------------------------------------------------------------------------


def test_the_migration_keeps_an_old_drf_token_working(org, nova_org, django_user_model):
    from rest_framework.authtoken.models import Token

    antigo = Token.objects.create(user=nova_org.usuario)
    sem_organizacao = Token.objects.create(user=django_user_model.objects.create_user("solto@x.com"))
    migracao = importlib.import_module("core.migrations.0015_tokens_de_api")

    migracao.copiar_tokens_do_drf(apps, None)

    token = token_de_api(antigo.key)
    assert (token.organizacao, token.usuario, token.nome) == (org, nova_org.usuario, "Token de dona@alfa.com.br (migrado)")
    assert token.hash == hashlib.sha256(antigo.key.encode()).hexdigest() and token.prefixo == antigo.key[:8]
    assert token_de_api(sem_organizacao.key) is None
    assert cliente(antigo.key).get("/api/nfes/").status_code == 200
