"""The rate limit holds across processes: three real servers admit exactly the limit, in every shape.

Each server is `manage.py runserver --noreload` in its own process. With the default cache (local
memory, one per process) they count in the database they share: the test database on PostgreSQL, a
SQLite file otherwise (a child process cannot see the in-memory SQLite test database). With Redis
(CACHE_URL, PostgreSQL only; .ci/run runs it) they count in Redis.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection

from core.limite.contadores import JANELA_SEGUNDOS, chave_do_contador
from core.models import APIRequestLog
from core.organizacoes import criar_organizacao
from tests.webhooks.receptor import esperar, porta_livre

from .conftest import URL

RAIZ = Path(__file__).resolve().parents[2]
LIMITE = 100
REQUISICOES = 150
SERVIDORES = 3


def exigir_redis_e_postgres():
    if "redis" not in settings.CACHES[settings.RATE_LIMIT_CACHE]["BACKEND"].lower():
        pytest.skip("precisa de Redis (CACHE_URL=redis://...): vários processos só dividem a contagem num cache "
                    "compartilhado (roda no .ci/run)")  # fmt: skip
    if connection.vendor != "postgresql":
        pytest.skip("precisa de PostgreSQL: os servidores rodam em outros processos, que não enxergam o banco "
                    "SQLite em memória dos testes (roda no .ci/run)")  # fmt: skip


def url_do_banco_de_teste() -> str:
    dados = connection.settings_dict
    usuario = quote(dados["USER"] or "", safe="")
    senha = f":{quote(dados['PASSWORD'], safe='')}" if dados["PASSWORD"] else ""
    return f"postgres://{usuario}{senha}@{dados['HOST'] or '127.0.0.1'}:{dados['PORT'] or 5432}/{dados['NAME']}"


class Servidor:
    """`manage.py runserver` in its own process, on the test database and the tests' Redis unless told."""

    def __init__(self, pasta: Path, nome: str, banco: str | None = None, cache: str | None = None):
        self.porta = porta_livre()
        self.saida_path = pasta / f"{nome}.log"
        ambiente = {
            **os.environ,
            "DATABASE_URL": banco or url_do_banco_de_teste(),
            "CACHE_URL": cache or os.environ["CACHE_URL"],
            "DEBUG": "false",
            "RATE_LIMIT_PER_MINUTE": str(LIMITE),
            # the log rows stay in each server's buffer until it exits: this also shows the exit flush
            "APIREQUESTLOG_LOTE": "100000",
            "APIREQUESTLOG_INTERVALO_SEGUNDOS": "600",
        }
        with open(self.saida_path, "wb") as saida:
            self.processo = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.porta}"],
                cwd=RAIZ, env=ambiente, stdout=saida, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def no_ar(self) -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{self.porta}/admin/login/", timeout=1).close()
        except OSError:
            return False
        return True

    def get(self, caminho: str, token: str) -> tuple[int, str]:
        pedido = urllib.request.Request(f"http://127.0.0.1:{self.porta}{caminho}",
                                        headers={"Authorization": f"Token {token}"})  # fmt: skip
        try:
            with urllib.request.urlopen(pedido, timeout=30) as resposta:
                return resposta.status, resposta.headers["X-RateLimit-Reset"]
        except urllib.error.HTTPError as erro:
            return erro.code, erro.headers["X-RateLimit-Reset"]

    def parar(self) -> int:
        """Ctrl-C, as an operator would: the server exits normally and writes its buffered log rows."""
        if self.processo.poll() is None:
            self.processo.send_signal(signal.SIGINT)
        try:
            return self.processo.wait(15)
        except subprocess.TimeoutExpired:
            self.processo.kill()
            return self.processo.wait()

    @property
    def saida(self) -> str:
        return self.saida_path.read_text(errors="replace")


def esperar_folga_na_janela(segundos: float = 20) -> None:
    """Start well inside a minute, so the burst is counted in one window."""
    restante = JANELA_SEGUNDOS - time.time() % JANELA_SEGUNDOS
    if restante < segundos:
        time.sleep(restante + 0.2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_three_server_processes_on_one_redis_admit_exactly_the_limit(nova_org, tmp_path):
    exigir_redis_e_postgres()
    servidores = []
    try:
        # given: three servers, up
        servidores = [Servidor(tmp_path, f"servidor-{n}") for n in range(SERVIDORES)]
        for servidor in servidores:
            assert esperar(servidor.no_ar, prazo=30), servidor.saida
        # a counter left by an earlier run with the same user id in this minute would skew the count
        fim = (int(time.time() // JANELA_SEGUNDOS) + 1) * JANELA_SEGUNDOS
        caches[settings.RATE_LIMIT_CACHE].delete_many(
            [chave_do_contador(f"u:{nova_org.usuario.pk}", f) for f in (fim, fim + JANELA_SEGUNDOS)]
        )
        esperar_folga_na_janela()

        # when: 150 requests with one token, spread over the three servers, 15 at a time
        with ThreadPoolExecutor(max_workers=15) as executor:
            respostas = list(executor.map(
                lambda n: (n % SERVIDORES, *servidores[n % SERVIDORES].get(URL, nova_org.token)), range(REQUISICOES)
            ))  # fmt: skip
    finally:
        codigos = [servidor.parar() for servidor in servidores]

    # then: all in one window, and exactly the limit admitted in all
    assert len({reset for _, _, reset in respostas}) == 1, respostas
    assert Counter(estado for _, estado, _ in respostas) == {200: LIMITE, 429: REQUISICOES - LIMITE}
    admitidos_por_servidor = Counter(servidor for servidor, estado, _ in respostas if estado == 200)
    assert len(admitidos_por_servidor) > 1  # the servers shared one count; they did not each admit 100
    # and every request was logged once, by the process that served it, when it exited
    assert codigos == [0] * SERVIDORES, [s.saida for s in servidores]
    assert Counter(APIRequestLog.objects.values_list("status", flat=True)) == {200: LIMITE, 429: REQUISICOES - LIMITE}
    assert set(APIRequestLog.objects.values_list("usuario_id", "organizacao_id")) == {
        (nova_org.usuario.pk, nova_org.organizacao.pk)
    }


CACHE_DE_CADA_PROCESSO = "locmemcache://fiscal"  # the default of CACHE_URL


def banco_com_token(pasta: Path) -> tuple[str, str]:
    """A database the servers share and a token in it: the test database on PostgreSQL, else a SQLite file."""
    if connection.vendor == "postgresql":
        return url_do_banco_de_teste(), criar_organizacao(nome="Comercial Alfa Ltda", email="dona@alfa.com.br").token
    banco = f"sqlite:///{pasta / 'db.sqlite3'}"
    ambiente = {**os.environ, "DATABASE_URL": banco, "CACHE_URL": CACHE_DE_CADA_PROCESSO}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=RAIZ, env=ambiente, check=True, capture_output=True)
    criar = "from core.organizacoes import criar_organizacao as c; print(c(nome='Alfa', email='dona@alfa.com.br').token)"
    saida = subprocess.run([*manage, "shell", "-c", criar], cwd=RAIZ, env=ambiente, check=True, capture_output=True)
    return banco, saida.stdout.decode().split()[-1]


@pytest.mark.django_db(transaction=True)
def test_three_server_processes_with_the_default_cache_admit_exactly_the_limit(tmp_path):
    # given: three servers, each with its own local-memory cache, on one database
    banco, token = banco_com_token(tmp_path)
    servidores = []
    try:
        servidores = [Servidor(tmp_path, f"servidor-{n}", banco, CACHE_DE_CADA_PROCESSO) for n in range(SERVIDORES)]
        for servidor in servidores:
            assert esperar(servidor.no_ar, prazo=30), servidor.saida
        esperar_folga_na_janela()

        # when: 150 requests with one token, spread over the three servers, 15 at a time
        with ThreadPoolExecutor(max_workers=15) as executor:
            respostas = list(executor.map(
                lambda n: (n % SERVIDORES, *servidores[n % SERVIDORES].get(URL, token)), range(REQUISICOES)
            ))  # fmt: skip
    finally:
        for servidor in servidores:
            servidor.parar()

    # then: one window, exactly the limit admitted in all (not the limit per process), by several servers
    assert len({reset for _, _, reset in respostas}) == 1, respostas
    assert Counter(estado for _, estado, _ in respostas) == {200: LIMITE, 429: REQUISICOES - LIMITE}
    assert len(Counter(servidor for servidor, estado, _ in respostas if estado == 200)) > 1
