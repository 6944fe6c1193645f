""""/" leads into the admin: a signed-in staff member to the index, anyone else to the login (coming back
to the index); the admin has no "Ver o site" link, which led to a 404."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db
INDICE, LOGIN = reverse("admin:index"), reverse("admin:login")


def test_an_anonymous_visitor_goes_to_the_login_and_then_to_the_index(client, nova_org):
    resposta = client.get("/")
    assert resposta.status_code == 302 and resposta["Location"] == f"{LOGIN}?next={INDICE}"

    entrada = client.post(resposta["Location"], {"username": nova_org.usuario.get_username(),
                                                  "password": "senha-forte-123", "next": INDICE})  # fmt: skip
    assert entrada.status_code == 302 and entrada["Location"] == INDICE


def test_a_signed_in_staff_member_goes_to_the_index(membro):
    resposta = membro.get("/")
    assert resposta.status_code == 302 and resposta["Location"] == INDICE
    assert membro.get(resposta["Location"]).status_code == 200


def test_a_signed_in_user_who_is_not_staff_goes_to_the_login(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("integrador", password="x"))
    resposta = client.get("/")
    assert resposta.status_code == 302 and resposta["Location"] == f"{LOGIN}?next={INDICE}"


def test_the_admin_has_no_link_to_a_site_that_does_not_exist(membro):
    pagina = membro.get(INDICE).content.decode()
    assert "Ver o site" not in pagina and 'href="/"' not in pagina
