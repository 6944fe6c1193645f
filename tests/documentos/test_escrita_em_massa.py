"""The import's bulk writer (core/escrita_em_massa.py: COPY on PostgreSQL, multi-row INSERT on SQLite).

Run on both databases: `DATABASE_URL=postgres://... pytest tests/documentos/test_escrita_em_massa.py`.
"""

import json

import pytest
from django.db import connection
from django.utils import timezone

from core import tenancy
from core.documentos import gravacao
from core.documentos.importacao import Entrada, importar
from core.escrita_em_massa import inserir_tabelas
from core.geracao.documentos import gerar_cte, gerar_evento_nfe, gerar_nfe, gerar_resumo_nfe
from core.models import Evento, ImportLog, NFe, NFeItem, Origem
from core.tenancy import escopo

TABELAS = ["core_arquivoxml", "core_nfe", "core_cte", "core_nfeitem", "core_eventodocumento", "core_importlog", "core_evento"]
# Differ between any two imports: the rows' own ids, their organization, when they were written.
IGNORADAS = {"id", "organizacao_id", "criado_em", "atualizado_em"}


def _pelo_orm(grupos):
    for modelo, objetos in grupos:
        modelo._default_manager.bulk_create(objetos)


def _entradas(emissor):
    com_reforma = gerar_nfe(certificado=emissor, numero=1, itens=4, reforma=True)
    sem_reforma = gerar_nfe(certificado=emissor, numero=2, itens=1)
    cte = gerar_cte(certificado=emissor, numero=3, chaves_nfe=[com_reforma.chave, sem_reforma.chave])
    resumo = gerar_resumo_nfe(chave=gerar_nfe(certificado=emissor, numero=4).chave)
    correcao = gerar_evento_nfe(certificado=emissor, chave=com_reforma.chave, tipo_evento="110110",
                                detalhes={"xCorrecao": "Corrige o endereço do destinatário"})  # fmt: skip
    orfao = gerar_evento_nfe(certificado=emissor, chave=gerar_nfe(certificado=emissor, numero=5).chave)
    arquivos = [com_reforma.xml, sem_reforma.xml, cte.xml, resumo.xml, correcao.xml, orfao.xml, com_reforma.xml, b"<quebrado"]
    return [Entrada(f"{i}.xml", xml, nsu=i if i % 2 else None) for i, xml in enumerate(arquivos)]


def _linhas(organizacao) -> dict[str, list]:
    """Every row the import stored for `organizacao`, as the database returns it, minus what always differs;
    a foreign key becomes whether it is set (the rows it points at are compared in their own table)."""
    linhas = {}
    with connection.cursor() as cursor:
        for tabela in TABELAS:
            cursor.execute(f"SELECT * FROM {tabela} WHERE organizacao_id = %s", [organizacao.pk])  # noqa: S608
            colunas = [c[0] for c in cursor.description]
            linhas[tabela] = sorted(repr(_normalizar(tabela, colunas, linha)) for linha in cursor.fetchall())
    return linhas


def _normalizar(tabela, colunas, linha) -> dict:
    valores = {}
    for coluna, valor in zip(colunas, linha, strict=True):
        if coluna in IGNORADAS:
            continue
        if coluna.endswith("_id") or (tabela == "core_evento" and coluna == "lote"):  # the lote: one per import
            valor = valor is not None
        elif tabela == "core_evento" and coluna == "payload":
            payload = json.loads(valor) if isinstance(valor, str) else valor
            valor = {**payload, "id": None, "criado_em": None}
        elif isinstance(valor, memoryview):
            valor = bytes(valor)
        valores[coluna] = valor
    return valores


def test_it_stores_the_rows_the_orm_stores_column_by_column(org, outra_org, emissor, monkeypatch):
    # given: the same files, imported once through the bulk writer and once through the ORM's bulk_create
    entradas = _entradas(emissor)
    em_massa = list(importar(organizacao=org, entradas=entradas, origem=Origem.PASTA))
    with monkeypatch.context() as m:
        m.setattr(tenancy, "inserir_tabelas", _pelo_orm)
        pelo_orm = list(importar(organizacao=outra_org, entradas=entradas, origem=Origem.PASTA))

    # then: the same outcome and, table by table, the same stored values (NULLs, JSON, bytes, decimals, dates)
    assert [(r.status, r.mensagem) for r in em_massa] == [(r.status, r.mensagem) for r in pelo_orm]
    assert [r.status for r in em_massa] == ["sucesso"] * 6 + ["duplicado", "erro"]
    linhas, esperadas = _linhas(org), _linhas(outra_org)
    assert all(linhas[tabela] for tabela in TABELAS)
    for tabela in TABELAS:
        assert linhas[tabela] == esperadas[tabela], tabela


def test_each_row_gets_its_pk_and_points_at_rows_of_the_same_batch(org, emissor):
    nfe = gerar_nfe(certificado=emissor, numero=7, itens=3)
    [resultado] = importar(organizacao=org, entradas=[Entrada("a.xml", nfe.xml)], origem=Origem.UPLOAD)

    documento = escopo(NFe, org).get(chave=nfe.chave)
    assert resultado.documento.pk == documento.pk and not resultado.documento._state.adding
    assert resultado.log.pk == escopo(ImportLog, org).get().pk
    assert resultado.log.xml_id == documento.arquivo_id is not None
    assert sorted(escopo(NFeItem, org).filter(nfe=documento).values_list("numero", flat=True)) == [1, 2, 3]


def test_a_batch_with_a_key_twice_and_a_key_already_stored(org, emissor):
    a, b = gerar_nfe(certificado=emissor, numero=1, itens=2), gerar_nfe(certificado=emissor, numero=2, itens=3)
    list(importar(organizacao=org, entradas=[Entrada("b.xml", b.xml)], origem=Origem.PASTA))

    entradas = [Entrada("a.xml", a.xml), Entrada("a-de-novo.xml", a.xml), Entrada("b.xml", b.xml)]
    resultados = list(importar(organizacao=org, entradas=entradas, origem=Origem.PASTA))

    assert [r.status for r in resultados] == ["sucesso", "duplicado", "duplicado"]
    assert escopo(NFe, org).count() == 2 and escopo(NFeItem, org).count() == 5
    assert escopo(ImportLog, org).count() == 4
    assert escopo(Evento, org).filter(tipo="nfe_importada").count() == 2


def test_a_key_another_importer_stored_meanwhile_rolls_the_batch_back_and_ends_duplicated(org, emissor, monkeypatch):
    # given: the batch decided its documents are new, then another importer stored one of their keys
    a, b = gerar_nfe(certificado=emissor, numero=1), gerar_nfe(certificado=emissor, numero=2)
    carregar = gravacao._Existentes.carregar
    corrida = {"vez": 0}

    def carregar_e_perder_a_corrida(organizacao, itens):
        existentes = carregar(organizacao, itens)
        corrida["vez"] += 1
        if corrida["vez"] == 2:  # the first batch of the second import
            existentes.nfes.clear()
        return existentes

    monkeypatch.setattr(gravacao._Existentes, "carregar", staticmethod(carregar_e_perder_a_corrida))
    list(importar(organizacao=org, entradas=[Entrada("b.xml", b.xml)], origem=Origem.PASTA))

    # when: its COPY (or INSERT) hits the unique constraint
    entradas = [Entrada("a.xml", a.xml), Entrada("b.xml", b.xml)]
    resultados = list(importar(organizacao=org, entradas=entradas, origem=Origem.PASTA))

    # then: nothing of the failed batch stayed (no row, no event); each document was retried alone
    assert [r.status for r in resultados] == ["sucesso", "duplicado"]
    assert escopo(NFe, org).count() == 2
    assert escopo(ImportLog, org).count() == 3
    assert escopo(Evento, org).filter(tipo="nfe_importada").count() == 2


def test_rows_that_bring_their_pk_keep_it_and_an_unsaved_related_row_is_refused(org):
    from core.models import ArquivoXML

    evento = Evento(id="evt_01TESTEMASSA0000000000000", organizacao=org, tipo="nfe_importada",
                    criado_em=timezone.now(), payload={"valor": "1.50", "nada": None})  # fmt: skip
    inserir_tabelas([(Evento, [evento])])
    assert escopo(Evento, org).get().payload == {"valor": "1.50", "nada": None}

    log = ImportLog(organizacao=org, arquivo="x.xml", status="erro", origem="upload", xml=ArquivoXML(organizacao=org))
    with pytest.raises(ValueError, match="unsaved related object 'xml'"):
        inserir_tabelas([(ImportLog, [log])])
