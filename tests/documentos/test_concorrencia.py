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


def _outra_versao(documento, emissor) -> bytes:
    """The same key with another signed content (another vNF): what a second, different copy looks like."""
    from lxml import etree

    from core.documentos import xmldsig
    from core.geracao.documentos import NS_NFE

    N = f"{{{NS_NFE}}}"
    raiz = etree.fromstring(documento.xml)
    nfe = raiz.find(f"{N}NFe")
    inf = nfe.find(f"{N}infNFe")
    inf.find(f"{N}total/{N}ICMSTot/{N}vNF").text = "1.00"
    nfe.remove(nfe.find(f"{{{xmldsig.DS}}}Signature"))
    xmldsig.assinar(inf, emissor.chave_privada, emissor.certificado)
    return etree.tostring(nfe)


@pytest.mark.django_db(transaction=True)
def test_two_importers_racing_with_different_content_for_the_same_keys_never_merge(org, emissor):
    if connection.vendor != "postgresql":
        pytest.skip("precisa de PostgreSQL: o SQLite serializa escritores, então a corrida não acontece (roda no .ci/run)")
    documentos = [gerar_nfe(certificado=emissor, numero=n) for n in range(1, 31)]
    lados = [
        [Entrada(f"a-{d.chave}.xml", d.xml) for d in documentos],
        [Entrada(f"b-{d.chave}.xml", _outra_versao(d, emissor)) for d in documentos],
    ]
    largada = threading.Barrier(2)
    resultados = [[], []]

    def importador(indice):
        try:
            largada.wait()
            resultados[indice] = list(importar(organizacao=org, entradas=lados[indice], origem=Origem.PASTA, tamanho_lote=4))
        finally:
            connection.close()

    threads = [threading.Thread(target=importador, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    por_chave = {}
    for lado in resultados:
        for r in lado:
            por_chave.setdefault(r.chave, []).append(r)
    assert len(por_chave) == 30
    for chave, dois in por_chave.items():  # each key: one stored, the other a conflict naming the value
        assert sorted(r.status for r in dois) == ["erro", "sucesso"], chave
        [conflito] = [r for r in dois if r.status == "erro"]
        assert conflito.mensagem.startswith("conflito: o conteúdo difere do documento já guardado")
    guardadas = {n.chave: n.valor_total for n in escopo(NFe, org)}
    vencedores = {r.chave: r.arquivo[0] for lado in resultados for r in lado if r.status == "sucesso"}
    assert len(guardadas) == 30
    for chave, lado in vencedores.items():  # the stored value is the winner's, whole: never a mix
        assert (str(guardadas[chave]) == "1.00") == (lado == "b"), chave
