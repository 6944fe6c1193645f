"""The API tokens' admin page: issue a token (its key shown once), revoke, never the key or its hash."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import Membro, TokenDeAPI
from core.tenancy import escopo
from core.tokens import criar_token, hash_da_chave
from tests.membros import novo_membro

pytestmark = pytest.mark.django_db

LISTA = reverse("admin:core_tokendeapi_changelist")
ADICIONAR = reverse("admin:core_tokendeapi_add")


def usa(chave: str) -> int:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {chave}")
    return api.get("/api/nfes/").status_code


def test_issuing_a_token_shows_its_key_once(membro, org, nova_org):
    expira = (timezone.localtime() + timedelta(days=7)).replace(microsecond=0)
    dados = {"nome": "ERP", "usuario": nova_org.usuario.pk, "expira_em_0": expira.date().isoformat(),
             "expira_em_1": expira.time().isoformat()}  # fmt: skip

    resposta = membro.post(ADICIONAR, dados, follow=True)

    assert resposta.status_code == 200
    token = escopo(TokenDeAPI, org).get(nome="ERP")
    [aviso] = [str(m) for m in get_messages(resposta.wsgi_request) if "copie-a agora" in str(m)]
    chave = aviso.split(": ")[1].split(" ")[0]
    assert hash_da_chave(chave) == token.hash and token.expira_em == expira
    assert token.criado_por == nova_org.usuario
    assert chave in resposta.content.decode()  # on the page after saving, once
    assert chave not in membro.get(LISTA).content.decode()
    assert chave not in membro.get(reverse("admin:core_tokendeapi_change", args=[token.pk])).content.decode()
    assert usa(chave) == 200


def test_the_add_form_refuses_a_past_expiry_and_another_organizations_user(membro, org, outra_org, nova_org):
    de_fora = Membro.objects.get(organizacao=outra_org).usuario
    ontem = timezone.localtime() - timedelta(days=1)
    vencido = {"nome": "x", "usuario": nova_org.usuario.pk, "expira_em_0": ontem.date().isoformat(), "expira_em_1": "10:00:00"}

    erros = [membro.post(ADICIONAR, dados).context["adminform"].form.errors for dados in (vencido, {"nome": "x", "usuario": de_fora.pk})]

    assert [set(e) for e in erros] == [{"expira_em"}, {"usuario"}]
    assert not TokenDeAPI._default_manager.filter(nome="x").exists()


def test_the_revoke_action_refuses_the_token_at_once(membro, org, nova_org):
    assert usa(nova_org.token) == 200
    token = escopo(TokenDeAPI, org).get(hash=hash_da_chave(nova_org.token))

    membro.post(LISTA, {"action": "revogar", "_selected_action": [token.pk]})

    token.refresh_from_db()
    assert token.revogado_em is not None
    assert usa(nova_org.token) == 401


def test_staff_see_their_organizations_tokens_only_and_superusers_all(membro, superusuario, org, outra_org):
    deles = escopo(TokenDeAPI, outra_org).get()

    assert deles.nome not in [t.nome for t in membro.get(LISTA).context["cl"].result_list if t.pk == deles.pk]
    assert all(t.organizacao_id == org.pk for t in membro.get(LISTA).context["cl"].result_list)
    assert membro.get(reverse("admin:core_tokendeapi_change", args=[deles.pk])).status_code == 302  # not found
    membro.post(LISTA, {"action": "revogar", "_selected_action": [deles.pk]})
    assert escopo(TokenDeAPI, outra_org).get().revogado_em is None
    assert deles.pk in [t.pk for t in superusuario.get(LISTA).context["cl"].result_list]


def test_a_plain_member_has_no_token_page(org):
    cliente = Client()
    cliente.force_login(novo_membro(org, "membro@alfa.com.br"))

    assert cliente.get(LISTA).status_code == 403
    assert cliente.get(ADICIONAR).status_code == 403


def test_nothing_about_a_token_is_editable(membro, org, nova_org):
    novo = criar_token(organizacao=org, usuario=nova_org.usuario, nome="ERP")
    pagina = reverse("admin:core_tokendeapi_change", args=[novo.token.pk])

    membro.post(pagina, {"nome": "outro", "usuario": nova_org.usuario.pk})

    novo.token.refresh_from_db()
    assert novo.token.nome == "ERP"
    assert novo.token.hash not in membro.get(pagina).content.decode()
