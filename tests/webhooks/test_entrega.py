"""Webhook delivery: the outbox rows, the claim, the retry rules, the worker commands.

Real HTTP receivers on 127.0.0.1 stand in for integrators; signatures are checked with the PyPI
`standardwebhooks` package, as a receiver would.
"""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as SW

from core.documentos.importacao import importar_bytes
from core.eventos.emissao import disparar_webhook
from core.geracao.documentos import gerar_nfe
from core.models import Evento, Origem, Webhook, WebhookLog
from core.tenancy import escopo, inserir
from core.webhooks.assinatura import gerar_segredo
from core.webhooks.entrega import enfileirar_entregas, entregar_pendentes, entregar_um
from tests.webhooks.receptor import Receptor

Status = WebhookLog.Status


@pytest.fixture(autouse=True)
def _config(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_ENTREGA_IMEDIATA = False
    settings.WEBHOOK_RETRY_SCHEDULE = "0,0,0"
    settings.WEBHOOK_LEASE_SECONDS = 60


def criar_webhook(org, url, **campos):
    campos.setdefault("segredo", gerar_segredo())
    return inserir(Webhook, org, [Webhook(organizacao=org, nome="ERP", url=url, **campos)])[0]


def importar_nfe(org, emissor, numero=1):
    documento = gerar_nfe(certificado=emissor, numero=numero)
    importar_bytes(organizacao=org, nome=f"{documento.chave}.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
    return escopo(Evento, org).get(tipo="nfe_importada", payload__dados__chave=documento.chave)


def logs(org):
    return list(escopo(WebhookLog, org).order_by("id"))


@pytest.mark.django_db
def test_it_delivers_an_imported_nfe_signed_per_standard_webhooks(org, emissor, receptor):
    webhook = criar_webhook(org, receptor.url, headers={"Authorization": "Bearer abc", "webhook-id": "forjado"})
    evento = importar_nfe(org, emissor)

    assert entregar_pendentes() == 1

    corpo, cabecalhos = receptor.recebidos[0]
    SW(webhook.segredo).verify(corpo, cabecalhos)  # raises if the signature or timestamp is wrong
    assert cabecalhos["webhook-id"] == evento.id
    assert cabecalhos["content-type"] == "application/json"
    assert cabecalhos["authorization"] == "Bearer abc"
    assert json.loads(corpo) == evento.payload
    [log] = logs(org)
    assert (log.status, log.codigo_http, log.tentativa, log.trecho_resposta) == (Status.SUCESSO, 200, 1, "ok")
    webhook.refresh_from_db()
    assert webhook.ultimo_sucesso_em is not None and webhook.falhas_consecutivas == 0


@pytest.mark.django_db
def test_it_retries_a_500_and_delivers_once(org, emissor):
    receptor = Receptor([(500, {}), (200, {})])
    try:
        webhook = criar_webhook(org, receptor.url)
        evento = importar_nfe(org, emissor)

        assert entregar_pendentes() == 1
        webhook.refresh_from_db()
        assert webhook.falhas_consecutivas == 1 and webhook.primeira_falha_em is not None
        assert entregar_pendentes() == 1
        assert entregar_pendentes() == 0
    finally:
        receptor.fechar()

    assert receptor.ids == [evento.id, evento.id]
    assert [(log.tentativa, log.status, log.codigo_http) for log in logs(org)] == [
        (1, Status.FALHA, 500), (2, Status.SUCESSO, 200)
    ]  # fmt: skip
    webhook.refresh_from_db()
    assert webhook.falhas_consecutivas == 0 and webhook.primeira_falha_em is None


@pytest.mark.django_db
def test_it_gives_up_after_the_schedule(org, emissor, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = "0"
    receptor = Receptor([(500, {})])
    try:
        criar_webhook(org, receptor.url)
        importar_nfe(org, emissor)
        while entregar_pendentes():
            pass
    finally:
        receptor.fechar()

    assert [(log.tentativa, log.status) for log in logs(org)] == [(1, Status.FALHA), (2, Status.DESISTIU)]


@pytest.mark.django_db
def test_after_a_410_the_rest_of_the_batch_is_not_sent(org):
    receptor = Receptor([(410, {})])
    try:
        criar_webhook(org, receptor.url)
        for _ in range(3):
            disparar_webhook("teste", {}, org)

        assert entregar_pendentes(limite=10) == 3

        assert len(receptor.recebidos) == 1
        assert [log.status for log in logs(org)] == [Status.DESISTIU] * 3
    finally:
        receptor.fechar()


@pytest.mark.django_db
def test_a_410_disables_the_webhook(org, emissor):
    receptor = Receptor([(410, {})])
    try:
        webhook = criar_webhook(org, receptor.url)
        importar_nfe(org, emissor)
        entregar_pendentes()
        importar_nfe(org, emissor, numero=2)  # not queued: the webhook is off
        assert entregar_pendentes() == 0
    finally:
        receptor.fechar()

    webhook.refresh_from_db()
    assert not webhook.ativo and webhook.desativado_em and "410" in webhook.motivo_desativacao
    assert [log.status for log in logs(org)] == [Status.DESISTIU]
    assert len(receptor.recebidos) == 1


@pytest.mark.django_db
def test_a_429_with_retry_after_schedules_the_next_attempt(org, emissor):
    receptor = Receptor([(429, {"Retry-After": "120"})])
    try:
        criar_webhook(org, receptor.url)
        importar_nfe(org, emissor)
        antes = timezone.now()
        entregar_pendentes()
        assert entregar_pendentes() == 0  # not due yet
    finally:
        receptor.fechar()

    primeira, segunda = logs(org)
    assert (primeira.status, primeira.codigo_http, segunda.status) == (Status.FALHA, 429, Status.PENDENTE)
    espera = (segunda.proxima_tentativa_em - antes).total_seconds()
    assert 119 <= espera <= 125


@pytest.mark.django_db
def test_five_days_of_failures_without_success_disable_the_webhook(org, emissor):
    receptor = Receptor([(500, {})])
    try:
        webhook = criar_webhook(org, receptor.url, primeira_falha_em=timezone.now() - timedelta(days=5, hours=1))
        importar_nfe(org, emissor)
        entregar_pendentes()
    finally:
        receptor.fechar()

    webhook.refresh_from_db()
    assert not webhook.ativo and "5 dias" in webhook.motivo_desativacao
    assert [log.status for log in logs(org)] == [Status.FALHA, Status.DESISTIU]


@pytest.mark.django_db
def test_the_previous_secret_signs_until_it_expires(org, receptor):
    antigo = gerar_segredo()
    expira = timezone.now() + timedelta(hours=1)
    criar_webhook(org, receptor.url, segredo_anterior=antigo, segredo_anterior_expira_em=expira)
    disparar_webhook("teste", {"mensagem": "oi"}, org)

    entregar_pendentes()

    corpo, cabecalhos = receptor.recebidos[0]
    SW(antigo).verify(corpo, cabecalhos)
    assert len(cabecalhos["webhook-signature"].split()) == 2


@pytest.mark.django_db
def test_an_unsubscribed_event_type_is_not_queued(org, emissor, receptor):
    criar_webhook(org, receptor.url, eventos=["cte_importado"])
    importar_nfe(org, emissor)

    assert logs(org) == []
    assert entregar_pendentes() == 0 and receptor.recebidos == []


@pytest.mark.django_db
def test_an_inactive_webhook_gets_nothing(org, emissor, receptor):
    criar_webhook(org, receptor.url, ativo=False)
    importar_nfe(org, emissor)

    assert logs(org) == []
    assert entregar_pendentes() == 0 and receptor.recebidos == []


@pytest.mark.django_db
def test_another_organizations_webhook_gets_nothing(org, outra_org, emissor, receptor):
    criar_webhook(outra_org, receptor.url)
    importar_nfe(org, emissor)

    assert logs(org) == [] and logs(outra_org) == []
    assert entregar_pendentes() == 0 and receptor.recebidos == []


@pytest.mark.django_db
def test_a_claimed_row_with_an_expired_lease_is_reclaimed(org, receptor):
    criar_webhook(org, receptor.url)
    evento = disparar_webhook("teste", {}, org)
    agora = timezone.now()
    # A worker claimed it and died mid-send.
    escopo(WebhookLog, org).update(status=Status.ENTREGANDO, lease_expira_em=agora + timedelta(seconds=30))
    assert entregar_pendentes() == 0  # its lease still holds

    escopo(WebhookLog, org).update(lease_expira_em=agora - timedelta(seconds=1))
    assert entregar_pendentes() == 1

    assert receptor.ids == [evento.id]
    [log] = logs(org)
    assert (log.status, log.tentativa, log.lease_expira_em) == (Status.SUCESSO, 1, None)


@pytest.mark.django_db
def test_enfileirar_entregas_queues_one_row_per_subscribed_webhook(org, receptor):
    criar_webhook(org, receptor.url)
    criar_webhook(org, receptor.url, eventos=["teste"])
    evento = disparar_webhook("teste", {}, org)

    assert len(logs(org)) == 2
    assert enfileirar_entregas([]) == []
    assert entregar_pendentes() == 2
    assert receptor.ids == [evento.id, evento.id]


@pytest.mark.django_db
def test_the_worker_with_nothing_due_returns_quickly(capsys):
    inicio = time.monotonic()
    call_command("webhook_worker")
    assert time.monotonic() - inicio < 1
    assert "webhook_worker: 0 entrega(s) com sucesso, 0 com falha" in capsys.readouterr().out
    assert entregar_um() is False


@pytest.mark.django_db
def test_the_worker_delivers_everything_due(org, receptor, capsys):
    criar_webhook(org, receptor.url)
    disparar_webhook("teste", {}, org)
    disparar_webhook("teste", {}, org)

    call_command("webhook_worker")

    assert "webhook_worker: 2 entrega(s) com sucesso, 0 com falha" in capsys.readouterr().out
    assert len(receptor.recebidos) == 2


@pytest.mark.django_db
def test_the_worker_reports_delivered_and_failed_apart(org, receptor, capsys, settings):
    """Issue 15: "1084 entrega(s) processada(s)" was printed when every one of them had failed."""
    settings.WEBHOOK_RETRY_SCHEDULE = "3600"  # one attempt each in this run
    quebrado = Receptor([(500, {})])
    try:
        criar_webhook(org, receptor.url)
        criar_webhook(org, quebrado.url)
        disparar_webhook("teste", {}, org)
        disparar_webhook("teste", {}, org)

        call_command("webhook_worker")
    finally:
        quebrado.fechar()

    assert "webhook_worker: 2 entrega(s) com sucesso, 2 com falha; 0 e-mail(s) tentado(s)." in capsys.readouterr().out
    assert len(receptor.recebidos) == 2 and len(quebrado.recebidos) == 2
    registrados = [log.status for log in logs(org)]
    assert registrados.count(Status.SUCESSO) == 2 and registrados.count(Status.FALHA) == 2


@pytest.mark.django_db
def test_run_scheduled_tasks_delivers_webhooks(org, receptor, capsys):
    criar_webhook(org, receptor.url)
    disparar_webhook("teste", {}, org)

    call_command("run_scheduled_tasks", "--task=entregar_webhooks")

    assert "entregar_webhooks: 1 entrega(s) com sucesso, 0 com falha." in capsys.readouterr().out
    assert len(receptor.recebidos) == 1


def test_run_scheduled_tasks_refuses_an_unknown_task():
    with pytest.raises(CommandError, match="entregar_webhooks"):
        call_command("run_scheduled_tasks", "--task=limpar_tudo")


@pytest.mark.django_db(transaction=True)
def test_it_delivers_in_the_background_right_after_commit(org, emissor, receptor, settings):
    # A real commit (transaction=True): the delivery thread has its own connection and must see the rows,
    # which the test-wide transaction of django_capture_on_commit_callbacks would hide from it.
    if connection.vendor != "postgresql":
        pytest.skip(
            "precisa de PostgreSQL: o SQLite em memória dos testes usa cache compartilhado, cujas travas de "
            "tabela não esperam (\"database table is locked\") quando outra thread escreve (roda no .ci/run)"
        )
    settings.WEBHOOK_ENTREGA_IMEDIATA = True
    criar_webhook(org, receptor.url)

    with transaction.atomic():
        evento = importar_nfe(org, emissor)
        time.sleep(0.2)
        assert receptor.recebidos == []  # nothing is sent before the commit

    assert receptor.chegou.wait(10)
    assert receptor.ids == [evento.id]
    prazo = time.monotonic() + 10
    while logs(org)[0].status != Status.SUCESSO and time.monotonic() < prazo:
        time.sleep(0.05)
    assert logs(org)[0].status == Status.SUCESSO


@pytest.mark.django_db(transaction=True)
def test_two_workers_deliver_each_event_exactly_once(org, receptor):
    if connection.vendor != "postgresql":
        pytest.skip("precisa de PostgreSQL: select_for_update(skip_locked) e escritores concorrentes (roda no .ci/run)")
    criar_webhook(org, receptor.url)
    eventos = [disparar_webhook("teste", {"n": n}, org) for n in range(200)]
    largada = threading.Barrier(2)

    def trabalhador():
        try:
            largada.wait()
            while entregar_pendentes(limite=5):
                pass
        finally:
            connection.close()

    threads = [threading.Thread(target=trabalhador) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(receptor.ids) == sorted(e.id for e in eventos)
    assert escopo(WebhookLog, org).filter(status=Status.SUCESSO).count() == 200
