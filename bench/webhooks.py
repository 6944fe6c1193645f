"""Webhook delivery: worker throughput beside a bare `requests.Session` loop, and commit-to-delivery latency.

    .venv/bin/python bench/webhooks.py [--eventos 10000] [--workers 2] [--threads 2] [--taxa 50 --segundos 5]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fiscal .venv/bin/python bench/webhooks.py

One run against a local receiver (a threaded HTTP/1.1 keep-alive server in this script, answering
200 "ok"), on a throw-away database (a SQLite file by default, or a test database on DATABASE_URL):

1. Throughput. `--eventos` deliveries are queued (to 1 webhook, then spread over 4 webhooks on 4
   ports) and emptied by `--workers` processes of `manage.py webhook_worker --threads N`. Then the
   same number of POSTs, with the same body and headers, from the same number of processes x threads,
   each thread with its own `requests.Session`. Both are timed at the receiver, first arrival to last,
   so process start-up counts on neither side. Target (issue 4): worker / bare >= 0.5.
2. Latency. Events are committed one by one at `--taxa` per second for `--segundos` while the worker
   loop runs and the after-commit delivery is on, as in production; latency is the receiver's arrival
   time minus the commit time (one clock: both happen in this process). Target: p99 < 1 s. Events that
   arrived more than once are counted too.
3. Imports with no worker (issue 14, point 2). `--importacoes` runs of `manage.py importar_xml` on
   `--arquivos` new NF-e each, the after-commit delivery on and no worker running; then a worker starts.
   Counted: events delivered exactly once by the time each command exited, events sent twice, rows left
   claimed (with a lease) or pending, and how long the worker took to deliver what was left. Target: every
   event exactly once, nothing left.
Every phase also counts urllib3's "Connection pool is full" warnings (this process and the workers).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

RAIZ = Path(__file__).resolve().parent.parent
META_RAZAO = 0.5
META_P99_MS = 1000
RESPOSTA = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


# --- The receiver -----------------------------------------------------------------------------------


class Receptor:
    """One HTTP/1.1 server per port, answering every POST with 200 "ok" on a kept-alive connection."""

    def __init__(self, portas: int):
        self.chegadas: list[tuple[float, bytes | None]] = []  # (monotonic time, webhook-id)
        receptor = self

        class Conexao(socketserver.StreamRequestHandler):
            disable_nagle_algorithm = True

            def handle(self):
                while self._uma_requisicao():
                    pass

            def _uma_requisicao(self) -> bool:
                if not self.rfile.readline(65537):
                    return False
                tamanho, evento, fechar = 0, None, False
                while (linha := self.rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
                    nome, _, valor = linha.partition(b":")
                    nome = nome.strip().lower()
                    if nome == b"content-length":
                        tamanho = int(valor)
                    elif nome == b"webhook-id":
                        evento = valor.strip()
                    elif nome == b"connection":
                        fechar = valor.strip().lower() == b"close"
                self.rfile.read(tamanho)
                receptor.chegadas.append((time.monotonic(), evento))  # list.append is atomic
                self.wfile.write(RESPOSTA)
                return not fechar

        class Servidor(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128

        self.servidores = [Servidor(("127.0.0.1", 0), Conexao) for _ in range(portas)]
        self.urls = [f"http://127.0.0.1:{s.server_address[1]}/hook" for s in self.servidores]
        for servidor in self.servidores:
            threading.Thread(target=servidor.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def zerar(self) -> None:
        self.chegadas = []

    def vazao(self) -> float:
        """Deliveries per second, first arrival to last."""
        tempos = [t for t, _ in self.chegadas]
        return (len(tempos) - 1) / (max(tempos) - min(tempos))

    def fechar(self) -> None:
        for servidor in self.servidores:
            servidor.shutdown()
            servidor.server_close()


# --- The bare client (a child process: `bench/webhooks.py --cliente ARQUIVO`) ------------------------


def cliente(arquivo: str) -> None:
    import requests

    pedido = json.loads(Path(arquivo).read_text())
    corpo = pedido["corpo"].encode()
    urls, n, threads = pedido["urls"], pedido["n"], pedido["threads"]

    def enviar(fatia: range) -> None:
        sessao = requests.Session()
        for i in fatia:
            resposta = sessao.post(urls[i % len(urls)], data=corpo, headers=pedido["cabecalhos"], timeout=10)
            assert resposta.status_code == 200

    time.sleep(max(0.0, pedido["inicio"] - time.time()))  # every client process starts together
    fatias = [range(inicio, n, threads) for inicio in range(threads)]
    trabalhos = [threading.Thread(target=enviar, args=(fatia,)) for fatia in fatias]
    for trabalho in trabalhos:
        trabalho.start()
    for trabalho in trabalhos:
        trabalho.join()


# --- The benchmark ----------------------------------------------------------------------------------


def preparar_django() -> None:
    sys.path.insert(0, str(RAIZ))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fiscal_app.settings_de_teste")
    os.environ["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "true"  # the receiver is on 127.0.0.1
    import django

    django.setup()
    # A log line per delivery made here (latency run) would bury the table; the workers keep theirs.
    logging.getLogger("core.webhooks").setLevel(logging.WARNING)
    logging.getLogger("urllib3").addHandler(contador_de_avisos)


def url_do_banco() -> str:
    from django.db import connection

    dados = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{dados['NAME']}"
    usuario = quote(dados["USER"] or "", safe="")
    senha = f":{quote(dados['PASSWORD'], safe='')}" if dados["PASSWORD"] else ""
    return f"postgres://{usuario}{senha}@{dados['HOST'] or '127.0.0.1'}:{dados['PORT'] or 5432}/{dados['NAME']}"


def iniciar_workers(opcoes, *argumentos: str) -> list[subprocess.Popen]:
    ambiente = {**os.environ, "DATABASE_URL": url_do_banco(), "WEBHOOK_ENTREGA_IMEDIATA": "false"}
    comando = [sys.executable, "manage.py", "webhook_worker", "--threads", str(opcoes.threads), *argumentos]
    processos = []
    for _ in range(opcoes.workers):
        # A file, not a pipe: a worker logs a line per delivery and must never block on a full pipe.
        saida = tempfile.TemporaryFile()
        processos.append(subprocess.Popen(comando, cwd=RAIZ, env=ambiente, stdout=saida, stderr=subprocess.STDOUT))
        processos[-1].saida = saida
    return processos


AVISO_POOL_CHEIO = "Connection pool is full"
avisos_de_pool = Counter()  # phase -> urllib3 "pool is full" warnings, here and in the workers


class ContadorDeAvisos(logging.Handler):
    fase = "?"

    def emit(self, registro: logging.LogRecord) -> None:
        if AVISO_POOL_CHEIO in registro.getMessage():
            avisos_de_pool[self.fase] += 1


contador_de_avisos = ContadorDeAvisos()


def esperar_workers(processos: list[subprocess.Popen]) -> None:
    for processo in processos:
        processo.wait(timeout=600)
        processo.saida.seek(0)
        saida = processo.saida.read().decode(errors="replace")
        processo.saida.close()
        avisos_de_pool[contador_de_avisos.fase] += saida.count(AVISO_POOL_CHEIO)
        if processo.returncode != 0:
            raise SystemExit(f"webhook_worker falhou ({processo.returncode}):\n{saida[-3000:]}")


def enfileirar(organizacao, quantidade: int) -> None:
    from django.db import transaction

    from core.eventos.catalogo import tipo_de_evento
    from core.eventos.emissao import registrar_eventos

    exemplo = tipo_de_evento("nfe_importada").exemplo
    for inicio in range(0, quantidade, 1000):
        with transaction.atomic():
            lote = [("nfe_importada", {**exemplo, "numero": n}) for n in range(inicio, min(quantidade, inicio + 1000))]
            registrar_eventos(organizacao, lote)


def sem_emails(organizacao, usuario) -> None:
    """The bench's member wants no e-mail: the worker also sends the e-mail queue, and 10,000 "NF-e
    importada" e-mails (events recorded outside an import, so one each) would be measured as webhooks."""
    from core.models import PreferenciaNotificacao
    from core.models.notificacoes import PADROES
    from core.tenancy import inserir

    nenhum = dict.fromkeys(PADROES, False)
    inserir(PreferenciaNotificacao, organizacao, [PreferenciaNotificacao(organizacao=organizacao, usuario=usuario, **nenhum)])


def criar_webhooks(organizacao, urls: list[str]) -> list:
    from core.models import Webhook
    from core.tenancy import escopo, inserir
    from core.webhooks.assinatura import gerar_segredo

    escopo(Webhook, organizacao).update(ativo=False)
    novos = [
        Webhook(organizacao=organizacao, nome=f"bench {n}", url=url, segredo=gerar_segredo())
        for n, url in enumerate(urls)
    ]
    return inserir(Webhook, organizacao, novos)


def vazao_do_worker(opcoes, receptor: Receptor, organizacao, webhooks: list) -> float:
    from django.db import connection

    from core.models import WebhookLog
    from core.tenancy import escopo

    enfileirar(organizacao, opcoes.eventos // len(webhooks))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum would
            cursor.execute("ANALYZE core_webhooklog")
    receptor.zerar()
    esperar_workers(iniciar_workers(opcoes))
    sucessos = escopo(WebhookLog, organizacao).filter(webhook__in=webhooks, status=WebhookLog.Status.SUCESSO).count()
    esperadas = opcoes.eventos // len(webhooks) * len(webhooks)
    if sucessos != esperadas or len(receptor.chegadas) != esperadas:
        recebidas = len(receptor.chegadas)
        raise SystemExit(f"entregas incompletas: {sucessos} no banco, {recebidas} recebidas de {esperadas}")
    return receptor.vazao()


def vazao_sem_banco(opcoes, receptor: Receptor, organizacao, webhooks: list, pasta: Path) -> float:
    """The same POSTs (body, signed headers, URLs, concurrency) straight from requests.Session loops."""
    from core.models import Evento
    from core.tenancy import escopo
    from core.webhooks.assinatura import cabecalhos_assinados
    from core.webhooks.entrega import _CABECALHOS_RESERVADOS, segredos_ativos
    from core.webhooks.rede import USER_AGENT

    evento = escopo(Evento, organizacao).order_by("-criado_em").first()
    corpo = json.dumps(evento.payload, separators=(",", ":"), ensure_ascii=False)
    cabecalhos = {k: v for k, v in (webhooks[0].headers or {}).items() if k.lower() not in _CABECALHOS_RESERVADOS}
    cabecalhos.update({"Content-Type": "application/json", "User-Agent": USER_AGENT})
    cabecalhos.update(cabecalhos_assinados(evento.id, corpo.encode(), segredos_ativos(webhooks[0])))
    urls = [webhook.url for webhook in webhooks]
    processos, inicio = [], time.time() + 1.0
    receptor.zerar()
    for indice in range(opcoes.workers):
        n = opcoes.eventos // opcoes.workers + (1 if indice < opcoes.eventos % opcoes.workers else 0)
        arquivo = pasta / f"cliente{indice}.json"
        pedido = {"urls": urls, "corpo": corpo, "cabecalhos": cabecalhos, "n": n, "threads": opcoes.threads,
                  "inicio": inicio}  # fmt: skip
        arquivo.write_text(json.dumps(pedido))
        processos.append(subprocess.Popen([sys.executable, __file__, "--cliente", str(arquivo)]))
    for processo in processos:
        if processo.wait(timeout=600) != 0:
            raise SystemExit("o cliente requests.Session falhou")
    if len(receptor.chegadas) != opcoes.eventos:
        raise SystemExit(f"o cliente entregou {len(receptor.chegadas)} de {opcoes.eventos}")
    return receptor.vazao()


def latencias_ms(opcoes, receptor: Receptor, organizacao) -> list[float]:
    """Commit events one by one at a steady rate, with the worker loop and the after-commit delivery on."""
    from django.conf import settings
    from django.db import transaction

    from core.eventos.catalogo import tipo_de_evento
    from core.eventos.emissao import disparar_webhook

    settings.WEBHOOK_ENTREGA_IMEDIATA = True
    exemplo = tipo_de_evento("nfe_importada").exemplo
    commits: dict[bytes, float] = {}
    receptor.zerar()
    workers = iniciar_workers(opcoes, "--loop")
    try:
        time.sleep(1.0)  # the workers are up and polling, as in production
        total, inicio = int(opcoes.taxa * opcoes.segundos), time.monotonic()
        for n in range(total):
            time.sleep(max(0.0, inicio + n / opcoes.taxa - time.monotonic()))
            commitado = []
            with transaction.atomic():
                # Registered first, so it runs first after the commit, before the delivery thread starts.
                transaction.on_commit(lambda commitado=commitado: commitado.append(time.monotonic()))
                evento = disparar_webhook("nfe_importada", {**exemplo, "numero": n}, organizacao)
            commits[evento.id.encode()] = commitado[0]
        prazo = time.monotonic() + 60
        while len({i for _, i in receptor.chegadas}) < total and time.monotonic() < prazo:
            time.sleep(0.05)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        esperar_workers(workers)
        settings.WEBHOOK_ENTREGA_IMEDIATA = False
    primeira = {}
    for momento, evento_id in receptor.chegadas:
        primeira.setdefault(evento_id, momento)
    if len(primeira) < total:
        print(f"  atenção: {total - len(primeira)} eventos não chegaram em 60 s", flush=True)
    return sorted((primeira[i] - commits[i]) * 1000 for i in primeira if i in commits), repetidos(receptor)


def repetidos(receptor: Receptor) -> int:
    """Arrivals beyond the first of each event."""
    return sum(vezes - 1 for vezes in Counter(i for _, i in receptor.chegadas).values())


def importacoes_sem_worker(opcoes, receptor: Receptor, organizacao, pasta: Path) -> dict:
    """`--importacoes` CLI imports with no worker running, then a worker for whatever they left."""
    from django.db.models import Max

    from core.geracao.certificado import gerar_certificado
    from core.geracao.documentos import gerar_nfe
    from core.models import WebhookLog
    from core.tenancy import escopo

    Status = WebhookLog.Status
    certificado = gerar_certificado(cnpj="11222333000181", nome="EMITENTE BENCH")
    ambiente = {**os.environ, "DATABASE_URL": url_do_banco(), "WEBHOOK_ENTREGA_IMEDIATA": "true"}
    receptor.zerar()
    todas = escopo(WebhookLog, organizacao)
    linhas = todas.filter(pk__gt=todas.aggregate(ultima=Max("pk"))["ultima"] or 0)  # this phase's rows only
    for rodada in range(opcoes.importacoes):
        destino = pasta / f"importacao{rodada}"
        destino.mkdir()
        for n in range(opcoes.arquivos):
            documento = gerar_nfe(certificado=certificado, numero=100_000 + rodada * opcoes.arquivos + n)
            (destino / f"{documento.chave}.xml").write_bytes(documento.xml)
        comando = [sys.executable, "manage.py", "importar_xml", str(destino), "--organizacao", organizacao.slug,
                   "--sem-progresso"]  # fmt: skip
        feito = subprocess.run(comando, check=False, cwd=RAIZ, env=ambiente, capture_output=True, text=True, timeout=600)
        avisos_de_pool["importação"] += (feito.stdout + feito.stderr).count(AVISO_POOL_CHEIO)
        if feito.returncode != 0:
            raise SystemExit(f"importar_xml falhou ({feito.returncode}):\n{feito.stderr[-3000:]}")
    sobrou = Counter(linhas.exclude(status=Status.SUCESSO).values_list("status", flat=True))
    eventos = set(linhas.values_list("evento_id", flat=True))
    chegaram = Counter(i.decode() for _, i in receptor.chegadas)
    uma_vez = sum(1 for e in eventos if chegaram[e] == 1)
    inicio = time.monotonic()
    # Nothing left: no worker (one signalled while still starting up would die of the SIGTERM).
    workers = iniciar_workers(opcoes, "--loop", "--intervalo", "0.2") if sobrou else []
    try:
        prazo = inicio + 300
        while linhas.exclude(status=Status.SUCESSO).exists() and time.monotonic() < prazo:
            time.sleep(0.05)
        espera = time.monotonic() - inicio
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        esperar_workers(workers)
    return {"eventos": len(eventos), "uma_vez": uma_vez, "sobrou": dict(sobrou), "espera_do_worker": espera,
            "repetidos": repetidos(receptor)}  # fmt: skip


def percentil(valores: list[float], p: float) -> float:
    return statistics.quantiles(valores, n=100, method="inclusive")[p - 1] if len(valores) > 1 else valores[0]


def main() -> None:
    argumentos = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    argumentos.add_argument("--eventos", type=int, default=10_000, help="entregas por rodada de vazão")
    argumentos.add_argument("--workers", type=int, default=2, help="processos (worker e cliente)")
    argumentos.add_argument("--threads", type=int, default=2, help="threads por processo (worker e cliente)")
    argumentos.add_argument("--taxa", type=float, default=50, help="commits por segundo na medida de latência")
    argumentos.add_argument("--segundos", type=float, default=5, help="duração da medida de latência")
    argumentos.add_argument("--importacoes", type=int, default=3, help="importações pela linha de comando, sem worker")
    argumentos.add_argument("--arquivos", type=int, default=10, help="NF-e por importação")
    argumentos.add_argument("--cliente", help=argparse.SUPPRESS)
    opcoes = argumentos.parse_args()
    if opcoes.cliente:
        cliente(opcoes.cliente)
        return

    preparar_django()
    from django.conf import settings
    from django.db import connection

    from bench.comum import banco_descartavel
    from core.organizacoes import criar_organizacao

    settings.WEBHOOK_ENTREGA_IMEDIATA = False
    receptor = Receptor(portas=4)
    resultados = {}
    with banco_descartavel("bench_webhooks") as temporaria:
        try:
            nova = criar_organizacao(nome="Bench Webhooks", email="bench@webhooks.local")
            organizacao = nova.organizacao
            sem_emails(organizacao, nova.usuario)
            for quantos in (1, 4):
                contador_de_avisos.fase = f"vazão {quantos}"
                webhooks = criar_webhooks(organizacao, receptor.urls[:quantos])
                print(f"{quantos} webhook(s): worker...", flush=True)
                worker = vazao_do_worker(opcoes, receptor, organizacao, webhooks)
                print(f"{quantos} webhook(s): requests.Session...", flush=True)
                puro = vazao_sem_banco(opcoes, receptor, organizacao, webhooks, temporaria)
                resultados[quantos] = (worker, puro)
            print(f"latência: {opcoes.taxa:g} commits/s por {opcoes.segundos:g} s...", flush=True)
            criar_webhooks(organizacao, receptor.urls[:1])
            contador_de_avisos.fase = "latência"
            latencias, repetidos_na_latencia = latencias_ms(opcoes, receptor, organizacao)
            print(f"importação: {opcoes.importacoes} x {opcoes.arquivos} NF-e pela linha de comando, sem worker...", flush=True)
            contador_de_avisos.fase = "importação"
            importacoes = importacoes_sem_worker(opcoes, receptor, organizacao, temporaria)
        finally:
            receptor.fechar()

    print(f"\nbanco: {connection.vendor}; {opcoes.eventos} entregas por rodada; {opcoes.workers} processo(s) x "
          f"{opcoes.threads} thread(s) de cada lado; {os.cpu_count()} núcleos")  # fmt: skip
    print(f"{'':12} {'worker/s':>10} {'requests.Session/s':>19} {'razão':>7}  meta >= {META_RAZAO}")
    for quantos, (worker, puro) in resultados.items():
        razao = worker / puro
        veredito = "PASS" if razao >= META_RAZAO else "BELOW TARGET"
        print(f"{quantos} webhook{'s' if quantos > 1 else ' '}   {worker:10.0f} {puro:19.0f} {razao:7.2f}  {veredito}")
    p50, p95, p99 = (percentil(latencias, p) for p in (50, 95, 99))
    veredito = "PASS" if p99 < META_P99_MS else "BELOW TARGET"
    print(f"latência commit -> entrega ({len(latencias)} eventos, {opcoes.taxa:g}/s): "
          f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms  meta p99 < {META_P99_MS} ms: {veredito}; "
          f"entregues mais de uma vez: {repetidos_na_latencia}")  # fmt: skip
    i = importacoes
    veredito = "PASS" if i["uma_vez"] == i["eventos"] and not i["sobrou"] and not i["repetidos"] else "BELOW TARGET"
    print(f"importação sem worker ({i['eventos']} eventos): {i['uma_vez']} entregues uma vez ao fim dos comandos, "
          f"{i['repetidos']} repetidos, deixados {i['sobrou'] or 'nenhum'}; o worker levou {i['espera_do_worker']:.1f} s "
          f"para o resto  meta: todos uma vez, nada deixado: {veredito}")  # fmt: skip
    print(f"avisos 'Connection pool is full' do urllib3: {dict(avisos_de_pool) or 0}")


if __name__ == "__main__":
    main()
