"""A disabled webhook is e-mailed to the organization's members who want to know."""

import pytest

from core.models import Evento, Webhook
from core.notifications import atualizar_preferencias
from core.tenancy import escopo, inserir
from core.webhooks.assinatura import gerar_segredo
from core.webhooks.entrega import desativar_webhook

from .conftest import destinatarios, enviar_fila, html

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
    enviar_fila()

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
    # An event, recorded once with the change, queues the e-mail; the worker sends it once.
    assert escopo(Evento, org).filter(tipo="webhook_desativado").count() == 1
    assert mailoutbox == []
    enviar_fila()
    enviar_fila()
    assert len(mailoutbox) == 1


def test_members_who_turned_it_off_are_not_told(
    org, dona, colega, webhook, mailoutbox, django_capture_on_commit_callbacks
):
    atualizar_preferencias(usuario=dona, organizacao=org, campos={"webhook_desativado": False})

    with django_capture_on_commit_callbacks(execute=True):
        desativar_webhook(webhook, "O receptor respondeu 410 Gone.")
    enviar_fila()

    assert destinatarios(mailoutbox) == ["colega@alfa.com.br"]


# --- The last failure's class says what to fix (issue 14, point 3) ---------------------------------


def _falhar_ate_desativar(org, url, django_capture_on_commit_callbacks, settings):
    """A webhook failing for 5 days gets one more failing attempt against `url`, and is disabled."""
    from datetime import timedelta

    from django.utils import timezone

    from core.eventos.emissao import disparar_webhook
    from core.webhooks.entrega import entregar_pendentes

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    cinco_dias = timezone.now() - timedelta(days=5, hours=1)
    webhook = Webhook(organizacao=org, nome="ERP Aurora", url=url, segredo=gerar_segredo(), primeira_falha_em=cinco_dias)
    inserir(Webhook, org, [webhook])
    disparar_webhook("teste", {}, org)
    with django_capture_on_commit_callbacks(execute=True):
        assert entregar_pendentes() == 1
    enviar_fila()
    webhook.refresh_from_db()
    assert not webhook.ativo


def test_a_wrong_secret_is_named_in_the_email(org, dona, mailoutbox, django_capture_on_commit_callbacks, settings):
    from tests.webhooks.receptor import Receptor

    receptor = Receptor([(401, {})])
    try:
        _falhar_ate_desativar(org, receptor.url, django_capture_on_commit_callbacks, settings)
    finally:
        receptor.fechar()

    [email] = mailoutbox
    for texto in (email.body, html(email)):
        assert "Falhas sem nenhum sucesso por 5 dias." in texto
        assert "Última falha" in texto and "HTTP 401" in texto
        assert "confira o segredo" in texto


def test_an_unreachable_receiver_is_named_in_the_email(org, dona, mailoutbox, django_capture_on_commit_callbacks, settings):
    from tests.webhooks.receptor import porta_livre

    _falhar_ate_desativar(org, f"http://127.0.0.1:{porta_livre()}/hook", django_capture_on_commit_callbacks, settings)

    [email] = mailoutbox
    for texto in (email.body, html(email)):
        assert "Rede (DNS, conexão recusada ou interrompida)" in texto
        assert "não foi possível conectar em 127.0.0.1" in texto


def test_a_disabled_webhook_that_never_failed_shows_no_last_failure(org, dona, webhook, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        desativar_webhook(webhook, "Desativado pelo suporte.")
    enviar_fila()

    assert "Última falha" not in mailoutbox[0].body and "Última falha" not in html(mailoutbox[0])


def test_an_expired_receiver_certificate_is_named_in_the_email(
    org, dona, mailoutbox, django_capture_on_commit_callbacks, settings, tmp_path
):
    from tests.webhooks.receptor import Receptor
    from tests.webhooks.test_classes_de_falha import _certificado

    settings.WEBHOOK_CA_BUNDLE, contexto = _certificado(tmp_path, vencido=True)
    receptor = Receptor(contexto_tls=contexto)
    try:
        _falhar_ate_desativar(org, receptor.url, django_capture_on_commit_callbacks, settings)
    finally:
        receptor.fechar()

    [email] = mailoutbox
    for texto in (email.body, html(email)):
        assert "TLS (certificado ou handshake)" in texto and "certificate has expired" in texto
        assert "instale um certificado válido" in texto
