"""A disabled webhook is e-mailed to the organization's members who want to know."""

import pytest

from core.models import Webhook
from core.notifications import atualizar_preferencias
from core.tenancy import inserir
from core.webhooks.assinatura import gerar_segredo
from core.webhooks.entrega import desativar_webhook

from .conftest import destinatarios, html

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook(org):
    url = "https://integracao:senha-do-erp@erp.exemplo.com.br/hooks/fiscal?token=abc123#x"
    return inserir(Webhook, org, [Webhook(organizacao=org, nome="ERP Aurora", url=url, segredo=gerar_segredo())])[0]


def test_members_are_told_what_was_disabled_why_and_how_to_reactivate_it(
    org, dona, colega, estranho, webhook, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert desativar_webhook(webhook, "O receptor respondeu 410 Gone.") is True

    assert destinatarios(mailoutbox) == ["colega@alfa.com.br", "dona@alfa.com.br"]
    email = mailoutbox[0]
    assert email.subject == "Webhook desativado — ERP Aurora"
    for texto in (email.body, html(email)):
        assert "ERP Aurora" in texto
        assert "https://erp.exemplo.com.br/hooks/fiscal" in texto
        assert "senha-do-erp" not in texto and "abc123" not in texto  # no credentials, no query string
        assert "O receptor respondeu 410 Gone." in texto
        assert f"https://fiscal.exemplo.com.br/api/webhooks/{webhook.pk}/" in texto
        assert "PATCH" in texto and '"ativo": true' in texto


def test_nothing_is_sent_before_the_commit_nor_twice(
    org, dona, webhook, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        desativar_webhook(webhook, "Falhas sem nenhum sucesso por 5 dias.")
        desativar_webhook(webhook, "Falhas sem nenhum sucesso por 5 dias.")  # already disabled: no-op
    assert mailoutbox == []
    for callback in callbacks:
        callback()
    assert len(mailoutbox) == 1


def test_members_who_turned_it_off_are_not_told(
    org, dona, colega, webhook, mailoutbox, django_capture_on_commit_callbacks
):
    atualizar_preferencias(usuario=dona, organizacao=org, campos={"webhook_desativado": False})

    with django_capture_on_commit_callbacks(execute=True):
        desativar_webhook(webhook, "O receptor respondeu 410 Gone.")

    assert destinatarios(mailoutbox) == ["colega@alfa.com.br"]
