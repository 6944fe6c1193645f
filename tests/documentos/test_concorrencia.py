"""Two importers of the same files at once: every key stored once, nobody fails."""

import threading

import pytest
from django.db import connection

from core.documentos.importacao import Entrada, importar
from core.geracao.documentos import gerar_nfe
from core.models import ImportLog, NFe, Origem
from core.tenancy import escopo


@pytest.mark.django_db(transaction=True)
def test_concurrent_imports_store_each_key_once(org, emissor):
    if connection.vendor != "postgresql":
        pytest.skip("precisa de PostgreSQL: o SQLite serializa escritores, então a corrida não acontece (roda no .ci/run)")
    documentos = [gerar_nfe(certificado=emissor, numero=n) for n in range(1, 61)]
    entradas = [Entrada(f"{d.chave}.xml", d.xml) for d in documentos]
    largada = threading.Barrier(2)
    resultados = [[], []]

    def importador(indice):
        try:
            largada.wait()
            resultados[indice] = list(importar(organizacao=org, entradas=entradas, origem=Origem.PASTA, tamanho_lote=7))
        finally:
            connection.close()

    threads = [threading.Thread(target=importador, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    status = [r.status for lado in resultados for r in lado]
    assert len(status) == 120 and "erro" not in status
    assert status.count("sucesso") == 60 and status.count("duplicado") == 60
    assert escopo(NFe, org).count() == 60
    assert escopo(ImportLog, org).count() == 120
