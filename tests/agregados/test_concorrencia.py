"""Concurrent writers and compaction on PostgreSQL: importers in parallel threads (each its own connection and
transactions) append deltas to the same hot keys while another thread compacts in a loop; nobody waits on a
rollup row, nobody deadlocks, and at the end the rollups equal the documents."""

import random
import threading
from datetime import datetime
from decimal import Decimal

import pytest
from django.db import connection, connections

from core.agregados.manutencao import compactar, diferencas
from core.documentos.chave import montar_chave
from core.documentos.importacao import Entrada, importar
from core.geracao.documentos import gerar_resumo_nfe
from core.models import AgregadoNFe, NFe, Origem
from core.tenancy import escopo

pytestmark = pytest.mark.django_db(transaction=True)

PRECISA_DE_POSTGRES = "precisa de PostgreSQL: escritores em threads com conexões próprias (roda no .ci/run)"


def _resumos(inicio: int, quantos: int) -> list:
    rng = random.Random(inicio)
    docs = []
    for numero in range(inicio, inicio + quantos):
        # All on two days of one month and one emitter: every batch touches the same rollup keys.
        quando = datetime.fromisoformat(f"2026-05-0{rng.choice([3, 4])}T10:00:00-03:00")
        chave = montar_chave("35", "2605", "45723174000110", "55", 1, numero, "1", numero)
        docs.append(gerar_resumo_nfe(chave=chave, emitente_cnpj="45723174000110", nome="ALFA LTDA",
                                     valor=f"{rng.randint(1, 9999)}.{rng.randint(0, 99):02d}", data_emissao=quando))  # fmt: skip
    return docs


def test_parallel_imports_and_compaction_keep_the_rollups_exact(org):
    if connection.vendor != "postgresql":
        pytest.skip(PRECISA_DE_POSTGRES)
    lotes = [_resumos(1 + 100 * i, 40) for i in range(2)]
    erros, parar = [], threading.Event()

    def importar_em_lotes(documentos):
        try:
            for inicio in range(0, len(documentos), 5):  # 8 transactions per thread
                entradas = [Entrada(f"{d.chave}.xml", d.xml) for d in documentos[inicio : inicio + 5]]
                assert all(r.ok for r in importar(organizacao=org, entradas=entradas, origem=Origem.UPLOAD))
        except Exception as erro:  # reported by the main thread
            erros.append(erro)
        finally:
            connections.close_all()

    def compactar_sem_parar():
        try:
            while not parar.is_set():
                compactar(org.pk)
        except Exception as erro:
            erros.append(erro)
        finally:
            connections.close_all()

    compactador = threading.Thread(target=compactar_sem_parar)
    importadores = [threading.Thread(target=importar_em_lotes, args=(lote,)) for lote in lotes]
    compactador.start()
    for thread in importadores:
        thread.start()
    for thread in importadores:
        thread.join(timeout=120)
    parar.set()
    compactador.join(timeout=60)

    assert erros == []
    assert escopo(NFe, org).count() == 80
    assert diferencas(org.pk) == []
    linhas = AgregadoNFe.objects.filter(organizacao=org, grao="m")
    assert sum(linha.quantidade for linha in linhas) == 80
    assert sum(linha.valor_total for linha in linhas) == sum(
        int(nfe.valor_total * 100) for nfe in escopo(NFe, org)
    ) == int(sum((nfe.valor_total for nfe in escopo(NFe, org)), Decimal(0)) * 100)
    compactar(org.pk)
    assert AgregadoNFe.objects.filter(organizacao=org, grao="m").count() == 1
