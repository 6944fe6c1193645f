"""GET /api/buscar/ by CNPJ/CPF runs one query per field (core.consultas.busca): the merged answer is the one an
OR over the fields gives (each document once, newest first, cut at `limite`), the number of queries is fixed,
and each query reads its (organizacao, field, data_emissao, id) index in order instead of sorting."""

from datetime import date, datetime, time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.geracao.documentos import gerar_cte, gerar_nfe

pytestmark = pytest.mark.django_db

EMISSOR, CLIENTE = "11222333000181", "45723174000110"
# token + membership, then per model one exact query per CNPJ/CPF field (NF-e 2, CT-e 3) and one partial.
MAXIMO_DE_CONSULTAS = 2 + 2 + 3 + 2


def em(dia: int) -> datetime:
    return datetime.combine(date(2026, 3, dia), time(12), tzinfo=timezone.get_default_timezone())


def chaves(resposta) -> list[str]:
    assert resposta.status_code == 200, resposta.json()
    return [r["chave"] for r in resposta.json()["resultados"]]


@pytest.fixture
def notas(org, emissor, transportadora, importar_docs):
    """EMISSOR as emitter (days 1, 3), as recipient (day 2) and as both (day 4)."""
    notas = {
        "emite_1": gerar_nfe(certificado=emissor, numero=1, data_emissao=em(1), destinatario_documento=CLIENTE),
        "recebe_2": gerar_nfe(certificado=transportadora, numero=2, data_emissao=em(2), destinatario_documento=EMISSOR),
        "emite_3": gerar_nfe(certificado=emissor, numero=3, data_emissao=em(3), destinatario_documento=CLIENTE),
        "ambos_4": gerar_nfe(certificado=emissor, numero=4, data_emissao=em(4), destinatario_documento=EMISSOR),
    }
    importar_docs(org, *notas.values())
    return {nome: nota.chave for nome, nota in notas.items()}


def test_a_cnpj_in_two_fields_lists_each_document_once_newest_first(api, notas):
    esperadas = [notas["ambos_4"], notas["emite_3"], notas["recebe_2"], notas["emite_1"]]

    assert chaves(api.get("/api/buscar/", {"q": EMISSOR})) == esperadas


def test_limite_cuts_the_merged_fields_by_date(api, notas):
    assert chaves(api.get("/api/buscar/", {"q": EMISSOR, "limite": 3})) == [
        notas["ambos_4"], notas["emite_3"], notas["recebe_2"],
    ]  # fmt: skip
    assert chaves(api.get("/api/buscar/", {"q": EMISSOR, "limite": 1})) == [notas["ambos_4"]]


@pytest.mark.parametrize("quantidade", [2, 12])
def test_a_cnpj_search_runs_a_fixed_number_of_queries(api, org, emissor, transportadora, importar_docs,
                                                      django_assert_max_num_queries, quantidade):  # fmt: skip
    importar_docs(org, *[gerar_nfe(certificado=emissor, numero=n + 1, data_emissao=em(n + 1)) for n in range(quantidade)])
    importar_docs(org, *[gerar_cte(certificado=transportadora, numero=n + 1, data_emissao=em(n + 1), tomador="4",
                                   tomador_documento=EMISSOR) for n in range(quantidade)])  # fmt: skip

    with django_assert_max_num_queries(MAXIMO_DE_CONSULTAS):
        resultados = api.get("/api/buscar/", {"q": EMISSOR, "limite": 100}).json()["resultados"]
    assert len(resultados) == 2 * quantidade


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite plans without statistics; PostgreSQL's depend on them")
def test_each_exact_query_reads_its_index_in_date_order(api, notas):
    with CaptureQueriesContext(connection) as consultas:
        assert chaves(api.get("/api/buscar/", {"q": CLIENTE}))
    exatas = [c["sql"] for c in consultas if c["sql"].startswith("SELECT") and "_documento\" = " in c["sql"]
              and " LIKE " not in c["sql"]]  # fmt: skip
    assert len(exatas) == 5  # NF-e: emitente, destinatário; CT-e: emitente, destinatário, tomador

    with connection.cursor() as cursor:
        for sql in exatas:
            plano = " | ".join(linha[-1] for linha in cursor.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall())
            assert "USING INDEX" in plano and "TEMP B-TREE" not in plano, (sql, plano)
