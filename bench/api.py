"""API latency at 1,000 documents and at a large size (100,000 by default, 1,000,000 in minutes), from one run.

    .venv/bin/python bench/api.py [--grande 1000000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fiscal .venv/bin/python bench/api.py [--grande 1000000]

Fills a throw-away test database with generated NF-e/CT-e rows (bench/enchimento.py: COPY on PostgreSQL,
executemany on SQLite; no XML signing, the rows are what the queries touch), grows a copy of it to the large
size, and measures the median latency of each endpoint through Django's full request stack on both, its
requests alternating between the two databases so the machine's load weighs on both sizes alike. It prints
the ratio against the goal (<= 1.5 on PostgreSQL, <= 2 on SQLite), the worst ratio last. For the aggregate
endpoints it also times the very SQL they ran, executed raw, so ORM/DRF overhead shows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(RAIZ))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fiscal_app.settings_de_teste")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from bench.comum import banco_descartavel, copia_do_banco, usando  # noqa: E402
from bench.enchimento import Gerador, preparar_sqlite_para_encher, relogio  # noqa: E402
from django.conf import settings  # noqa: E402

from django.db import DEFAULT_DB_ALIAS, connection, connections  # noqa: E402
from django.db.backends.base.base import BaseDatabaseWrapper  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from core.models import CTe, NFe  # noqa: E402
from core.organizacoes import criar_organizacao  # noqa: E402
from core.tenancy import escopo  # noqa: E402

REPETICOES = 25


def consultas_do_endpoint(cliente: APIClient, url: str) -> list[tuple]:
    """Warm the endpoint up, then record the SQL one request runs (the token and membership lookups, the
    same for every endpoint, left out)."""
    resposta = cliente.get(url)
    assert resposta.status_code == 200, (url, resposta.status_code, resposta.content[:300])
    consultas = []

    def registrar(executar, sql, parametros, varias, contexto):
        consultas.append((sql, parametros))
        return executar(sql, parametros, varias, contexto)

    with connection.execute_wrapper(registrar):
        cliente.get(url)
    return [c for c in consultas if "core_tokendeapi" not in c[0] and "core_membro" not in c[0]]


def medianas_intercaladas(cliente: APIClient, url: str, bancos: dict[str, BaseDatabaseWrapper]) -> dict[str, float]:
    """The median latency of `url` on each database, its requests alternated between them (the order flipped
    every round), so load that comes and goes on the machine lands on every size alike."""
    tempos = {tamanho: [] for tamanho in bancos}
    for rodada in range(REPETICOES):
        for tamanho in list(bancos)[:: 1 if rodada % 2 == 0 else -1]:
            with usando(bancos[tamanho]):
                inicio = time.perf_counter()
                cliente.get(url)
                tempos[tamanho].append((time.perf_counter() - inicio) * 1000)
    return {tamanho: statistics.median(lista) for tamanho, lista in tempos.items()}


def mediana_sql_ms(consultas: list[tuple]) -> float:
    """The same statements the endpoint ran, straight on the cursor (no ORM, no serializers)."""
    assert consultas, "nenhuma consulta registrada"
    tempos = []
    with connection.cursor() as cursor:
        for _ in range(REPETICOES):
            inicio = time.perf_counter()
            for sql, parametros in consultas:
                cursor.execute(sql, parametros)
                cursor.fetchall()
            tempos.append((time.perf_counter() - inicio) * 1000)
    return statistics.median(tempos)


def urls(organizacao) -> dict[str, str]:
    nfe = escopo(NFe, organizacao).order_by("id").first()
    hoje = timezone.localdate()
    return {
        "lista (50)": "/api/nfes/?limit=50",
        "detalhe": f"/api/nfes/{nfe.chave}/",
        "totais (30 dias)": f"/api/nfes/totais/?data_inicio={hoje - timedelta(days=30)}&data_fim={hoje}",
        "dashboard": "/api/dashboard/",
        "estatisticas (mês)": f"/api/estatisticas/?inicio={hoje - timedelta(days=364)}&fim={hoje}&agrupar=mes",
        "buscar CNPJ": f"/api/buscar/?q={nfe.emitente_documento}",
        "buscar chave": f"/api/buscar/?q={nfe.chave}",
    }


AGREGADOS = {"totais (30 dias)", "dashboard", "estatisticas (mês)"}
# Issue #16: from 1k to the large size every endpoint, aggregates included, grows at most this much.
META = {"postgresql": 1.5, "sqlite": 2.0}


def medir(cliente, organizacao, bancos: dict[str, BaseDatabaseWrapper]) -> dict[str, dict[str, tuple]]:
    """Per endpoint and database: the median latency and, for the aggregates, the median of their raw SQL."""
    for tamanho, banco in bancos.items():
        with usando(banco):
            print(f"  {tamanho}: {escopo(NFe, organizacao).count() + escopo(CTe, organizacao).count()} documentos")
    medidas = {}
    for nome, url in urls(organizacao).items():
        sql = {}
        for tamanho, banco in bancos.items():
            with usando(banco):
                consultas = consultas_do_endpoint(cliente, url)
                sql[tamanho] = mediana_sql_ms(consultas) if nome in AGREGADOS else None
        ms = medianas_intercaladas(cliente, url, bancos)
        medidas[nome] = {tamanho: (ms[tamanho], sql[tamanho]) for tamanho in bancos}
        print(f"  {nome}: " + ", ".join(f"{t} {ms[t]:.1f} ms" for t in bancos), flush=True)
    # Other work on the machine moves every median (both sizes alike); the load says by how much.
    print(f"  carga média (1 min): {os.getloadavg()[0]:.1f} em {os.cpu_count()} CPUs", flush=True)
    return medidas


def encher(gerador: Gerador, quantidade: int, total: int) -> None:
    print(f"enchendo até {total} documentos...", flush=True)
    desfazer = preparar_sqlite_para_encher()
    try:
        gerador.encher(quantidade, relogio(quantidade))
    finally:
        desfazer()
    with connection.cursor() as cursor:
        # What autovacuum does after a bulk insert on PostgreSQL (autovacuum_vacuum_insert_threshold): fresh
        # planner statistics and a visibility map, so index-only scans stay index-only. SQLite: statistics.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def relatorio(medidas: dict, tamanhos: tuple[int, int]) -> list[str]:
    """The table, and last the worst ratio: `pior razão: <x> (<endpoint>)`."""
    meta = META.get(connection.vendor, 1.5)
    linhas = [f"banco: {connection.vendor}; mediana de {REPETICOES} requisições por tamanho, intercaladas, em ms",
              f"{'endpoint':22} {tamanhos[0]:>8} {tamanhos[1]:>8} {'razão':>7} {'SQL grande':>10}  razão <= {meta}"]  # fmt: skip
    razoes = {}
    for nome, por_tamanho in medidas.items():
        (ms_pequeno, _), (ms_grande, sql_grande) = por_tamanho["pequeno"], por_tamanho["grande"]
        razoes[nome] = ms_grande / ms_pequeno
        sql = f"{sql_grande:10.1f}" if sql_grande is not None else " " * 10
        ok = "ok" if razoes[nome] <= meta else "NÃO"
        linhas.append(f"{nome:22} {ms_pequeno:8.1f} {ms_grande:8.1f} {razoes[nome]:7.2f} {sql}  {ok}")
    pior = max(razoes, key=razoes.get)
    linhas.append(f"pior razão: {razoes[pior]:.2f} ({pior})")
    return linhas


def main() -> None:
    argumentos = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    argumentos.add_argument("--pequeno", type=int, default=1_000)
    argumentos.add_argument("--grande", type=int, default=100_000)
    opcoes = argumentos.parse_args()

    settings.RATE_LIMIT_PER_MINUTE = 10**9  # latency is measured here, not the limit (bench/middleware.py)
    with banco_descartavel("bench_api"):
        nova = criar_organizacao(nome="Bench API", email="bench@api.local")
        cliente = APIClient()
        cliente.credentials(HTTP_AUTHORIZATION=f"Token {nova.token}")
        gerador = Gerador(nova.organizacao)
        encher(gerador, opcoes.pequeno, opcoes.pequeno)
        # The large size grows in a copy, so both stay up and every request alternates between them.
        with copia_do_banco("grande") as grande:
            with usando(grande):
                encher(gerador, opcoes.grande - opcoes.pequeno, opcoes.grande)
            medidas = medir(cliente, nova.organizacao, {"pequeno": connections[DEFAULT_DB_ALIAS], "grande": grande})

    print("\n" + "\n".join(relatorio(medidas, (opcoes.pequeno, opcoes.grande))))


if __name__ == "__main__":
    main()
