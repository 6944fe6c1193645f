"""GET /api/eventos/ (the pull feed) and GET /api/integracoes/eventos/ (the catalogue)."""

import pytest

from core.eventos.catalogo import TIPOS
from core.eventos.emissao import disparar_webhook
from core.geracao.documentos import gerar_nfe

pytestmark = pytest.mark.django_db


@pytest.fixture
def sem_atraso(settings):
    settings.FISCAL_EVENTOS_ATRASO_SEGUNDOS = 0


def test_the_feed_pages_with_a_cursor_and_filters_by_type(api, org, emissor, importar_docs, sem_atraso):
    importar_docs(org, *[gerar_nfe(certificado=emissor, numero=n) for n in range(1, 6)])
    disparar_webhook("teste", {"mensagem": "oi"}, org)

    primeira = api.get("/api/eventos/", {"limit": 4}).json()
    segunda = api.get("/api/eventos/", {"limit": 4, "apos": primeira["cursor"]}).json()
    so_teste = api.get("/api/eventos/", {"tipo": "teste"}).json()

    assert [e["evento"] for e in primeira["eventos"]] == ["nfe_importada"] * 4 and primeira["tem_mais"]
    assert [e["evento"] for e in segunda["eventos"]] == ["nfe_importada", "teste"] and not segunda["tem_mais"]
    assert [e["dados"] for e in so_teste["eventos"]] == [{"mensagem": "oi"}]
    vazia = api.get("/api/eventos/", {"apos": segunda["cursor"]}).json()
    assert vazia == {"eventos": [], "cursor": segunda["cursor"], "tem_mais": False}


def test_the_feed_holds_back_the_newest_events(api, org, settings):
    settings.FISCAL_EVENTOS_ATRASO_SEGUNDOS = 60
    disparar_webhook("teste", {}, org)
    assert api.get("/api/eventos/").json()["eventos"] == []


def test_the_feed_refuses_bad_parameters_and_other_tenants(api, api_outra, org, sem_atraso):
    disparar_webhook("teste", {"segredo": "da org"}, org)
    assert api_outra.get("/api/eventos/").json()["eventos"] == []
    for parametros, campo in (({"apos": "123"}, "apos"), ({"tipo": "xyz"}, "tipo"), ({"limit": 0}, "limit")):
        resposta = api.get("/api/eventos/", parametros)
        assert resposta.status_code == 400 and campo in resposta.json()["detalhes"]


def test_the_catalogue_lists_every_event_with_an_example(api):
    catalogo = api.get("/api/integracoes/eventos/").json()["eventos"]
    assert [e["evento"] for e in catalogo] == list(TIPOS)
    assert {"nfe_importada", "cte_importado", "documento_importado", "consulta_concluida", "documento_atualizado",
            "erro_importacao", "certificado_vencendo", "manifestacao_pendente", "webhook_desativado", "teste"} == set(TIPOS)
    assert all(e["descricao"] and e["exemplo"] for e in catalogo)
