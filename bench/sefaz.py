"""SEFAZ capture throughput: a full distNSU sync from the simulator beside a direct import, in one run.

    .venv/bin/python bench/sefaz.py [--n 5000] [--perfil]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fiscal_bench_sefaz .venv/bin/python bench/sefaz.py

Generates `--n` signed NF-e (nfeProc) addressed to one CNPJ, once, and publishes them in a local
`Simulador` (50 per answer, so 5,000 documents are 100 answers). On a throw-away database (a SQLite
file, or a test database on DATABASE_URL):

(b1) `importar_xml --processos 1` imports the same files in a fresh organization: the same pipeline
     and the same single process the sync uses, so the two are like for like;
(a)  an A1 certificate for that CNPJ is registered in another fresh organization and
     `consultar_certificado` runs once: every page over mutual TLS + SOAP, docZip decoding, import
     and cursor bookkeeping. SEFAZ_PAUSA_ENTRE_PAGINAS=0 and SEFAZ_MAX_PAGINAS above the page count,
     so the run is not cut short or made to sleep (production pauses 1 s between pages);
(b2) the same import with 2 processes, as a reference only.

(b1) runs first, on empty tables; the sync then writes into tables that already hold N documents,
which can only make (a) look slower. Prints both rates, the ratio a/b1 (target >= 0.5), the e-mails
each sent (the file backend writes them into the temporary directory) and where the sync's time
went. The simulator answers from a thread of this process: its share of each round trip is shown
apart, since the real SEFAZ does that work on its own machines. `--perfil` adds a cProfile listing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import math
import os
import pstats
import random
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(RAIZ))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fiscal_app.settings_de_teste")

import django  # noqa: E402

django.setup()

from bench.comum import banco_descartavel, confiar_na_ac_de_teste  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.mail import EmailMessage  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from core.certificados import cadastrar_certificado  # noqa: E402
from core.geracao.certificado import gerar_certificado  # noqa: E402
from core.geracao.documentos import gerar_nfe  # noqa: E402
from core.models import ImportLog, NFe  # noqa: E402
from core.notifications import agrupamento  # noqa: E402
from core.organizacoes import criar_organizacao  # noqa: E402
from core.sefaz import cliente as modulo_cliente  # noqa: E402
from core.sefaz import distribuicao, respostas  # noqa: E402
from core.sefaz.simulador import Simulador  # noqa: E402
from core.tenancy import escopo  # noqa: E402

DESTINATARIO = "61585865000151"
EMITENTES = ["11222333000181", "45723174000110", "19131243000197", "06990590000123"]
LOTE = 50
SENHA = "senha-do-bench"
META_RAZAO = 0.5


def gerar_arquivos(pasta: Path, n: int) -> list[bytes]:
    rng = random.Random(42)
    certificados = [gerar_certificado(cnpj=cnpj, nome=f"EMITENTE {i}") for i, cnpj in enumerate(EMITENTES)]
    conteudos = []
    for i in range(n):
        documento = gerar_nfe(certificado=certificados[i % 4], rng=rng, numero=i + 1, itens=rng.randint(1, 6),
                              destinatario_documento=DESTINATARIO)  # fmt: skip
        (pasta / f"{documento.chave}-procNFe.xml").write_bytes(documento.xml)
        conteudos.append(documento.xml)
    return conteudos


def nova_organizacao(nome: str):
    return criar_organizacao(nome=nome, email=f"bench{time.time_ns()}@sefaz.local").organizacao


def medir_importacao(pasta: Path, n: int, processos: int) -> tuple[float, int]:
    """Documents per second of `importar_xml`, and how many e-mails it sent."""
    org = nova_organizacao(f"Bench importação {processos}p")
    cronometro = Cronometro()
    with cronometro.medindo([(EmailMessage, "send", "e-mails")]), open(os.devnull, "w") as nada:
        inicio = time.perf_counter()
        call_command("importar_xml", str(pasta), "--organizacao", org.slug, "--sem-progresso",
                     "--processos", str(processos), stdout=nada)  # fmt: skip
        taxa = n / (time.perf_counter() - inicio)
    sucesso = escopo(ImportLog, org).filter(status="sucesso").count()
    assert sucesso == n, f"esperava {n} importados, vieram {sucesso}"
    return taxa, cronometro.chamadas["e-mails"]


# --- where the sync's time goes ---------------------------------------------------------------------


class Cronometro:
    """Wall time spent inside a few functions, by wrapping them for the duration of the sync."""

    def __init__(self):
        self.segundos: dict[str, float] = defaultdict(float)
        self.chamadas: dict[str, int] = defaultdict(int)

    def envolver(self, nome: str, funcao):
        def cronometrada(*args, **kwargs):
            inicio = time.perf_counter()
            try:
                return funcao(*args, **kwargs)
            finally:
                self.segundos[nome] += time.perf_counter() - inicio
                self.chamadas[nome] += 1

        return cronometrada

    @contextmanager
    def medindo(self, alvos: list[tuple[object, str, str]]):
        originais = [(dono, atributo, getattr(dono, atributo)) for dono, atributo, _ in alvos]
        for (dono, atributo, nome), (_, _, original) in zip(alvos, originais, strict=False):
            setattr(dono, atributo, self.envolver(nome, original))
        try:
            yield self
        finally:
            for dono, atributo, original in originais:
                if isinstance(dono, type) or not hasattr(type(dono), atributo):
                    setattr(dono, atributo, original)
                else:
                    delattr(dono, atributo)  # an instance attribute shadowing the method: drop it


def medir_sincronizacao(sim: Simulador, a1_destinatario, n: int, perfil: bool) -> tuple[float, Cronometro, str]:
    org = nova_organizacao("Bench SEFAZ")
    certificado = cadastrar_certificado(org, a1_destinatario.pfx(SENHA.encode()), SENHA, uf="PR", servicos=["nfe"],
                                        ciencia_automatica=False)  # fmt: skip
    cronometro = Cronometro()
    alvos = [
        (modulo_cliente.ClienteSEFAZ, "distribuicao", "ida e volta SOAP"),
        (modulo_cliente, "ler_ret_dist_dfe", "leitura + base64/gzip"),
        (sim, "_atender_servico", "simulador (servidor)"),
        (modulo_cliente, "_sessao_tls", "sessão TLS (chave A1)"),
        (respostas, "importar_documentos", "importação"),
        (agrupamento, "_enfileirar", "notificações (fila de e-mails)"),
        (EmailMessage, "send", "e-mails"),
    ]
    perfilador = cProfile.Profile() if perfil else None
    with cronometro.medindo(alvos):
        inicio = time.perf_counter()
        if perfilador:
            perfilador.enable()
        execucao = distribuicao.consultar_certificado(certificado, origem="comando")
        if perfilador:
            perfilador.disable()
        total = time.perf_counter() - inicio
    [servico] = execucao.servicos
    paginas = math.ceil(n / LOTE)
    assert (servico.situacao, servico.chamadas, servico.importados) == ("concluida", paginas, n), servico
    assert escopo(NFe, org).count() == n
    relatorio = ""
    if perfilador:
        saida = io.StringIO()
        pstats.Stats(perfilador, stream=saida).sort_stats("cumulative").print_stats(45)
        relatorio = saida.getvalue()
    return n / total, cronometro, relatorio


def imprimir_decomposicao(cronometro: Cronometro, taxa: float, n: int) -> None:
    total = n / taxa
    s = cronometro.segundos
    ida_e_volta, servidor, leitura = s["ida e volta SOAP"], s["simulador (servidor)"], s["leitura + base64/gzip"]
    importacao, sessao, notificacoes = s["importação"], s["sessão TLS (chave A1)"], s["notificações"]
    linhas = [
        ("idas e voltas SOAP+TLS (total)", ida_e_volta),
        ("  simulador respondendo (servidor)", servidor),
        ("  cliente: leitura + base64/gzip", leitura),
        ("  cliente: zeep, TLS, HTTP", ida_e_volta - servidor - leitura),
        ("importação (_importar)", importacao),
        (f"e-mails após o commit ({cronometro.chamadas['e-mails']})", notificacoes),
        ("sessão TLS com a chave A1", sessao),
        ("cursor, ConsultaSEFAZ, commits", total - ida_e_volta - importacao - notificacoes - sessao),
    ]
    chamadas = cronometro.chamadas["ida e volta SOAP"]
    print(f"onde foi o tempo da sincronização ({chamadas} chamadas, {total:.1f} s):")
    for nome, segundos in linhas:
        print(f"  {nome:36} {segundos:7.2f} s  {segundos / total:6.1%}  {segundos / chamadas * 1000:7.1f} ms/chamada")
    print(f"  sem a parte do simulador: {n / (total - servidor):.0f} NF-e/s; "
          f"sem ela e sem os e-mails após o commit: {n / (total - servidor - notificacoes):.0f} NF-e/s")


def main() -> None:
    argumentos = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    argumentos.add_argument("--n", type=int, default=5000, help="quantos documentos (padrão 5000)")
    argumentos.add_argument("--perfil", action="store_true", help="cProfile da sincronização (mais lenta)")
    argumentos.add_argument("--sem-2-processos", action="store_true", help="pular a importação com 2 processos")
    opcoes = argumentos.parse_args()
    paginas = math.ceil(opcoes.n / LOTE)

    with banco_descartavel("bench_sefaz") as temporaria, Simulador(lote=LOTE) as sim:
        settings.SEFAZ_CA_BUNDLE = sim.ca_pem
        settings.SEFAZ_NFE_DISTRIBUICAO_URL = sim.url_nfe_distribuicao
        settings.SEFAZ_PAUSA_ENTRE_PAGINAS = 0
        settings.SEFAZ_MAX_PAGINAS = paginas + 10
        settings.EMAIL_FILE_PATH = str(temporaria / "emails")  # file backend: still written, then removed
        confiar_na_ac_de_teste(temporaria)
        pasta = temporaria / "xml"
        pasta.mkdir()
        print(f"gerando {opcoes.n} NF-e assinadas para {DESTINATARIO}...", flush=True)
        for xml in gerar_arquivos(pasta, opcoes.n):
            sim.publicar(DESTINATARIO, "nfe", xml)
        a1_destinatario = gerar_certificado(cnpj=DESTINATARIO, nome="DESTINATARIO BENCH SA")
        print("importando direto (1 processo)...", flush=True)
        direto, emails_direto = medir_importacao(pasta, opcoes.n, 1)
        print(f"sincronizando ({paginas} respostas do simulador)...", flush=True)
        sincronia, cronometro, relatorio = medir_sincronizacao(sim, a1_destinatario, opcoes.n, opcoes.perfil)
        dois = None
        if not opcoes.sem_2_processos:
            print("importando direto (2 processos, referência)...", flush=True)
            dois, _ = medir_importacao(pasta, opcoes.n, 2)

    razao = sincronia / direto
    print(f"\nbanco: {connection.vendor}; {opcoes.n} NF-e, {paginas} respostas de {LOTE}")
    print(f"na medição: SEFAZ_PAUSA_ENTRE_PAGINAS=0 (produção: 1 s) e SEFAZ_MAX_PAGINAS={paginas + 10}")
    emails = cronometro.chamadas["e-mails"]
    print(f"(a) sincronização consultar_certificado: {sincronia:8.0f} NF-e/s  "
          f"({opcoes.n / sincronia:.1f} s, {emails} e-mails)")  # fmt: skip
    print(f"(b) importar_xml, 1 processo:            {direto:8.0f} NF-e/s  "
          f"({opcoes.n / direto:.1f} s, {emails_direto} e-mails)")  # fmt: skip
    if dois:
        print(f"    importar_xml, 2 processos (ref.):    {dois:8.0f} NF-e/s  ({opcoes.n / dois:.1f} s)")
    veredito = "PASS" if razao >= META_RAZAO else "BELOW TARGET"
    print(f"razão a/b: {razao:.3f}  (meta >= {META_RAZAO}) {veredito}\n")
    imprimir_decomposicao(cronometro, sincronia, opcoes.n)
    if relatorio:
        print("\n" + relatorio)


if __name__ == "__main__":
    main()
