"""Immediate delivery (issue 14, point 2): a bounded pool of threads per process, which finishes or
releases what it claimed when the process ends.

Real receivers on 127.0.0.1 and real `manage.py importar_xml` / `webhook_worker` processes on the test
database, so these need PostgreSQL: a child process cannot see the in-memory SQLite test database, whose
shared cache also cannot take the pool's threads writing beside the test. On SQLite they skip, like the
other PostgreSQL-only tests, and run in .ci/run.
"""

import logging
import os
import runpy
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connection

from core.eventos.emissao import disparar_webhook, registrar_eventos
from core.geracao.documentos import gerar_nfe
from core.models import Evento, WebhookLog
from core.tenancy import escopo
from core.webhooks import entrega, imediata, rede
from core.webhooks.imediata import encerrar_entrega_imediata
from tests.webhooks.receptor import esperar
from tests.webhooks.test_confiabilidade import (
    RAIZ,
    Worker,
    criar_webhook,
    logs,
    url_do_banco_de_teste,
)

Status = WebhookLog.Status
LEASE_SEGUNDOS = 60
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _config(settings):
    if connection.vendor != "postgresql":
        pytest.skip("precisa de PostgreSQL: processos filhos e as threads da entrega imediata no banco de teste (roda no .ci/run)")
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_ENTREGA_IMEDIATA = True
    settings.WEBHOOK_RETRY_SCHEDULE = "0,0,0"
    settings.WEBHOOK_LEASE_SECONDS = LEASE_SEGUNDOS
    yield
    encerrar_entrega_imediata(prazo=10)  # no pool thread of this test outlives it


@pytest.fixture
def pasta(tmp_path, emissor):
    """30 NF-e files, as a customer's folder."""
    pasta = tmp_path / "xmls"
    pasta.mkdir()
    for numero in range(1, 31):
        documento = gerar_nfe(certificado=emissor, numero=numero)
        (pasta / f"{documento.chave}.xml").write_bytes(documento.xml)
    return pasta


def importar_xml(org, pasta, *argumentos, **ambiente) -> subprocess.CompletedProcess:
    """`manage.py importar_xml` in its own process on the test database, immediate delivery on, no worker."""
    ambiente = {
        **os.environ, "DATABASE_URL": url_do_banco_de_teste(), "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "WEBHOOK_ENTREGA_IMEDIATA": "true", "WEBHOOK_LEASE_SECONDS": str(LEASE_SEGUNDOS), **ambiente,
    }  # fmt: skip
    comando = [sys.executable, "manage.py", "importar_xml", str(pasta), "--organizacao", org.slug, "--sem-progresso"]
    processo = subprocess.run([*comando, *argumentos], check=False, cwd=RAIZ, env=ambiente, capture_output=True, text=True, timeout=180)
    assert processo.returncode == 0, processo.stdout + processo.stderr
    assert processo.stdout.strip().splitlines()[-1] == "importados: 30, duplicados: 0, erros: 0"
    return processo


def threads_imediatas() -> int:
    return sum(t.name.startswith("webhooks-imediatos") for t in threading.enumerate())


# --- A process that ends ----------------------------------------------------------------------------


@pytest.mark.parametrize("processos", ["1", "2"])
def test_a_cli_import_with_no_worker_delivers_each_event_exactly_once(org, receptor, pasta, processos):
    # given: a receiver a little slow, so deliveries are still going on when the import is done
    receptor.demora = 0.03
    webhook = criar_webhook(org, receptor.url)

    # when: the command imports 30 documents (in this process, or in a worker process) and exits
    importar_xml(org, pasta, "--processos", processos)

    # then: before it exited, every event reached the receiver once and was recorded as delivered
    eventos = set(escopo(Evento, org).values_list("id", flat=True))
    assert len(eventos) >= 30
    assert Counter(receptor.ids) == Counter({evento_id: 1 for evento_id in eventos})
    assert [(log.status, log.tentativa, log.lease_expira_em) for log in logs(org)] == [(Status.SUCESSO, 1, None)] * len(eventos)
    assert receptor.sobreposicoes == []
    assert {log.webhook_id for log in logs(org)} == {webhook.pk}


def test_at_the_deadline_unsent_rows_are_released_and_a_worker_delivers_them_at_once(org, receptor, pasta, tmp_path):
    # given: one delivery thread and a receiver that takes 0.4 s per request, against a 1 s deadline
    receptor.demora = 0.4
    criar_webhook(org, receptor.url)

    # when: the import exits
    importar_xml(org, pasta, WEBHOOK_IMMEDIATE_THREADS="1", WEBHOOK_SHUTDOWN_SECONDS="1")
    saiu_em = time.time()

    # then: what it sent is recorded; the rest is pending and due now, none claimed with a lease
    linhas = logs(org)
    entregues = {log.evento_id for log in linhas if log.status == Status.SUCESSO}
    assert entregues == set(receptor.ids) and 0 < len(entregues) < len(linhas)
    assert {(log.status, log.lease_expira_em) for log in linhas if log.status != Status.SUCESSO} == {(Status.PENDENTE, None)}
    assert all(log.proxima_tentativa_em.timestamp() <= saiu_em for log in linhas)

    # when: a worker starts right afterwards (the receiver now answers at once)
    receptor.demora = 0.0
    worker = Worker(tmp_path, "depois", "--loop", "--intervalo", "0.1", lease=LEASE_SEGUNDOS)
    try:
        assert esperar(lambda: all(log.status == Status.SUCESSO for log in logs(org)), prazo=30), worker.saida
        terminou_em = time.time()
    finally:
        worker.parar()

    # then: it delivered the rest at once, not after the 60 s lease, and no event twice
    assert terminou_em - saiu_em < 15 < LEASE_SEGUNDOS
    assert Counter(receptor.ids) == Counter({log.evento_id: 1 for log in linhas})
    assert receptor.sobreposicoes == []


def test_a_sigterm_mid_delivery_finishes_or_releases_every_claimed_row(org, receptor, tmp_path):
    # given: a command emitting events whose deliveries are slow (a management command with no drain of
    # its own: the SIGTERM handler and atexit do it)
    receptor.demora = 0.3
    criar_webhook(org, receptor.url)
    script = (
        "import django, time; django.setup()\n"
        "from core.models import Organizacao\n"
        "from core.eventos.emissao import registrar_eventos\n"
        f"org = Organizacao.objects.get(pk={org.pk})\n"
        "registrar_eventos(org, [('teste', {'n': n}) for n in range(20)])\n"
        "time.sleep(60)\n"
    )
    ambiente = {**os.environ, "DATABASE_URL": url_do_banco_de_teste(), "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
                "WEBHOOK_ENTREGA_IMEDIATA": "true", "WEBHOOK_SHUTDOWN_SECONDS": "0.5"}  # fmt: skip
    processo = subprocess.Popen([sys.executable, "-c", script], cwd=RAIZ, env=ambiente)

    # when: SIGTERM arrives while requests are in flight
    try:
        assert receptor.chegou.wait(30)
        processo.terminate()
        assert processo.wait(30) == 128 + 15
    finally:
        processo.kill()

    # then: what was sent is recorded, nothing else is claimed, and the receiver got nothing twice
    linhas = logs(org)
    assert {log.evento_id for log in linhas if log.status == Status.SUCESSO} == set(receptor.ids)
    assert {(log.status, log.lease_expira_em) for log in linhas if log.status != Status.SUCESSO} == {(Status.PENDENTE, None)}
    assert Counter(receptor.ids).most_common(1)[0][1] == 1


# --- A bounded pool ---------------------------------------------------------------------------------


def rajada(org, quantos: int) -> list[int]:
    """`quantos` commits, one event each, as fast as a busy API takes them; the most pool threads seen."""
    vistas = [threads_imediatas()]
    for n in range(quantos):
        disparar_webhook("teste", {"n": n}, org)  # its own transaction: delivered after this commit
        vistas.append(threads_imediatas())
    return vistas


def test_many_commits_share_a_few_threads(org, receptor, settings):
    # given
    settings.WEBHOOK_IMMEDIATE_THREADS = 3
    receptor.demora = 0.1
    criar_webhook(org, receptor.url)

    # when: 30 commits in a row
    vistas = rajada(org, 30)
    assert esperar(lambda: all(log.status == Status.SUCESSO for log in logs(org)), prazo=30)
    vistas.append(threads_imediatas())

    # then: never more than the pool's threads, and every event delivered once
    assert max(vistas) == 3
    assert len(receptor.ids) == len(set(receptor.ids)) == 30


def test_a_burst_never_overflows_the_http_connection_pool(org, receptor, caplog):
    # given: the default pool (4 threads) and a receiver slow enough that all of them send at once
    receptor.demora = 0.05
    criar_webhook(org, receptor.url)

    # when
    with caplog.at_level(logging.WARNING, logger="urllib3"):
        rajada(org, 40)
        assert esperar(lambda: all(log.status == Status.SUCESSO for log in logs(org)), prazo=30)

    # then: every connection went back to the pool; none was dropped as overflow
    assert len(set(receptor.ids)) == 40
    assert [r.getMessage() for r in caplog.records if "pool is full" in r.getMessage()] == []


def test_a_worker_with_many_threads_never_overflows_the_http_connection_pool(org, receptor, settings, caplog):
    # given
    settings.WEBHOOK_ENTREGA_IMEDIATA = False
    receptor.demora = 0.02
    criar_webhook(org, receptor.url)
    registrar_eventos(org, [("teste", {"n": n}) for n in range(200)])

    # when
    with caplog.at_level(logging.WARNING, logger="urllib3"):
        call_command("webhook_worker", "--threads", "8", "--lote", "5")

    # then
    assert len(set(receptor.ids)) == 200
    assert [r.getMessage() for r in caplog.records if "pool is full" in r.getMessage()] == []


def test_a_full_queue_leaves_the_rows_to_the_worker_without_waiting(org, receptor, settings, monkeypatch):
    # given: one thread, room for one task in the queue, a slow receiver, and a spy on each hand-over
    settings.WEBHOOK_IMMEDIATE_THREADS = 1
    monkeypatch.setattr(imediata, "TAREFAS_POR_THREAD", 1)
    receptor.demora = 2  # far above what two commits take on a loaded CI machine
    criar_webhook(org, receptor.url)
    aceitas, entregar_agora = [], entrega.iniciar_entrega_em_segundo_plano
    monkeypatch.setattr(entrega, "iniciar_entrega_em_segundo_plano", lambda ids: aceitas.append(entregar_agora(ids)))
    disparar_webhook("teste", {"n": 0}, org)
    assert receptor.chegou.wait(10)  # the thread is busy with it

    # when: two more commits
    inicio = time.monotonic()
    for n in (1, 2):
        disparar_webhook("teste", {"n": n}, org)
    duracao = time.monotonic() - inicio

    # then: the queue took the first and refused the second, at once; nothing was lost
    assert aceitas == [True, True, False]
    assert duracao < 1  # waiting for the busy thread would take the receiver's 2 s
    encerrar_entrega_imediata(prazo=10)
    assert sorted(receptor.ids) == sorted(log.evento_id for log in logs(org) if log.status == Status.SUCESSO)
    pendentes = [log for log in logs(org) if log.status != Status.SUCESSO]
    assert [(log.status, log.lease_expira_em, log.evento.payload["dados"]) for log in pendentes] == [
        (Status.PENDENTE, None, {"n": 2})
    ]


def test_a_gunicorn_worker_that_exits_delivers_what_its_requests_queued(org, receptor):
    # given: the deploy's gunicorn configuration, and deliveries in flight in this process
    configuracao = runpy.run_path(str(RAIZ / "deploy" / "gunicorn.conf.py"))
    configuracao["post_worker_init"](None)
    receptor.demora = 0.1
    criar_webhook(org, receptor.url)
    rajada(org, 12)

    # when: gunicorn calls its worker_exit hook (a worker recycled after max_requests, or stopped)
    configuracao["worker_exit"](None, None)

    # then: every delivery was made and recorded before the worker went away; no pool thread is left
    assert [(log.status, log.lease_expira_em) for log in logs(org)] == [(Status.SUCESSO, None)] * 12
    assert sorted(receptor.ids) == sorted(log.evento_id for log in logs(org))
    assert threads_imediatas() == 0
    # and the connection pool had room for the request threads as well as the delivery threads
    assert rede.conexoes_por_receptor() >= rede.CONEXOES_AVULSAS + configuracao["threads"] + imediata.THREADS_PADRAO
