"""Migration 0009: attempts from before kept files get the bytes only where their document already stores them."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.documentos.importacao import Entrada, importar
from core.geracao.documentos import gerar_cte, gerar_nfe, gerar_resumo_nfe
from core.models import ImportLog, Origem
from core.tenancy import escopo

ANTES, DEPOIS = ("core", "0008_documentos_confiaveis"), ("core", "0009_importacoes_guardadas")


@pytest.mark.django_db(transaction=True)
def test_the_last_success_of_each_full_document_is_linked_to_its_xml(org, emissor, transportadora):
    # given: a summary then its full NF-e, a CT-e, a duplicate and a failure, logged as before kept files
    nfe, cte = gerar_nfe(certificado=emissor), gerar_cte(certificado=transportadora)
    arquivos = [("resumo.xml", gerar_resumo_nfe(nfe=nfe).xml), ("nota.xml", nfe.xml), ("cte.xml", cte.xml),
                ("de-novo.xml", nfe.xml), ("quebrado.xml", b"<NFe>truncado")]  # fmt: skip
    for nome, conteudo in arquivos:
        list(importar(organizacao=org, entradas=[Entrada(nome, conteudo)], origem=Origem.SEFAZ))
    escopo(ImportLog, org).update(xml=None, tamanho=None, sha256="")
    ultimas = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        MigrationExecutor(connection).migrate([ANTES])

        # when
        MigrationExecutor(connection).migrate([DEPOIS])

        # then (read with the models as they were at that migration: later ones add columns)
        modelos = MigrationExecutor(connection).loader.project_state([DEPOIS]).apps
        logs = {log.arquivo: log for log in modelos.get_model("core", "ImportLog").objects.filter(organizacao_id=org.pk)}
        documento_nfe = modelos.get_model("core", "NFe").objects.get(chave=nfe.chave)
        documento_cte = modelos.get_model("core", "CTe").objects.get(chave=cte.chave)
        assert logs["nota.xml"].xml_id == documento_nfe.arquivo_id
        assert logs["cte.xml"].xml_id == documento_cte.arquivo_id
        assert (logs["nota.xml"].tamanho, logs["nota.xml"].sha256) == (len(nfe.xml), documento_nfe.arquivo.sha256)
        # the summary's own bytes were replaced by the full XML's: nothing to link; nor a duplicate, nor a failure
        assert [logs[n].xml_id for n in ("resumo.xml", "de-novo.xml", "quebrado.xml")] == [None, None, None]
    finally:
        MigrationExecutor(connection).migrate(ultimas)
