"""Operating the API (issue 6), from one run: the middlewares' cost, and the log cleanup.

    .venv/bin/python bench/middleware.py [--requisicoes 15000] [--bloco 100] [--secao middleware]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fiscal CACHE_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/middleware.py

Every section runs on a throw-away database (a SQLite file by default, or a test database on
DATABASE_URL), created once for the run.

1. middleware: throughput of a trivial authenticated endpoint (GET /api/integracoes/eventos/, token
   auth) through Django's whole request stack, with settings.MIDDLEWARE as shipped and with it minus
   APIRequestLoggingMiddleware and RateLimitMiddleware. Requests go through Django's test client, in
   this process: no sockets, so network time does not dilute the middlewares' share. The rate limit
   counts every request in the configured cache (local memory, or Redis with CACHE_URL) with a limit
   too high to be reached; the log rows are written in batches of APIREQUESTLOG_LOTE between blocks,
   their time charged in full to the stack with the middlewares, and counted at the end. Short blocks
   alternate between the two stacks, so load from other processes falls on both alike. Target: with /
   without >= 0.85.
2. limpeza_logs: `--linhas` (1,000,000) APIRequestLog rows past the retention, plus 10% recent ones,
   deleted by the limpeza_logs task (batches of FISCAL_LIMPEZA_LOTE rows, then VACUUM/ANALYZE), then
   inserted again and deleted by one raw DELETE. Prints both times, the number of transactions, the
   longest one, and the worst wait of a writer inserting log rows meanwhile.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(RAIZ))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fiscal_app.settings_de_teste")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from bench.comum import banco_descartavel  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import override_settings  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from core.limite.contadores import cliente_redis  # noqa: E402
from core.models import APIRequestLog  # noqa: E402
from core.organizacoes import criar_organizacao  # noqa: E402
from core.registro_requisicoes import registro  # noqa: E402

META_RAZAO = 0.85
URL = "/api/integracoes/eventos/"
NOSSOS = {"core.middleware.APIRequestLoggingMiddleware", "core.middleware.RateLimitMiddleware"}


# --- 1. middleware ----------------------------------------------------------------------------------


def cliente(token: str, middleware: list[str]) -> APIClient:
    """A test client whose handler is built (on its first request) with exactly this middleware list."""
    novo = APIClient()
    novo.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    with override_settings(MIDDLEWARE=middleware):
        for _ in range(200):  # warm-up: handler, URL resolver, querysets, the token cache
            resposta = novo.get(URL)
    assert resposta.status_code == 200, (resposta.status_code, resposta.content[:300])
    return novo


def bloco(cliente_: APIClient, requisicoes: int) -> float:
    """Seconds taken by `requisicoes` sequential requests."""
    inicio = time.perf_counter()
    for _ in range(requisicoes):
        cliente_.get(URL)
    return time.perf_counter() - inicio


def gravar_lote_pendente(minimo: int) -> float:
    """Seconds spent writing the waiting log rows, if at least `minimo` are waiting."""
    if registro.pendentes() < minimo:
        return 0.0
    inicio = time.perf_counter()
    registro.descarregar()
    return time.perf_counter() - inicio


def ida_e_volta_ao_redis() -> str:
    """The median Redis round trip (a PING), the floor of what a shared counter costs per request."""
    redis = cliente_redis(caches[settings.RATE_LIMIT_CACHE])
    if redis is None:
        return ""
    tempos = []
    for _ in range(500):
        inicio = time.perf_counter()
        redis.ping()
        tempos.append(time.perf_counter() - inicio)
    return f" (uma ida e volta ao Redis: {statistics.median(tempos) * 1000:.3f} ms)"


def secao_middleware(opcoes) -> bool:
    lote = settings.APIREQUESTLOG_LOTE
    print(f"\n== 1. middleware: GET {URL} (token), {opcoes.requisicoes} requisições de cada lado, "
          f"em blocos alternados de {opcoes.bloco}")  # fmt: skip
    print(f"banco: {connection.vendor}; cache: {settings.CACHES[settings.RATE_LIMIT_CACHE]['BACKEND'].split('.')[-1]}; "
          f"log em lotes de {lote}")
    assert NOSSOS <= set(settings.MIDDLEWARE), "os dois middlewares não estão em settings.MIDDLEWARE"
    settings.RATE_LIMIT_PER_MINUTE = 10**9  # counted, never reached
    token = criar_organizacao(nome="Bench middleware", email="bench@middleware.local").token
    com = cliente(token, list(settings.MIDDLEWARE))
    sem = cliente(token, [m for m in settings.MIDDLEWARE if m not in NOSSOS])
    registro.parar()
    APIRequestLog.objects.all().delete()  # count only the measured requests' rows

    # Short alternating blocks: load from other processes on the machine (it lasts seconds) falls on
    # both stacks alike. The log rows are written here, between blocks, in batches of the production
    # size, and that time is charged to "com" in full (in production a background thread writes them,
    # partly overlapping the requests' own waits): a conservative figure.
    settings.APIREQUESTLOG_LOTE, settings.APIREQUESTLOG_INTERVALO_SEGUNDOS = 10**9, 10**6
    tempo = {"sem": 0.0, "com": 0.0, "gravacao": 0.0}
    for _ in range(opcoes.requisicoes // opcoes.bloco):
        tempo["sem"] += bloco(sem, opcoes.bloco)
        tempo["com"] += bloco(com, opcoes.bloco)
        tempo["gravacao"] += gravar_lote_pendente(lote)
    tempo["gravacao"] += gravar_lote_pendente(1)
    registro.parar()
    settings.APIREQUESTLOG_LOTE = lote

    total = opcoes.requisicoes // opcoes.bloco * opcoes.bloco
    sem_ms, com_ms = tempo["sem"] * 1000 / total, (tempo["com"] + tempo["gravacao"]) * 1000 / total
    razao = sem_ms / com_ms
    print(f"sem os dois middlewares: {1000 / sem_ms:6.0f} req/s ({sem_ms:.3f} ms/req)")
    print(f"com os dois middlewares: {1000 / com_ms:6.0f} req/s ({com_ms:.3f} ms/req, dos quais "
          f"{tempo['gravacao'] * 1000 / total:.3f} gravando o log)")  # fmt: skip
    print(f"custo por requisição: {com_ms - sem_ms:+.3f} ms{ida_e_volta_ao_redis()}")
    linhas = APIRequestLog.objects.count()
    print(f"linhas de APIRequestLog gravadas: {linhas} de {total}")
    ok = razao >= META_RAZAO and linhas == total
    print(f"razão com/sem: {razao:.3f}  (meta >= {META_RAZAO}) {'PASS' if ok else 'BELOW TARGET'}")
    return ok


# --- 2. limpeza_logs ------------------------------------------------------------------------------
# 1,000,000 API log rows older than the retention (plus 10% recent ones that must stay) are deleted by
# the limpeza_logs task (batches of FISCAL_LIMPEZA_LOTE rows, one transaction each, then VACUUM on
# SQLite / ANALYZE on PostgreSQL); then the same rows are inserted again and deleted by one raw
# `DELETE ... WHERE criado_em < corte`. While each runs, a writer thread inserts one API log row every
# few milliseconds and records its slowest insert: what a long delete does to the requests logging
# meanwhile. Figures: total time, number of transactions, the longest one, the writer's worst wait.

DIAS_DE_RETENCAO = 30


class Escritor:
    """A thread inserting one APIRequestLog row after another (its own connection); remembers the slowest."""

    def __init__(self):
        import threading

        self.parar, self.maior_s, self.linhas, self.erros = threading.Event(), 0.0, 0, 0
        self.thread = threading.Thread(target=self._laco, name="bench-escritor", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *erro):
        self.parar.set()
        self.thread.join()

    def _laco(self) -> None:
        from django.db import connections
        from django.utils import timezone

        try:
            while not self.parar.is_set():
                inicio = time.perf_counter()
                try:
                    APIRequestLog.objects.create(metodo="GET", caminho="/api/nfe/", status=200, duracao_ms=3,
                                                 criado_em=timezone.now())  # fmt: skip
                    self.linhas += 1
                except Exception:  # SQLite: "database is locked" once the busy timeout (20 s) runs out
                    self.erros += 1
                self.maior_s = max(self.maior_s, time.perf_counter() - inicio)
                time.sleep(0.005)
        finally:
            connections.close_all()  # this thread's connection


def inserir_velhas(quantas: int, recentes: int) -> None:
    """`quantas` rows spread over the 60 days before the cut, then `recentes` inside the retention, in time order."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    agora = timezone.now()
    corte = agora - timedelta(days=DIAS_DE_RETENCAO)
    passo_velho, passo_novo = timedelta(days=60) / quantas, timedelta(days=DIAS_DE_RETENCAO - 1) / max(recentes, 1)
    datas = [corte - timedelta(days=60) + passo_velho * n for n in range(quantas)]
    datas += [corte + timedelta(days=1) + passo_novo * n for n in range(recentes)]
    colunas = ("metodo", "caminho", "status", "duracao_ms", "ip", "user_agent", "criado_em")
    tabela = APIRequestLog._meta.db_table
    inicio = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {tabela} ({', '.join(colunas)}) FROM STDIN") as copia:
                for n, quando in enumerate(datas):
                    copia.write_row(("GET", f"/api/nfe/{n % 97}/", 200, n % 250, "203.0.113.7", "bench/1.0", quando))
        else:
            sql = f"INSERT INTO {tabela} ({', '.join(colunas)}) VALUES (?, ?, ?, ?, ?, ?, ?)"  # noqa: S608 (model's own names)
            data = connection.ops.adapt_datetimefield_value  # as the ORM stores it (UTC text)
            cursor.cursor.executemany(sql, (("GET", f"/api/nfe/{n % 97}/", 200, n % 250, "203.0.113.7", "bench/1.0",
                                              data(quando)) for n, quando in enumerate(datas)))  # fmt: skip
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {tabela}")
    print(f"inseridas {quantas:,} linhas velhas + {recentes:,} recentes em {time.perf_counter() - inicio:.1f} s")


def secao_limpeza_logs(opcoes) -> bool:
    from datetime import timedelta

    from django.utils import timezone

    from core.tarefas.limpeza import limpar_logs

    velhas, recentes = opcoes.linhas, opcoes.linhas // 10
    settings.FISCAL_RETENCAO_REQUISICOES_DIAS = DIAS_DE_RETENCAO
    print(f"\n== 2. limpeza_logs: {velhas:,} linhas velhas de APIRequestLog (+ {recentes:,} recentes que ficam)")
    print(f"banco: {connection.vendor}; lote: {settings.FISCAL_LIMPEZA_LOTE:,} linhas por transação")
    APIRequestLog.objects.all().delete()

    inserir_velhas(velhas, recentes)
    with Escritor() as escritor:
        inicio = time.perf_counter()
        limpeza = limpar_logs()
        tarefa_s = time.perf_counter() - inicio
    apagadas_tarefa = limpeza.por_tabela["APIRequestLog"]
    sobraram_tarefa = APIRequestLog.objects.count() - escritor.linhas
    espera_tarefa = escritor.maior_s
    APIRequestLog.objects.all().delete()

    inserir_velhas(velhas, recentes)
    corte = timezone.now() - timedelta(days=DIAS_DE_RETENCAO)
    with Escritor() as escritor, connection.cursor() as cursor:
        inicio = time.perf_counter()
        cursor.execute(f"DELETE FROM {APIRequestLog._meta.db_table} WHERE criado_em < %s",  # noqa: S608 (table name)
                       [connection.ops.adapt_datetimefield_value(corte)])
        apagadas_cru = cursor.rowcount
        cru_s = time.perf_counter() - inicio
    espera_cru, erros_cru = escritor.maior_s, escritor.erros

    apagar_s = tarefa_s - _segundos_do(limpeza.espaco)
    print(f"{'':34} {'tempo':>9} {'transações':>11} {'maior transação':>16} {'maior espera de um INSERT':>26}")
    print(f"{'limpeza_logs (só os DELETEs)':34} {apagar_s:8.1f}s {limpeza.lotes:>11,} "
          f"{limpeza.maior_transacao_s * 1000:14.0f}ms {espera_tarefa * 1000:24.0f}ms")  # fmt: skip
    print(f"{'limpeza_logs (com ' + limpeza.espaco.split(' ')[0] + ')':34} {tarefa_s:8.1f}s")
    print(f"{'DELETE cru, uma transação':34} {cru_s:8.1f}s {1:>11,} {cru_s * 1000:14.0f}ms {espera_cru * 1000:24.0f}ms")
    print(f"recuperação de espaço: {limpeza.espaco}")
    if erros_cru:
        print(f"durante o DELETE cru, {erros_cru} INSERT(s) do escritor falharam (database is locked)")
    ok = apagadas_tarefa == apagadas_cru == velhas and sobraram_tarefa == recentes
    print(f"apagadas: tarefa {apagadas_tarefa:,}, DELETE cru {apagadas_cru:,}; recentes intactas: "
          f"{sobraram_tarefa:,} de {recentes:,} {'OK' if ok else 'ERRADO'}")  # fmt: skip
    return ok


def _segundos_do(espaco: str) -> float:
    """The seconds in "VACUUM em 3.2 s" / "ANALYZE de 1 tabela(s) em 0.1 s"."""
    partes = espaco.split(" em ")
    return float(partes[-1].removesuffix(" s")) if len(partes) > 1 else 0.0


SECOES = {"middleware": secao_middleware, "limpeza_logs": secao_limpeza_logs}


def main() -> None:
    argumentos = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    argumentos.add_argument("--secao", choices=list(SECOES), action="append",
                            help="só esta seção (repetível); padrão: todas")  # fmt: skip
    argumentos.add_argument("--requisicoes", type=int, default=15_000, help="de cada lado (middleware)")
    argumentos.add_argument("--bloco", type=int, default=100, help="requisições por bloco alternado (middleware)")
    argumentos.add_argument("--linhas", type=int, default=1_000_000, help="linhas velhas de APIRequestLog (limpeza_logs)")
    opcoes = argumentos.parse_args()

    with banco_descartavel("bench_middleware"):
        resultados = {nome: SECOES[nome](opcoes) for nome in opcoes.secao or SECOES}
    print("\n" + "  ".join(f"{nome}: {'PASS' if ok else 'BELOW TARGET'}" for nome, ok in resultados.items()))


if __name__ == "__main__":
    main()
