"""Migration 0011: existing NF-e keep vNF as both valor_total and valor_nf, and get their manifestation deadline."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.documentos.importacao import Entrada, importar
from core.geracao.documentos import gerar_nfe, gerar_resumo_nfe
from core.models import Origem

ANTES, DEPOIS = ("core", "0010_sefaz_cursor_compartilhado"), ("core", "0011_reforma_tributaria")


@pytest.mark.django_db(transaction=True)
def test_existing_nfe_get_valor_nf_and_the_180_day_deadline(org, emissor):
    # given: a full NF-e (with protocol), a summary, and an NFC-e, stored before the reform columns existed
    completa, nfce = gerar_nfe(certificado=emissor), gerar_nfe(certificado=emissor, modelo="65")
    resumo = gerar_resumo_nfe(nfe=gerar_nfe(certificado=emissor))
    for documento in (completa, resumo, nfce):
        list(importar(organizacao=org, entradas=[Entrada("d.xml", documento.xml)], origem=Origem.SEFAZ))
    ultimas = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        MigrationExecutor(connection).migrate([ANTES])

        # when
        MigrationExecutor(connection).migrate([DEPOIS])

        # then (read with the models as they were at 0011)
        NFe = MigrationExecutor(connection).loader.project_state([DEPOIS]).apps.get_model("core", "NFe")
        linhas = {n.chave: n for n in NFe.objects.filter(organizacao_id=org.pk)}
        for nfe in linhas.values():
            assert nfe.valor_nf == nfe.valor_total
            assert nfe.finalidade is None and nfe.valor_ibs is None  # filled by reler_documentos, from the XML
        assert linhas[completa.chave].prazo_manifestacao == linhas[completa.chave].data_recebimento + timedelta(days=180)
        assert linhas[resumo.chave].prazo_manifestacao is not None
        assert linhas[nfce.chave].prazo_manifestacao is None  # NFC-e has no manifestation
    finally:
        MigrationExecutor(connection).migrate(ultimas)
