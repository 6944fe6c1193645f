"""A PATCH of a webhook writes only what it was asked to change, whatever another writer did meanwhile.

Each test reads the webhook the way the API does (the view loads it), lets another writer commit a change
(a secret rotation, a 410 that disables it, the worker's failure counter), then lets the PATCH write. On
PostgreSQL the other writer runs in another thread, on its own connection; on SQLite (one in-memory
database whose table locks do not wait across threads) it runs on the same connection, which is the same
interleaving: the row changes between the PATCH's read and its write.
"""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from core.models import Evento, Webhook, WebhookLog
from core.eventos.emissao import novo_evento
from core.tenancy import escopo, inserir
from core.webhooks import gestao
from core.webhooks.entrega import Resultado, _atualizar_saude, desativar_webhook
from tests.api.conftest import cliente_com_token

Status = WebhookLog.Status
PRECISA_DE_POSTGRES = "precisa de PostgreSQL: o outro escritor roda em outra thread, com outra conexão (roda no .ci/run)"

# The same interleaving on both databases: the other writer on another connection needs PostgreSQL.
ESCRITORES = pytest.mark.parametrize(
    "outra_conexao", [pytest.param(False, id="mesma-conexao"), pytest.param(True, id="outra-conexao", marks=pytest.mark.postgres)]
)


@pytest.fixture(autouse=True)
def _config(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_ENTREGA_IMEDIATA = False


@pytest.fixture
def api(nova_org):
    return cliente_com_token(nova_org.usuario)


def rodar(escrita, outra_conexao: bool):
    """Run `escrita` to its commit: in another thread (its own connection) or right here."""
    if outra_conexao and connection.vendor != "postgresql":
        pytest.skip(PRECISA_DE_POSTGRES)
    if not outra_conexao:
        return escrita()
    erros = []

    def alvo():
        try:
            escrita()
        except Exception as erro:  # re-raised in the test's thread
            erros.append(erro)
        finally:
            connection.close()

    thread = threading.Thread(target=alvo)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "o outro escritor ficou esperando a trava da linha"
    if erros:
        raise erros[0]


def entre_a_leitura_e_a_escrita(monkeypatch, escrita, outra_conexao: bool):
    """Make the next PATCH run `escrita` after the view loaded the webhook and before the PATCH writes it."""
    original = gestao.atualizar_webhook

    def atualizar(webhook, **campos):
        rodar(escrita, outra_conexao)
        return original(webhook, **campos)

    monkeypatch.setattr(gestao, "atualizar_webhook", atualizar)


def patch(api, webhook, **campos) -> dict:
    resposta = api.patch(f"/api/webhooks/{webhook.pk}/", campos, format="json")
    assert resposta.status_code == 200, resposta.json()
    return resposta.json()


def novo_webhook(org) -> Webhook:
    webhook, _segredo = gestao.criar_webhook(org, nome="ERP", url="http://127.0.0.1:9/hook")
    return webhook


def no_banco(webhook) -> Webhook:
    return Webhook.objects.get(pk=webhook.pk)


def resultado_do_worker(org, webhook, resultado: Resultado):
    """What the worker records after an attempt it claimed before the PATCH (its log loaded the webhook then)."""
    [evento] = inserir(Evento, org, [novo_evento("teste", {}, org)])
    [log] = inserir(WebhookLog, org, [WebhookLog(
        organizacao=org, webhook=webhook, evento=evento, status=Status.ENTREGANDO, proxima_tentativa_em=timezone.now(),
    )])  # fmt: skip
    log.webhook = escopo(Webhook, org).get(pk=webhook.pk)
    return lambda: _atualizar_saude(log, resultado, timezone.now())


@ESCRITORES
@pytest.mark.django_db(transaction=True)
def test_a_patch_racing_a_rotation_keeps_the_new_secret(api, org, monkeypatch, outra_conexao):
    # given: a webhook whose secret is rotated while a PATCH of its name is under way
    webhook = novo_webhook(org)
    antigo, novo = webhook.segredo, {}
    entre_a_leitura_e_a_escrita(
        monkeypatch, lambda: novo.update(segredo=gestao.rotacionar_segredo(no_banco(webhook))[0]), outra_conexao
    )

    # when
    resposta = patch(api, webhook, nome="ERP novo")

    # then: the rotation's secret signs, the old one is the previous secret, and the name changed
    salvo = no_banco(webhook)
    assert (str(salvo.segredo), str(salvo.segredo_anterior)) == (novo["segredo"], str(antigo))
    assert salvo.segredo_anterior_expira_em is not None
    assert resposta["nome"] == salvo.nome == "ERP novo"


@ESCRITORES
@pytest.mark.django_db(transaction=True)
def test_a_patch_racing_a_410_leaves_the_webhook_disabled(api, org, monkeypatch, outra_conexao):
    # given: a receiver answers 410 while a PATCH of the timeout is under way
    webhook = novo_webhook(org)
    entre_a_leitura_e_a_escrita(monkeypatch, lambda: desativar_webhook(no_banco(webhook), "HTTP 410 Gone"), outra_conexao)

    # when
    resposta = patch(api, webhook, timeout=20)

    # then: still disabled, with the reason, and the timeout changed
    salvo = no_banco(webhook)
    assert (salvo.ativo, salvo.motivo_desativacao, salvo.timeout) == (False, "HTTP 410 Gone", 20)
    assert salvo.desativado_em is not None
    assert (resposta["ativo"], resposta["motivo_desativacao"]) == (False, "HTTP 410 Gone")


@ESCRITORES
@pytest.mark.django_db(transaction=True)
def test_a_410_wins_over_a_patch_that_repeats_the_active_flag_it_read(api, org, monkeypatch, outra_conexao):
    # given: a client that always sends the whole object, ativo=true included, as it read it
    webhook = novo_webhook(org)
    entre_a_leitura_e_a_escrita(monkeypatch, lambda: desativar_webhook(no_banco(webhook), "HTTP 410 Gone"), outra_conexao)

    # when
    patch(api, webhook, nome="ERP", ativo=True)

    # then: the PATCH did not ask to change `ativo` (it sent what it read), so the 410 stands
    salvo = no_banco(webhook)
    assert (salvo.ativo, salvo.motivo_desativacao) == (False, "HTTP 410 Gone")


@pytest.mark.django_db
def test_a_patch_that_turns_a_disabled_webhook_on_still_reactivates_it(api, org):
    # given: a webhook disabled by a 410 before the client read it
    webhook = novo_webhook(org)
    desativar_webhook(webhook, "HTTP 410 Gone")

    # when
    resposta = patch(api, webhook, ativo=True)

    # then: on again, its failure history cleared
    salvo = no_banco(webhook)
    assert (salvo.ativo, salvo.desativado_em, salvo.motivo_desativacao, salvo.falhas_consecutivas) == (True, None, "", 0)
    assert resposta["ativo"] is True


@ESCRITORES
@pytest.mark.django_db(transaction=True)
def test_a_patch_racing_the_worker_keeps_its_failure_count(api, org, monkeypatch, outra_conexao):
    # given: the worker records a failed attempt while a PATCH of the events is under way
    webhook = novo_webhook(org)
    falha = Resultado(status=Status.FALHA, erro="HTTP 500", codigo_http=500)
    entre_a_leitura_e_a_escrita(monkeypatch, resultado_do_worker(org, webhook, falha), outra_conexao)

    # when
    patch(api, webhook, eventos=["nfe_importada"])

    # then: the failure streak the worker counted is still there
    salvo = no_banco(webhook)
    assert (salvo.falhas_consecutivas, salvo.eventos) == (1, ["nfe_importada"])
    assert salvo.primeira_falha_em is not None


@ESCRITORES
@pytest.mark.django_db(transaction=True)
def test_a_patch_racing_a_success_keeps_the_last_delivery_time(api, org, monkeypatch, outra_conexao):
    # given: a webhook with a failure streak, which the worker ends with a success during a PATCH
    webhook = novo_webhook(org)
    escopo(Webhook, org).filter(pk=webhook.pk).update(falhas_consecutivas=3, primeira_falha_em=timezone.now())
    webhook = no_banco(webhook)
    entre_a_leitura_e_a_escrita(
        monkeypatch, resultado_do_worker(org, webhook, Resultado(status=Status.SUCESSO, codigo_http=200)), outra_conexao
    )

    # when
    patch(api, webhook, max_tentativas=2)

    # then: the success the worker recorded stands
    salvo = no_banco(webhook)
    assert (salvo.falhas_consecutivas, salvo.primeira_falha_em, salvo.max_tentativas) == (0, None, 2)
    assert salvo.ultimo_sucesso_em is not None
