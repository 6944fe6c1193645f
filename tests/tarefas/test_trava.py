"""The task lock: one holder at a time, across threads and processes; expired locks are taken over."""

import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from core.models import ExecucaoDeTarefa, TravaDeTarefa
from core.tarefas import TAREFAS, executar_tarefa, trava

pytestmark = pytest.mark.django_db
MINUTO = timedelta(minutes=1)
RAIZ = Path(__file__).resolve().parents[2]


def precisa_de_postgresql(motivo: str):
    if connection.vendor != "postgresql":
        pytest.skip(f"precisa de PostgreSQL: {motivo} (roda no .ci/run)")


def test_the_first_runner_gets_the_lock_and_the_second_learns_who_holds_it():
    agora = timezone.now()

    assert trava.adquirir("limpeza_logs", dono="a:1", duracao=MINUTO, agora=agora) is None
    ocupada = trava.adquirir("limpeza_logs", dono="b:2", duracao=MINUTO)

    assert (ocupada.dono, ocupada.desde, ocupada.expira_em) == ("a:1", agora, agora + MINUTO)
    assert ocupada.mensagem().startswith("tarefa limpeza_logs já está em execução (desde ")
    assert ocupada.mensagem().endswith(", por a:1)")


def test_locks_of_different_tasks_are_independent():
    assert trava.adquirir("limpeza_logs", dono="a:1", duracao=MINUTO) is None
    assert trava.adquirir("enviar_relatorios", dono="b:2", duracao=MINUTO) is None


def test_only_the_holder_releases_the_lock():
    trava.adquirir("limpeza_logs", dono="a:1", duracao=MINUTO)

    assert trava.liberar("limpeza_logs", dono="b:2") is False
    assert TravaDeTarefa.objects.filter(nome="limpeza_logs").exists()
    assert trava.liberar("limpeza_logs", dono="a:1") is True
    assert trava.adquirir("limpeza_logs", dono="b:2", duracao=MINUTO) is None


def test_an_expired_lock_is_taken_over_once():
    agora = timezone.now()
    trava.adquirir("limpeza_logs", dono="morto:1", duracao=MINUTO, agora=agora - 2 * MINUTO)

    assert trava.adquirir("limpeza_logs", dono="b:2", duracao=MINUTO, agora=agora) is None
    assert trava.adquirir("limpeza_logs", dono="c:3", duracao=MINUTO, agora=agora).dono == "b:2"
    # The crashed holder, coming back, cannot release the lock it lost.
    assert trava.liberar("limpeza_logs", dono="morto:1") is False


def test_owners_are_unique_even_within_one_process():
    assert trava.novo_dono() != trava.novo_dono()
    assert trava.novo_dono().split(":")[1] == str(os.getpid())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_one_works_and_the_other_is_skipped(monkeypatch):
    precisa_de_postgresql("duas threads escrevendo ao mesmo tempo (o SQLite em memória dos testes trava a tabela)")
    chamadas, largada = [], threading.Barrier(4)

    def lenta(*, simular, escrever):
        chamadas.append(1)
        time.sleep(0.5)
        return "feito"

    monkeypatch.setitem(TAREFAS, "limpeza_logs", replace(TAREFAS["limpeza_logs"], executar=lenta))
    resultados = []

    def rodar():
        try:
            largada.wait()
            resultados.append(executar_tarefa("limpeza_logs").resultado)
        finally:
            connection.close()

    threads = [threading.Thread(target=rodar) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(chamadas) == 1
    assert sorted(resultados) == ["pulada", "pulada", "pulada", "sucesso"]
    assert ExecucaoDeTarefa.objects.filter(resultado="pulada").count() == 3
    assert not TravaDeTarefa.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_another_process_sees_the_lock_and_exits_with_0():
    precisa_de_postgresql("o outro processo precisa enxergar o banco dos testes")
    agora = timezone.now()
    TravaDeTarefa.objects.create(nome="limpeza_logs", dono="worker-2:99", adquirida_em=agora, expira_em=agora + MINUTO)
    dados = connection.settings_dict
    url = f"postgres://{dados['USER']}:{dados['PASSWORD'] or ''}@{dados['HOST'] or '127.0.0.1'}:{dados['PORT'] or 5432}/{dados['NAME']}"

    processo = subprocess.run(
        [sys.executable, "manage.py", "run_scheduled_tasks", "--task=limpeza_logs"],
        cwd=RAIZ, env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert processo.returncode == 0, processo.stderr
    assert "tarefa limpeza_logs já está em execução" in processo.stdout and "por worker-2:99)" in processo.stdout
    assert ExecucaoDeTarefa.objects.get().resultado == "pulada"
