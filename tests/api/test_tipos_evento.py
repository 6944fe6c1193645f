"""Event names in the API: the NF-e detail, the pending events and the catalogue of event types."""

import pytest
from lxml import etree

from core.documentos.tipos_evento import TIPOS_DE_EVENTO
from core.geracao.documentos import gerar_evento_nfe, gerar_nfe

pytestmark = pytest.mark.django_db


def protocolo(documento) -> str:
    return etree.fromstring(documento.xml).findtext(".//{*}retEvento/{*}infEvento/{*}nProt")


def eventos_da_reforma(emissor, chave: str) -> list:
    """An emitter's reform event, the 110001 that cancels it and a recipient's reform event, on `chave`."""
    pagamento = gerar_evento_nfe(certificado=emissor, chave=chave, tipo_evento="112110")
    cancelamento = gerar_evento_nfe(certificado=emissor, chave=chave, tipo_evento="110001",
                                    detalhes={"tpEventoAut": "112110", "nProtEvento": protocolo(pagamento)})
    aceite = gerar_evento_nfe(certificado=emissor, chave=chave, tipo_evento="211128")
    return [pagamento, cancelamento, aceite]


def test_the_nfe_detail_shows_each_events_name_meaning_and_whether_it_was_cancelled(api, org, emissor, importar_docs):
    nfe = gerar_nfe(certificado=emissor)
    importar_docs(org, nfe, *eventos_da_reforma(emissor, nfe.chave))

    eventos = {e["tipo_evento"]: e for e in api.get(f"/api/nfes/{nfe.chave}/").json()["eventos"]}

    pagamento = eventos["112110"]
    assert pagamento["nome"] == "Informação de efetivo pagamento integral para liberar crédito presumido do adquirente"
    assert (pagamento["categoria"], pagamento["cancelado"]) == ("reforma_tributaria", True)
    assert pagamento["significado"].startswith("O fornecedor informa que recebeu o pagamento integral")
    assert (eventos["110001"]["nome"], eventos["110001"]["categoria"]) == ("Cancelamento de Evento", "cancelamento_evento")
    assert eventos["211128"]["cancelado"] is False
    assert api.get(f"/api/nfes/{nfe.chave}/").json()["situacao"] == "autorizada"


def test_pending_events_show_their_names_and_unknown_ones_their_code(api, org, emissor, importar_docs):
    chave = gerar_nfe(certificado=emissor).chave
    futuro = gerar_evento_nfe(certificado=emissor, chave=chave, tipo_evento="999999", detalhes={"descEvento": "Futuro"})
    importar_docs(org, *eventos_da_reforma(emissor, chave), futuro)

    resultados = api.get("/api/eventos-pendentes/").json()["results"]

    nomes = {e["tipo_evento"]: (e["nome"], e["categoria"], e["cancelado"]) for e in resultados}
    assert nomes["999999"] == ("Evento 999999", "outro", False)
    assert nomes["112110"][1:] == ("reforma_tributaria", True)


def test_event_names_cost_no_query(api, org, emissor, importar_docs, django_assert_max_num_queries):
    nfe = gerar_nfe(certificado=emissor)
    importar_docs(org, nfe, gerar_evento_nfe(certificado=emissor, chave=nfe.chave, tipo_evento="210210"))
    with django_assert_max_num_queries(8) as consultas:
        api.get(f"/api/nfes/{nfe.chave}/")
    importar_docs(org, *eventos_da_reforma(emissor, nfe.chave))
    with django_assert_max_num_queries(len(consultas.captured_queries)):
        assert len(api.get(f"/api/nfes/{nfe.chave}/").json()["eventos"]) == 4


def test_the_catalogue_lists_every_event_type_with_its_schema(api):
    resposta = api.get("/api/integracoes/tipos-de-evento/")

    assert resposta.status_code == 200
    tipos = resposta.json()["tipos_de_evento"]
    assert len(tipos) == len(TIPOS_DE_EVENTO)
    cancelamento = next(t for t in tipos if (t["documento"], t["codigo"]) == ("nfe", "110001"))
    assert cancelamento["esquema"] == "e110001_v1.00.xsd" and "412130" in cancelamento["cancela"]
    assert cancelamento["autor"] == "autor_do_evento"


def test_the_catalogue_filters_by_document_type_and_needs_a_token(api):
    tipos = api.get("/api/integracoes/tipos-de-evento/?documento=cte").json()["tipos_de_evento"]
    assert {t["documento"] for t in tipos} == {"cte"} and any(t["codigo"] == "610110" for t in tipos)

    api.credentials()
    assert api.get("/api/integracoes/tipos-de-evento/").status_code in (401, 403)
