"""Reliability of webhook delivery (issue 4, "Reliability"): receivers that fail or vanish, workers
killed mid-batch, two workers on one queue, signatures checked with the PyPI `standardwebhooks` package.

The receivers are real HTTP servers on 127.0.0.1. The worker tests start real
`manage.py webhook_worker` processes against the test database, so they need PostgreSQL (a child
process cannot see the in-memory SQLite test database); on SQLite they skip, like the other
PostgreSQL-only tests, and run in .ci/run.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import standardwebhooks.webhooks
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as SW
from standardwebhooks.webhooks import WebhookVerificationError

import core.webhooks.entrega
from core.eventos.emissao import disparar_webhook, registrar_eventos
from core.models import Webhook, WebhookLog
from core.tenancy import escopo, inserir
from core.webhooks.assinatura import gerar_segredo
from core.webhooks.entrega import entregar_pendentes
from tests.webhooks.receptor import Receptor, esperar, porta_livre

Status = WebhookLog.Status
RAIZ = Path(__file__).resolve().parents[2]
LEASE_SEGUNDOS = 2
PRECISA_DE_POSTGRES = (
    "precisa de PostgreSQL: o worker roda em outro processo, que não enxerga o banco SQLite em memória "
    "dos testes (roda no .ci/run)"
)


@pytest.fixture(autouse=True)
def _config(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_ENTREGA_IMEDIATA = False
    settings.WEBHOOK_RETRY_SCHEDULE = "0,0,0"
    settings.WEBHOOK_LEASE_SECONDS = 60


def criar_webhook(org, url, **campos):
    campos.setdefault("segredo", gerar_segredo())
    return inserir(Webhook, org, [Webhook(organizacao=org, nome="ERP", url=url, **campos)])[0]


def logs(org):
    return list(escopo(WebhookLog, org).order_by("id"))


@pytest.fixture
def envios(monkeypatch):
    """Every attempt as it leaves (time, url, body, headers), including those that never connect.

    A pass-through spy on the HTTP boundary: the real client still sends.
    """
    registro, enviar = [], core.webhooks.entrega.enviar

    def espiao(url, corpo, cabecalhos, **opcoes):
        registro.append((timezone.now(), url, corpo, {k.lower(): v for k, v in cabecalhos.items()}))
        return enviar(url, corpo, cabecalhos, **opcoes)

    monkeypatch.setattr(core.webhooks.entrega, "enviar", espiao)
    return registro


# --- A receiver that is down for a while ------------------------------------------------------------


@pytest.mark.django_db
def test_a_receiver_down_for_a_while_is_retried_on_schedule_and_gets_the_event_when_back(org, settings, envios):
    # given: nothing listens on the webhook's port yet
    settings.WEBHOOK_RETRY_SCHEDULE = "1,1,1"
    porta = porta_livre()
    webhook = criar_webhook(org, f"http://127.0.0.1:{porta}/hook")
    evento = disparar_webhook("teste", {"mensagem": "olá"}, org)

    # when: two attempts find the port closed, then the receiver comes back on the same port
    assert entregar_pendentes() == 1
    assert entregar_pendentes() == 0  # the retry is not due yet
    assert esperar(entregar_pendentes, prazo=5)
    receptor = Receptor(porta=porta)
    try:
        assert esperar(entregar_pendentes, prazo=5)
    finally:
        receptor.fechar()

    # then: one delivery, and every attempt is logged with its error and was made when scheduled
    tentativas = logs(org)
    assert [(log.tentativa, log.status) for log in tentativas] == [
        (1, Status.FALHA), (2, Status.FALHA), (3, Status.SUCESSO)
    ]  # fmt: skip
    for log in tentativas[:2]:
        assert log.codigo_http is None and f"não foi possível conectar em 127.0.0.1:{porta}" in log.erro
    for anterior, seguinte in zip(tentativas, tentativas[1:], strict=False):
        espera = (seguinte.proxima_tentativa_em - anterior.atualizado_em).total_seconds()
        assert 0.9 <= espera <= 1.1  # 1 s from the schedule, ±10% jitter
    assert [momento >= log.proxima_tentativa_em for (momento, *_), log in zip(envios, tentativas, strict=False)] == [True] * 3
    assert receptor.ids == [evento.id]
    # the same webhook-id on every attempt, each freshly signed and verifiable
    assert [cabecalhos["webhook-id"] for *_, cabecalhos in envios] == [evento.id] * 3
    for _momento, _url, corpo, cabecalhos in envios:
        SW(webhook.segredo).verify(corpo, cabecalhos)
    webhook.refresh_from_db()
    assert webhook.falhas_consecutivas == 0 and webhook.ultimo_sucesso_em is not None


# --- Batches ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_batch_records_each_attempt_in_order(org):
    # given: successes with different status codes around a failure
    receptor = Receptor([(201, {}), (500, {}), (202, {}), (200, {})])
    try:
        webhook = criar_webhook(org, receptor.url)
        eventos = [disparar_webhook("teste", {"n": n}, org) for n in range(4)]

        # when: one batch sends all four
        assert entregar_pendentes(limite=10) == 4
    finally:
        receptor.fechar()

    # then: one row per attempt with its own result, and the retry of the failure queued
    assert [(log.evento_id, log.tentativa, log.status, log.codigo_http) for log in logs(org)] == [
        (eventos[0].id, 1, Status.SUCESSO, 201),
        (eventos[1].id, 1, Status.FALHA, 500),
        (eventos[2].id, 1, Status.SUCESSO, 202),
        (eventos[3].id, 1, Status.SUCESSO, 200),
        (eventos[1].id, 2, Status.PENDENTE, None),
    ]
    assert all(log.lease_expira_em is None and log.duracao_ms is not None for log in logs(org)[:4])
    # the health follows the results in order: the success after the failure resets the streak
    webhook.refresh_from_db()
    assert webhook.falhas_consecutivas == 0 and webhook.primeira_falha_em is None


@pytest.mark.django_db
def test_rows_a_batch_cannot_send_within_its_lease_go_back_to_the_queue(org, receptor, settings):
    # given: a lease no longer than the webhook's timeout, so only the first row of a batch is safe
    settings.WEBHOOK_LEASE_SECONDS = 1
    criar_webhook(org, receptor.url, timeout=1)
    for n in range(3):
        disparar_webhook("teste", {"n": n}, org)

    # when
    assert entregar_pendentes(limite=10) == 1

    # then: the others are pending again, unsent, and the next batches send them one by one
    assert [(log.status, log.lease_expira_em) for log in logs(org)] == [
        (Status.SUCESSO, None), (Status.PENDENTE, None), (Status.PENDENTE, None)
    ]  # fmt: skip
    assert len(receptor.recebidos) == 1
    assert [entregar_pendentes(limite=10) for _ in range(3)] == [1, 1, 0]
    assert len(receptor.recebidos) == 3


# --- Signatures and timestamps, as a receiver checks them -----------------------------------------


class _Relogio(datetime):
    """`datetime` as seen by a receiver `adiante` later: a captured request replayed then."""

    adiante = timedelta(0)

    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) + cls.adiante


@pytest.mark.django_db
def test_every_attempt_verifies_with_standardwebhooks_and_a_late_replay_is_rejected(org, monkeypatch):
    # given: a receiver that fails once, so the event is signed twice
    receptor = Receptor([(500, {}), (200, {})])
    try:
        webhook = criar_webhook(org, receptor.url)
        evento = disparar_webhook("teste", {"mensagem": "nota fiscal nº 1, ação"}, org)
        antes = int(time.time())

        # when
        while entregar_pendentes():
            pass
        depois = time.time()
    finally:
        receptor.fechar()

    # then: both attempts carry the event id, a current timestamp and a valid signature
    assert receptor.ids == [evento.id, evento.id]
    for corpo, cabecalhos in receptor.recebidos:
        assert SW(webhook.segredo).verify(corpo, cabecalhos) == evento.payload
        assert antes <= int(cabecalhos["webhook-timestamp"]) <= depois
    corpo, cabecalhos = receptor.recebidos[-1]
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        SW(gerar_segredo()).verify(corpo, cabecalhos)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        SW(webhook.segredo).verify(corpo.replace("ação".encode(), b"acao"), cabecalhos)
    # an attacker replaying the captured request 6 minutes later is outside the 5-minute tolerance...
    monkeypatch.setattr(_Relogio, "adiante", timedelta(minutes=6))
    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", _Relogio)
    with pytest.raises(WebhookVerificationError, match="too old"):
        SW(webhook.segredo).verify(corpo, cabecalhos)
    # ...and cannot refresh the timestamp, which is signed
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        SW(webhook.segredo).verify(corpo, {**cabecalhos, "webhook-timestamp": str(int(_Relogio.now().timestamp()))})


# --- Worker processes -------------------------------------------------------------------------------


class Worker:
    """`manage.py webhook_worker` in its own process, on the test database."""

    def __init__(self, pasta: Path, nome: str, *argumentos: str, lease: int = 60):
        self.saida_path = pasta / f"{nome}.log"
        ambiente = {
            **os.environ,
            "DATABASE_URL": url_do_banco_de_teste(),
            "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
            "WEBHOOK_ENTREGA_IMEDIATA": "false",
            "WEBHOOK_LEASE_SECONDS": str(lease),
            "WEBHOOK_RETRY_SCHEDULE": "0,0,0",
        }
        with open(self.saida_path, "wb") as saida:
            self.processo = subprocess.Popen(
                [sys.executable, "manage.py", "webhook_worker", *argumentos],
                cwd=RAIZ, env=ambiente, stdout=saida, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def parar(self, sinal=signal.SIGTERM, prazo=15) -> int:
        if self.processo.poll() is None:
            self.processo.send_signal(sinal)
        try:
            return self.processo.wait(prazo)
        except subprocess.TimeoutExpired:
            self.processo.kill()
            return self.processo.wait()

    def esperar_fim(self, prazo=30) -> int:
        try:
            return self.processo.wait(prazo)
        except subprocess.TimeoutExpired:
            self.parar(signal.SIGKILL)
            pytest.fail(f"o worker não terminou em {prazo} s:\n{self.saida}")

    @property
    def saida(self) -> str:
        return self.saida_path.read_text(errors="replace")

    @property
    def entregas(self) -> int:
        """The count in the command's one-line summary."""
        linha = [linha for linha in self.saida.splitlines() if linha.startswith("webhook_worker:")]
        assert linha, self.saida
        return int(linha[-1].split()[1])


def url_do_banco_de_teste() -> str:
    dados = connection.settings_dict
    usuario = quote(dados["USER"] or "", safe="")
    senha = f":{quote(dados['PASSWORD'], safe='')}" if dados["PASSWORD"] else ""
    return f"postgres://{usuario}{senha}@{dados['HOST'] or '127.0.0.1'}:{dados['PORT'] or 5432}/{dados['NAME']}"


def exigir_postgres():
    if connection.vendor != "postgresql":
        pytest.skip(PRECISA_DE_POSTGRES)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_nothing_and_a_new_worker_reclaims_its_rows(org, tmp_path):
    exigir_postgres()
    # given: a slow receiver, so the worker is caught mid-send, and a queue of events; a short lease
    # (and a timeout under it, so a batch holds several rows) so the test need not wait a minute
    receptor = Receptor(demora=0.2)
    workers = []
    try:
        webhook = criar_webhook(org, receptor.url, timeout=1)
        eventos = registrar_eventos(org, [("teste", {"n": n}) for n in range(12)])
        ids = {e.id for e in eventos}

        # when: the first worker is killed with SIGKILL while a request is in flight...
        workers.append(Worker(tmp_path, "primeiro", "--loop", "--intervalo", "0.1", lease=LEASE_SEGUNDOS))
        assert esperar(lambda: len(receptor.recebidos) >= 3 and receptor.ocupado(), prazo=20), workers[0].saida
        workers[0].parar(signal.SIGKILL)
        morto_em = time.time()
        presas = {log.evento_id: log for log in logs(org) if log.status == Status.ENTREGANDO}
        # ...and a new worker is started
        workers.append(Worker(tmp_path, "segundo", "--loop", "--intervalo", "0.1", lease=LEASE_SEGUNDOS))
        assert esperar(lambda: all(log.status == Status.SUCESSO for log in logs(org)), prazo=30), workers[1].saida
    finally:
        for worker in workers:
            worker.parar()
        receptor.fechar()

    # then: the rows the dead worker held stayed claimed until their lease expired
    assert presas, "o worker morreu sem nenhuma entrega reivindicada"
    for log in presas.values():
        assert (log.lease_expira_em - log.atualizado_em).total_seconds() == pytest.approx(LEASE_SEGUNDOS, abs=0.01)
    for evento_id, momento in zip(receptor.ids, receptor.chegadas, strict=False):
        if evento_id in presas and momento > morto_em:
            assert momento >= presas[evento_id].lease_expira_em.timestamp()
    # every event arrived (at least once), duplicates only for rows the dead worker held, and every
    # copy carries the same webhook-id and verifies
    contagem = Counter(receptor.ids)
    assert set(contagem) == ids
    duplicados = {evento_id for evento_id, vezes in contagem.items() if vezes > 1}
    assert duplicados and duplicados <= set(presas)  # the request in flight at the kill was re-sent
    for corpo, cabecalhos in receptor.recebidos:
        assert SW(webhook.segredo).verify(corpo, cabecalhos)["id"] == cabecalhos["webhook-id"]
    # one attempt per event: a reclaimed row is the same attempt, not a retry
    assert sorted((log.evento_id, log.tentativa, log.status) for log in logs(org)) == sorted(
        (evento_id, 1, Status.SUCESSO) for evento_id in ids
    )
    assert receptor.sobreposicoes == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_deliver_1000_events_exactly_once_and_never_in_parallel(org, tmp_path):
    exigir_postgres()
    # given
    receptor = Receptor()
    workers = []
    try:
        webhook = criar_webhook(org, receptor.url)
        eventos = registrar_eventos(org, [("teste", {"n": n}) for n in range(1000)])

        # when: two workers, of two threads each, empty the queue at the same time
        workers = [Worker(tmp_path, nome, "--threads", "2") for nome in ("a", "b")]
        for worker in workers:
            assert worker.esperar_fim(prazo=60) == 0, worker.saida
    finally:
        for worker in workers:
            worker.parar()
        receptor.fechar()

    # then: both worked, nothing overlapped, every event arrived exactly once
    assert all(worker.entregas > 0 for worker in workers), [worker.saida for worker in workers]
    assert sum(worker.entregas for worker in workers) == 1000
    assert receptor.sobreposicoes == []
    assert sorted(receptor.ids) == sorted(e.id for e in eventos)
    assert escopo(WebhookLog, org).filter(webhook=webhook, status=Status.SUCESSO, tentativa=1).count() == 1000
    corpo, cabecalhos = receptor.recebidos[-1]
    SW(webhook.segredo).verify(corpo, cabecalhos)


def test_the_worker_refuses_zero_threads():
    with pytest.raises(CommandError, match="--threads"):
        call_command("webhook_worker", "--threads", "0")
