"""API latency at 1,000 and at 100,000 documents, from one run.

    .venv/bin/python bench/api.py [--grande 100000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fiscal .venv/bin/python bench/api.py

Fills a throw-away test database with generated NF-e/CT-e rows (bulk inserts, no XML signing: the
rows are what the queries touch), measures the median latency of each endpoint through Django's
full request stack, grows the data to the large size, measures again, and prints the ratio. For the
aggregate endpoints it also times the very SQL they ran, executed raw, so ORM/DRF overhead shows.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(RAIZ))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fiscal_app.settings_de_teste")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from bench.comum import banco_descartavel  # noqa: E402
from django.conf import settings  # noqa: E402

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from core.documentos.chave import montar_chave  # noqa: E402
from core.models import ArquivoXML, CTe, NFe, NFeItem  # noqa: E402
from core.organizacoes import criar_organizacao  # noqa: E402
from core.tenancy import escopo, inserir  # noqa: E402

UFS = ["SP", "RJ", "MG", "PR", "SC", "RS", "BA", "GO", "PE", "CE"]
CODIGOS_UF = {"SP": "35", "RJ": "33", "MG": "31", "PR": "41", "SC": "42", "RS": "43", "BA": "29", "GO": "52",
              "PE": "26", "CE": "23"}  # fmt: skip
SITUACOES = ["autorizada"] * 17 + ["cancelada", "resumo", "denegada"]
REPETICOES = 25


class Gerador:
    """Plausible rows: 300 emitters, dates over the last year, a few items each."""

    def __init__(self, organizacao):
        self.organizacao = organizacao
        self.rng = random.Random(7)
        self.numero = 0
        self.emitentes = [(f"{10_000_000 + i:08d}0001{i % 90 + 10:02d}", f"EMPRESA {i:03d} LTDA") for i in range(300)]
        self.arquivo = ArquivoXML.de_bytes(organizacao, b"<nfeProc/>")
        inserir(ArquivoXML, organizacao, [self.arquivo])
        self.agora = timezone.now()

    def _comum(self, modelo: str) -> dict:
        self.numero += 1
        cnpj, nome = self.rng.choice(self.emitentes)
        uf = self.rng.choice(UFS)
        emissao = self.agora - timedelta(minutes=self.rng.randint(0, 365 * 24 * 60))
        chave = montar_chave(CODIGOS_UF[uf], emissao.strftime("%y%m"), cnpj, modelo, 1, self.numero, "1",
                             f"{self.rng.randint(1, 99_999_999):08d}")
        situacao = self.rng.choice(SITUACOES)
        return {
            "organizacao": self.organizacao, "chave": chave, "modelo": modelo, "serie": 1, "numero": self.numero,
            "data_emissao": emissao, "data_emissao_local": timezone.localtime(emissao).date(),
            "natureza_operacao": "VENDA", "emitente_documento": cnpj,
            "emitente_nome": nome, "emitente_uf": uf, "destinatario_documento": "11222333000181",
            "destinatario_nome": "DESTINATARIO SA", "destinatario_uf": self.rng.choice(UFS), "situacao": situacao,
            "completa": situacao != "resumo", "assinatura": "valida", "origem": "sefaz", "arquivo": self.arquivo,
        }  # fmt: skip

    def _valor(self) -> Decimal:
        return Decimal(self.rng.randint(1_000, 5_000_000)) / 100

    def encher(self, quantidade: int) -> None:
        for inicio in range(0, quantidade, 5_000):
            lote = min(5_000, quantidade - inicio)
            nfes = [NFe(**self._comum("55"), tipo_operacao="saida", valor_total=self._valor(),
                        valor_produtos=self._valor(), valor_icms=self._valor()) for _ in range(lote * 4 // 5)]
            inserir(NFe, self.organizacao, nfes)
            itens = [NFeItem(organizacao=self.organizacao, nfe=n, numero=i, codigo=f"P{i}", descricao="PRODUTO",
                             valor_total=n.valor_produtos) for n in nfes for i in (1, 2)]
            inserir(NFeItem, self.organizacao, itens)
            ctes = []
            for _ in range(lote - len(nfes)):
                campos = self._comum("57")
                destino = self.rng.choice(UFS)
                ctes.append(CTe(**campos, modal="01", uf_inicio=campos["emitente_uf"], uf_fim=destino,
                                municipio_inicio=f"CIDADE {campos['emitente_uf']}", municipio_fim=f"CIDADE {destino}",
                                tomador_documento=campos["destinatario_documento"], valor_prestacao=self._valor(),
                                valor_receber=self._valor(), valor_carga=self._valor()))
            inserir(CTe, self.organizacao, ctes)


def mediana_ms(cliente: APIClient, url: str) -> tuple[float, list[tuple]]:
    resposta = cliente.get(url)
    assert resposta.status_code == 200, (url, resposta.status_code, resposta.content[:300])
    consultas = []

    def registrar(executar, sql, parametros, varias, contexto):
        consultas.append((sql, parametros))
        return executar(sql, parametros, varias, contexto)

    with connection.execute_wrapper(registrar):
        cliente.get(url)
    tempos = []
    for _ in range(REPETICOES):
        inicio = time.perf_counter()
        cliente.get(url)
        tempos.append((time.perf_counter() - inicio) * 1000)
    # The token and membership lookups are the same for every endpoint: time the endpoint's own.
    return statistics.median(tempos), [c for c in consultas if "core_tokendeapi" not in c[0] and "core_membro" not in c[0]]


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
PLANOS = {"lista (50)": 1.5, "detalhe": 1.5, "buscar chave": 1.5}


def medir(cliente, organizacao) -> dict[str, tuple[float, float | None]]:
    medidas = {}
    for nome, url in urls(organizacao).items():
        ms, sqls = mediana_ms(cliente, url)
        medidas[nome] = (ms, mediana_sql_ms(sqls) if nome in AGREGADOS else None)
    return medidas


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
        gerador.encher(opcoes.pequeno)
        pequeno = medir(cliente, nova.organizacao)
        print(f"enchendo até {opcoes.grande} documentos...", flush=True)
        inicio = time.perf_counter()
        gerador.encher(opcoes.grande - opcoes.pequeno)
        print(f"  {time.perf_counter() - inicio:.0f} s", flush=True)
        with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum would
            cursor.execute("ANALYZE")
        grande = medir(cliente, nova.organizacao)

    print(f"\nbanco: {connection.vendor}; mediana de {REPETICOES} requisições, em ms")
    print(f"{'endpoint':22} {opcoes.pequeno:>8} {opcoes.grande:>8} {'razão':>7} {'SQL grande':>10}  meta")
    for nome, (ms_pequeno, _) in pequeno.items():
        ms_grande, sql_grande = grande[nome]
        razao = ms_grande / ms_pequeno
        if nome in PLANOS:
            meta = f"razão <= {PLANOS[nome]}: {'ok' if razao <= PLANOS[nome] else 'NÃO'}"
        elif nome in AGREGADOS:
            ok = razao <= 20 and ms_grande <= sql_grande * 1.5
            meta = f"razão <= 20 e <= SQL x 1,5: {'ok' if ok else 'NÃO'}"
        else:
            meta = ""
        sql = f"{sql_grande:10.1f}" if sql_grande is not None else " " * 10
        print(f"{nome:22} {ms_pequeno:8.1f} {ms_grande:8.1f} {razao:7.2f} {sql}  {meta}")


if __name__ == "__main__":
    main()
