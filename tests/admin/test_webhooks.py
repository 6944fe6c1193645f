"""The Webhook admin: health columns, editing through the domain function, and the "testar" and
"reenviar falhas" actions against a real receiver on 127.0.0.1."""

import json

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from core.models import Evento, Webhook, WebhookLog
from core.tenancy import escopo
from core.webhooks import entrega
from core.webhooks.entrega import entregar_pendentes
from core.webhooks.gestao import atualizar_webhook
from tests.admin.conftest import disparar, novo_webhook
from tests.formulario_html import dados_do_formulario
from tests.webhooks.receptor import Receptor

Status = WebhookLog.Status
LISTA = reverse("admin:core_webhook_changelist")


@pytest.fixture
def receptor_com_erro():
    r = Receptor([(500, {})])
    yield r
    r.fechar()


def acao(cliente, nome, *webhooks, **extra):
    dados = {"action": nome, "_selected_action": [w.pk for w in webhooks], **extra}
    return cliente.post(LISTA, dados, follow=True)


def mensagens(resposta) -> list[str]:
    return [str(m) for m in resposta.context["messages"]]


# --- List and change page ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_list_shows_health_without_the_url_query_or_secrets(membro, org):
    webhook = novo_webhook(org, "http://127.0.0.1:9/hook?token=abc123", nome="ERP")
    for _ in range(4):
        disparar(org)
    entregas = escopo(WebhookLog, org).order_by("id")
    escopo(WebhookLog, org).filter(pk__in=[e.pk for e in entregas[:3]]).update(status=Status.SUCESSO)
    escopo(WebhookLog, org).filter(pk=entregas[3].pk).update(status=Status.DESISTIU)
    escopo(Webhook, org).update(falhas_consecutivas=2)

    pagina = membro.get(LISTA)

    assert pagina.status_code == 200
    html = pagina.content.decode()
    assert "http://127.0.0.1:9/hook" in html and "abc123" not in html
    assert "75,0%" in html and "(3 de 4)" in html
    assert '<strong style="color:#ba2121">2</strong>' in html  # consecutive failures, in red
    assert webhook.segredo not in html


@pytest.mark.django_db
def test_the_change_page_edits_through_atualizar_webhook(membro, org):
    webhook = novo_webhook(org, "http://127.0.0.1:9/hook", nome="ERP", headers={"X-Chave": "valor-secreto"})
    escopo(Webhook, org).update(ativo=False, falhas_consecutivas=9, motivo_desativacao="Desativado após falhas")
    url = reverse("admin:core_webhook_change", args=[webhook.pk])

    pagina = membro.get(url)
    assert pagina.status_code == 200
    assert b"X-Chave" in pagina.content and b"valor-secreto" not in pagina.content
    assert b'name="url"' not in pagina.content  # the URL changes through the API

    resposta = membro.post(url, {"nome": "ERP novo", "eventos": ["nfe_importada"], "ativo": "on", "timeout": "5",
                                 "max_tentativas": "3"})  # fmt: skip

    assert resposta.status_code == 302, resposta.context["adminform"].form.errors
    salvo = escopo(Webhook, org).get()
    assert (salvo.nome, salvo.eventos, salvo.ativo, salvo.timeout, salvo.max_tentativas) == (
        "ERP novo", ["nfe_importada"], True, 5, 3
    )  # fmt: skip
    # Reactivated by the domain function: the failure history is cleared.
    assert (salvo.falhas_consecutivas, salvo.motivo_desativacao, salvo.desativado_em) == (0, "", None)
    assert salvo.segredo == webhook.segredo  # the deferred secret was not overwritten


@pytest.mark.django_db
def test_the_change_page_refuses_invalid_values(membro, org):
    webhook = novo_webhook(org, "http://127.0.0.1:9/hook")
    resposta = membro.post(reverse("admin:core_webhook_change", args=[webhook.pk]),
                           {"nome": "ERP", "timeout": "99", "max_tentativas": "999"})  # fmt: skip
    assert set(resposta.context["adminform"].form.errors) == {"timeout", "max_tentativas"}


def pagina_aberta(cliente, url) -> dict:
    """The change form as the browser would send it back, hidden initial values included."""
    pagina = cliente.get(url)
    assert pagina.status_code == 200
    return dados_do_formulario(pagina.content.decode(), "webhook_form")


@pytest.mark.django_db
def test_an_old_change_page_writes_only_what_the_person_changed(membro, org):
    webhook = novo_webhook(org, "http://127.0.0.1:9/hook", nome="ERP", timeout=10)
    url = reverse("admin:core_webhook_change", args=[webhook.pk])
    dados = pagina_aberta(membro, url)
    assert dados["ativo"] == ["on"]
    # given: while the page is open, the API changes the timeout and a 410 disables the webhook
    atualizar_webhook(escopo(Webhook, org).get(), timeout=20, eventos=["nfe_importada"])
    escopo(Webhook, org).update(ativo=False, desativado_em=timezone.now(), motivo_desativacao="HTTP 410")

    # when: the person saves the old page with only a new name ("ativo" still ticked, as shown)
    resposta = membro.post(url, {**dados, "nome": ["ERP novo"]})

    # then
    assert resposta.status_code == 302, resposta.context["adminform"].form.errors
    salvo = escopo(Webhook, org).get()
    assert (salvo.nome, salvo.timeout, salvo.eventos) == ("ERP novo", 20, ["nfe_importada"])
    assert (salvo.ativo, salvo.motivo_desativacao) == (False, "HTTP 410")


@pytest.mark.django_db
def test_an_old_change_page_still_applies_what_the_person_changed(membro, org):
    webhook = novo_webhook(org, "http://127.0.0.1:9/hook", nome="ERP", timeout=10)
    url = reverse("admin:core_webhook_change", args=[webhook.pk])
    dados = pagina_aberta(membro, url)
    atualizar_webhook(escopo(Webhook, org).get(), nome="ERP da API")

    del dados["ativo"]  # unticked
    resposta = membro.post(url, {**dados, "timeout": ["25"], "eventos": ["cte_importado"]})

    assert resposta.status_code == 302, resposta.context["adminform"].form.errors
    salvo = escopo(Webhook, org).get()
    assert (salvo.nome, salvo.timeout, salvo.eventos, salvo.ativo) == ("ERP da API", 25, ["cte_importado"], False)
    assert salvo.motivo_desativacao == "Desativado pelo usuário."


@pytest.mark.django_db
def test_ticking_ativo_on_a_page_that_showed_it_off_reactivates(membro, org):
    webhook = novo_webhook(org, "http://127.0.0.1:9/hook", nome="ERP")
    escopo(Webhook, org).update(ativo=False, falhas_consecutivas=9, motivo_desativacao="HTTP 410")
    url = reverse("admin:core_webhook_change", args=[webhook.pk])
    dados = pagina_aberta(membro, url)
    assert "ativo" not in dados

    resposta = membro.post(url, {**dados, "ativo": ["on"]})

    assert resposta.status_code == 302, resposta.context["adminform"].form.errors
    salvo = escopo(Webhook, org).get()
    assert (salvo.ativo, salvo.falhas_consecutivas, salvo.motivo_desativacao) == (True, 0, "")


# --- "testar" --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_testar_sends_a_signed_test_event_to_the_receiver(membro, org, receptor):
    webhook = novo_webhook(org, receptor.url, nome="ERP")

    resposta = acao(membro, "testar", webhook)

    assert resposta.status_code == 200
    [mensagem] = mensagens(resposta)
    assert mensagem.startswith("ERP: HTTP 200 em ")
    [(corpo, cabecalhos)] = receptor.recebidos
    assert json.loads(corpo)["evento"] == "teste" and cabecalhos["webhook-signature"].startswith("v1,")
    log = escopo(WebhookLog, org).get()
    assert (log.status, log.codigo_http, log.evento.tipo) == (Status.SUCESSO, 200, "teste")


@pytest.mark.django_db
def test_testar_reports_a_failing_receiver(membro, org, receptor_com_erro):
    webhook = novo_webhook(org, receptor_com_erro.url, nome="ERP")

    resposta = acao(membro, "testar", webhook)

    assert mensagens(resposta) == ["ERP: o teste falhou (HTTP 500)."]
    assert escopo(Webhook, org).get().falhas_consecutivas == 0  # a test does not count toward health


@pytest.mark.django_db
def test_testar_refuses_a_disabled_webhook_and_too_many_at_once(membro, org, receptor):
    desativado = novo_webhook(org, receptor.url, nome="Parado")
    escopo(Webhook, org).filter(pk=desativado.pk).update(ativo=False)
    assert "reative-o" in mensagens(acao(membro, "testar", desativado))[0]

    varios = [novo_webhook(org, receptor.url, nome=f"W{i}") for i in range(6)]
    assert "no máximo 5" in mensagens(acao(membro, "testar", *varios))[0]
    assert receptor.recebidos == []


@pytest.mark.django_db(transaction=True)
def test_testar_sends_outside_any_transaction(membro, org, receptor, monkeypatch):
    # A spy, not a stand-in: the request still goes to the receiver.
    em_transacao, enviar = [], entrega.enviar

    def espiao(*args, **kwargs):
        em_transacao.append(connection.in_atomic_block)
        return enviar(*args, **kwargs)

    monkeypatch.setattr(entrega, "enviar", espiao)
    webhook = novo_webhook(org, receptor.url, nome="ERP")

    acao(membro, "testar", webhook)

    assert em_transacao == [False] and len(receptor.recebidos) == 1


@pytest.mark.django_db
def test_a_member_cannot_act_on_another_organizations_webhook(membro, outra_org, receptor):
    deles = novo_webhook(outra_org, receptor.url, nome="Deles")
    acao(membro, "testar", deles)
    acao(membro, "reenviar_falhas", deles, confirmar="1", dias="7")
    assert receptor.recebidos == [] and not escopo(WebhookLog, outra_org).exists()


# --- "reenviar falhas" -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_reenviar_falhas_queues_what_was_given_up_and_the_worker_delivers_it(membro, org, receptor):
    webhook = novo_webhook(org, receptor.url, nome="ERP")
    perdido, entregue = disparar(org), disparar(org)
    escopo(WebhookLog, org).filter(evento=perdido).update(status=Status.DESISTIU, codigo_http=500)
    escopo(WebhookLog, org).filter(evento=entregue).update(status=Status.SUCESSO, codigo_http=200)

    # given: the confirmation page, which says how much would be re-sent
    confirmacao = membro.post(LISTA, {"action": "reenviar_falhas", "_selected_action": [webhook.pk]})
    assert confirmacao.status_code == 200
    assert confirmacao.context["webhooks"] == [(webhook, 1)] and b'name="dias"' in confirmacao.content

    # when
    resposta = acao(membro, "reenviar_falhas", webhook, confirmar="1", dias="7")

    # then
    assert mensagens(resposta) == ["ERP: 1 evento(s) na fila para reenvio."]
    nova = escopo(WebhookLog, org).get(evento=perdido, status=Status.PENDENTE)
    assert nova.tentativa == 2
    assert entregar_pendentes() == 1
    assert receptor.ids == [perdido.pk]
    nova.refresh_from_db()
    assert nova.status == Status.SUCESSO


@pytest.mark.django_db
def test_reenviar_falhas_validates_the_period_and_skips_disabled_webhooks(membro, org, receptor):
    webhook = novo_webhook(org, receptor.url, nome="ERP")
    invalido = membro.post(LISTA, {"action": "reenviar_falhas", "_selected_action": [webhook.pk], "confirmar": "1",
                                   "dias": "90"})  # fmt: skip
    assert invalido.status_code == 200 and "dias" in invalido.context["form"].errors

    escopo(Webhook, org).update(ativo=False)
    resposta = acao(membro, "reenviar_falhas", webhook, confirmar="1", dias="7")
    assert "reative-o" in mensagens(resposta)[0]


# --- WebhookLog and Evento -------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_delivery_log_filters_by_status_event_type_and_webhook(membro, org, receptor):
    um, dois = novo_webhook(org, receptor.url, nome="Um"), novo_webhook(org, receptor.url, nome="Dois")
    disparar(org, "nfe_importada")
    disparar(org, "cte_importado")
    escopo(WebhookLog, org).filter(webhook=um, evento__tipo="cte_importado").update(status=Status.DESISTIU)
    lista = reverse("admin:core_webhooklog_changelist")

    def quantos(**filtros):
        return membro.get(lista, filtros).context["cl"].result_count

    assert quantos() == 4
    assert quantos(status="desistiu") == 1
    assert quantos(tipo="cte_importado") == 2
    assert quantos(webhook=dois.pk) == 2
    assert quantos(tipo="cte_importado", webhook=um.pk, status="desistiu") == 1


@pytest.mark.django_db
def test_the_delivery_log_shows_and_filters_the_failure_class(membro, org):
    receptor = Receptor([(401, {})])
    try:
        novo_webhook(org, receptor.url)
        disparar(org, "nfe_importada")
        entregar_pendentes()
    finally:
        receptor.fechar()
    falha = escopo(WebhookLog, org).get(status=Status.FALHA)
    lista = reverse("admin:core_webhooklog_changelist")

    pagina = membro.get(lista, {"classe_falha": "http"})

    assert pagina.context["cl"].result_count == 1
    assert "Resposta HTTP fora de 2xx" in pagina.content.decode()
    assert membro.get(lista, {"classe_falha": "tls"}).context["cl"].result_count == 0
    detalhe = membro.get(reverse("admin:core_webhooklog_change", args=[falha.pk])).content.decode()
    assert "classe da falha" in detalhe.lower() and "Resposta HTTP fora de 2xx" in detalhe


@pytest.mark.django_db
def test_the_event_page_pretty_prints_the_payload_and_finds_events_by_document_key(membro, org):
    evento = disparar(org, "nfe_importada", numero=42)
    lista = reverse("admin:core_evento_changelist")

    assert membro.get(lista, {"q": "3" * 44}).context["cl"].result_count == 1
    assert membro.get(lista, {"q": evento.pk}).context["cl"].result_count == 1
    pagina = membro.get(reverse("admin:core_evento_change", args=[evento.pk]))
    assert pagina.status_code == 200
    assert "<pre>{\n  &quot;id&quot;" in pagina.content.decode() and "&quot;numero&quot;: 42" in pagina.content.decode()
    assert escopo(Evento, org).count() == 1
