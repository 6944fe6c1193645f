"""Folder imports spread over processes: same outcome as one process, every file accounted for."""

import pytest
from django.db import connection

from core.documentos.lote import importar_caminhos, pode_usar_processos, processos_sugeridos
from core.geracao.documentos import gerar_nfe
from core.models import ArquivoXML, ImportLog, NFe, NFeItem, Origem
from core.tenancy import escopo


def test_small_imports_stay_in_one_process_and_large_ones_use_every_core(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    assert processos_sugeridos(10) == 1
    assert processos_sugeridos(10_000) == 4


@pytest.mark.django_db
def test_inside_a_transaction_it_never_forks(org):
    # Worker processes could not see the rows of an open transaction (the test's own, here).
    assert not pode_usar_processos()


@pytest.mark.django_db(transaction=True)
def test_workers_import_every_file_once(org, emissor, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("precisa de PostgreSQL: o banco SQLite dos testes fica em memória, invisível a outros processos")
    caminhos = []
    for numero in range(1, 251):
        documento = gerar_nfe(certificado=emissor, numero=numero, itens=2)
        caminho = tmp_path / f"{numero:04d}.xml"
        caminho.write_bytes(documento.xml)
        caminhos.append(caminho)
    (tmp_path / "0000.xml").write_bytes(b"<quebrado")
    caminhos.insert(0, tmp_path / "0000.xml")
    assert pode_usar_processos()

    blocos = list(importar_caminhos(organizacao=org, caminhos=caminhos, origem=Origem.PASTA, processos=2))

    assert sum(feitos for feitos, _ in blocos) == 251
    resultados = [r for _, lote in blocos for r in lote]
    assert [r.arquivo for r in resultados] == [str(c) for c in caminhos]  # order kept
    assert [r.status for r in resultados] == ["erro"] + ["sucesso"] * 250
    assert escopo(NFe, org).count() == 250 and escopo(ArquivoXML, org).count() == 251  # + the broken file's bytes
    assert escopo(ImportLog, org).get(status="erro").xml.bytes_originais() == b"<quebrado"
    assert escopo(NFeItem, org).count() == 500
    assert escopo(ImportLog, org).count() == 251
    assert escopo(NFe, org).filter(situacao="autorizada").count() == 250  # parent reconnects after the fork
