"""NF-e and CT-e endpoints: list, detail, XML, totals, filters, pagination, auth and tenancy."""


import pytest

from core.geracao.documentos import gerar_cte, gerar_evento_nfe, gerar_nfe, gerar_resumo_nfe

from tests.api.datas import dia

pytestmark = pytest.mark.django_db

@pytest.fixture
def nfes(org, outra_org, emissor, importar_docs):
    """Five NF-e of `org` on consecutive days, one cancelled, plus one NF-e of `outra_org`."""
    documentos = [gerar_nfe(certificado=emissor, numero=100 + i, itens=2, data_emissao=dia(i)) for i in range(5)]
    importar_docs(org, *documentos)
    importar_docs(org, gerar_evento_nfe(certificado=emissor, chave=documentos[4].chave, tipo_evento="110111",
                                        detalhes={"nProt": "135260000000001", "xJust": "Cancelada pelo cliente"}))
    importar_docs(outra_org, gerar_nfe(certificado=emissor, numero=999, data_emissao=dia(2)))
    return documentos


def chaves(resposta) -> list[str]:
    return [d["chave"] for d in resposta.json()["results"]]


# -- list and detail -----------------------------------------------------------------------------


def test_it_lists_the_organizations_nfes_newest_first(api, nfes):
    resposta = api.get("/api/nfes/")
    assert resposta.status_code == 200
    assert chaves(resposta) == [d.chave for d in reversed(nfes)]
    primeiro = resposta.json()["results"][0]
    assert primeiro["situacao"] == "cancelada" and primeiro["valor_total"].count(".") == 1
    assert primeiro["links"]["xml"].endswith(f"/api/nfes/{nfes[4].chave}/xml/")


def test_it_shows_the_detail_with_items_and_events(api, nfes):
    resposta = api.get(f"/api/nfes/{nfes[4].chave}/")
    assert resposta.status_code == 200
    corpo = resposta.json()
    assert [i["numero"] for i in corpo["itens"]] == [1, 2]
    assert [(e["tipo_evento"], e["categoria"]) for e in corpo["eventos"]] == [("110111", "cancelamento")]
    assert corpo["eventos"][0]["detalhes"]["xJust"] == "Cancelada pelo cliente"


def test_it_returns_the_original_xml(api, nfes):
    resposta = api.get(f"/api/nfes/{nfes[0].chave}/xml/")
    assert resposta.status_code == 200
    assert resposta["Content-Type"] == "application/xml"
    assert resposta["Content-Disposition"] == f'attachment; filename="{nfes[0].chave}-procNFe.xml"'
    assert resposta.content == nfes[0].xml


def test_ctes_list_detail_and_xml(api, org, transportadora, importar_docs):
    cte = gerar_cte(certificado=transportadora, uf_inicio="PR", uf_fim="SC", tomador="0")
    importar_docs(org, cte)

    lista = api.get("/api/ctes/").json()["results"]
    detalhe = api.get(f"/api/ctes/{cte.chave}/").json()
    xml = api.get(f"/api/ctes/{cte.chave}/xml/")

    assert [c["chave"] for c in lista] == [cte.chave]
    assert (detalhe["uf_inicio"], detalhe["uf_fim"], detalhe["tomador_papel"], detalhe["eventos"]) == ("PR", "SC", "0", [])
    assert xml.content == cte.xml and f"{cte.chave}-procCTe.xml" in xml["Content-Disposition"]


# -- tenancy and auth ----------------------------------------------------------------------------


def test_another_organizations_document_is_404_never_403(api_outra, nfes):
    for caminho in ("", "xml/"):
        resposta = api_outra.get(f"/api/nfes/{nfes[0].chave}/{caminho}")
        assert resposta.status_code == 404
        assert resposta.json() == {"erro": "Não encontrado.", "detalhes": {}}
    assert nfes[0].chave not in chaves(api_outra.get("/api/nfes/"))
    assert api_outra.get("/api/nfes/totais/").json()["quantidade"] == 1


@pytest.mark.parametrize("caminho", ["/api/nfes/", "/api/ctes/", "/api/nfes/totais/", "/api/ctes/totais/"])
def test_it_requires_a_valid_token(client, caminho, db):
    sem = client.get(caminho)
    invalido = client.get(caminho, HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
    assert (sem.status_code, invalido.status_code) == (401, 401)
    assert set(sem.json()) == {"erro", "detalhes"}


def test_a_user_without_organization_is_refused(client, django_user_model, db):
    usuario = django_user_model.objects.create_user("solto@x.com")
    client.force_login(usuario)
    resposta = client.get("/api/nfes/")
    assert resposta.status_code == 403
    assert resposta.json()["erro"] == "Usuário não pertence a nenhuma organização."


def test_the_token_of_a_user_who_left_the_organization_is_refused(client, nova_org):
    from core.models import Membro

    Membro.objects.filter(usuario=nova_org.usuario).delete()
    resposta = client.get("/api/nfes/", HTTP_AUTHORIZATION=f"Token {nova_org.token}")
    assert resposta.status_code == 401
    assert resposta.json()["erro"] == "O usuário do token não pertence mais à organização do token."


# -- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "parametros, indices",
    [
        ({"data_inicio": "2026-10-02", "data_fim": "2026-10-03"}, [2, 1]),
        ({"data_inicio": "2026-10-03T00:00:00-03:00"}, [4, 3, 2]),
        ({"situacao": "cancelada"}, [4]),
        ({"situacao": ["autorizada", "cancelada"], "numero": "101"}, [1]),
        ({"emitente": "11.222.333/0001-81", "serie": "1"}, [4, 3, 2, 1, 0]),
        ({"completa": "true", "modelo": "55", "emitente_uf": "SP"}, [4, 3, 2, 1, 0]),
        ({"emitente": "99999999000191"}, []),
    ],
)
def test_it_filters_the_list(api, nfes, parametros, indices):
    resposta = api.get("/api/nfes/", parametros)
    assert resposta.status_code == 200, resposta.json()
    assert chaves(resposta) == [nfes[i].chave for i in indices]


def test_value_range_and_ordering(api, nfes):
    todos = api.get("/api/nfes/", {"ordering": "valor_total"}).json()["results"]
    valores = [float(d["valor_total"]) for d in todos]
    assert valores == sorted(valores)
    meio = todos[2]["valor_total"]
    filtrados = api.get("/api/nfes/", {"valor_min": meio, "valor_max": meio}).json()["results"]
    assert [d["chave"] for d in filtrados] == [todos[2]["chave"]]


@pytest.mark.parametrize(
    "parametros, campo",
    [
        ({"data_inicio": "ontem"}, "data_inicio"),
        ({"emitente": "123"}, "emitente"),
        ({"situacao": "rasgada"}, "situacao"),
        ({"valor_min": "muito"}, "valor_min"),
        ({"emitente_uf": "XX"}, "emitente_uf"),
        ({"completa": "talvez"}, "completa"),
        ({"numero": "-4"}, "numero"),
    ],
)
def test_invalid_filters_answer_400_naming_the_field(api, nfes, parametros, campo):
    resposta = api.get("/api/nfes/", parametros)
    assert resposta.status_code == 400
    corpo = resposta.json()
    assert corpo["erro"] == "Parâmetros inválidos." and campo in corpo["detalhes"]


def test_cte_specific_filters(api, org, transportadora, importar_docs):
    rodo = gerar_cte(certificado=transportadora, uf_inicio="SP", uf_fim="RJ", modal="01")
    aereo = gerar_cte(certificado=transportadora, uf_inicio="PR", uf_fim="RJ", modal="02")
    importar_docs(org, rodo, aereo)
    assert chaves(api.get("/api/ctes/", {"modal": "02"})) == [aereo.chave]
    assert chaves(api.get("/api/ctes/", {"uf_inicio": "SP", "uf_fim": "RJ"})) == [rodo.chave]
    tomador = api.get(f"/api/ctes/{rodo.chave}/").json()["tomador_documento"]
    assert rodo.chave in chaves(api.get("/api/ctes/", {"tomador": tomador}))
    assert api.get("/api/ctes/", {"modal": "09"}).status_code == 400


# -- totals --------------------------------------------------------------------------------------


def test_totals_by_situation_honour_the_filters(api, nfes):
    todas = api.get("/api/nfes/").json()["results"]
    soma = sum(float(d["valor_total"]) for d in todas)
    totais = api.get("/api/nfes/totais/").json()

    assert totais["quantidade"] == 5
    assert float(totais["valor_total"]) == pytest.approx(soma)
    assert totais["por_situacao"]["cancelada"]["quantidade"] == 1
    assert totais["por_situacao"]["autorizada"]["quantidade"] == 4
    assert api.get("/api/nfes/totais/", {"situacao": "cancelada"}).json()["quantidade"] == 1
    assert api.get("/api/nfes/totais/", {"data_inicio": "oops"}).status_code == 400


def test_cte_totals(api, org, transportadora, importar_docs):
    importar_docs(org, gerar_cte(certificado=transportadora), gerar_cte(certificado=transportadora))
    totais = api.get("/api/ctes/totais/").json()
    assert totais["quantidade"] == 2
    assert set(totais) == {
        "quantidade", "valor_prestacao", "valor_receber", "valor_carga", "valor_ibs", "valor_cbs", "valor_total_dfe",
        "por_situacao",
    }  # fmt: skip


# -- pagination ----------------------------------------------------------------------------------


def test_cursor_pagination_is_stable_while_documents_arrive(api, org, emissor, nfes, importar_docs):
    primeira = api.get("/api/nfes/", {"limit": 2}).json()
    importar_docs(org, gerar_nfe(certificado=emissor, numero=500, data_emissao=dia(10)))  # newest of all
    segunda = api.get(primeira["next"]).json()
    terceira = api.get(segunda["next"]).json()

    vistos = [d["chave"] for pagina in (primeira, segunda, terceira) for d in pagina["results"]]
    assert vistos == [d.chave for d in reversed(nfes)]
    assert terceira["next"] is None and segunda["previous"]


def test_offset_pagination_on_request(api, nfes):
    resposta = api.get("/api/nfes/", {"offset": 1, "limit": 2}).json()
    assert resposta["count"] == 5
    assert [d["chave"] for d in resposta["results"]] == [nfes[3].chave, nfes[2].chave]
    assert "offset=3" in resposta["next"]


def test_a_limit_above_500_is_refused_not_capped(api, nfes):
    resposta = api.get("/api/nfes/", {"limit": 100000})
    assert resposta.status_code == 400 and list(resposta.json()["detalhes"]) == ["limit"]


def test_a_summary_only_nfe_has_no_danfe_link(api, org, importar_docs):
    resumo = gerar_resumo_nfe(emitente_cnpj="45723174000110", nome="INDUSTRIA", valor="10.00")
    importar_docs(org, resumo)
    [documento] = api.get("/api/nfes/", {"completa": "false"}).json()["results"]
    assert documento["completa"] is False and "danfe" not in documento["links"]


# -- no N+1 --------------------------------------------------------------------------------------


def test_query_count_is_constant_as_the_page_grows(api, org, emissor, importar_docs, django_assert_max_num_queries):
    importar_docs(org, *[gerar_nfe(certificado=emissor, numero=n) for n in range(1, 3)])
    with django_assert_max_num_queries(6) as poucos:
        api.get("/api/nfes/")
    importar_docs(org, *[gerar_nfe(certificado=emissor, numero=n) for n in range(3, 31)])
    with django_assert_max_num_queries(len(poucos.captured_queries)):
        assert len(api.get("/api/nfes/").json()["results"]) == 30


def test_detail_query_count_does_not_depend_on_items(api, org, emissor, importar_docs, django_assert_max_num_queries):
    pequena, grande = gerar_nfe(certificado=emissor, numero=1, itens=1), gerar_nfe(certificado=emissor, numero=2, itens=60)
    importar_docs(org, pequena, grande)
    with django_assert_max_num_queries(8) as consultas:
        api.get(f"/api/nfes/{pequena.chave}/")
    with django_assert_max_num_queries(len(consultas.captured_queries)):
        assert len(api.get(f"/api/nfes/{grande.chave}/").json()["itens"]) == 60


def test_token_user_and_organization_load_in_one_query(api, nfes, django_assert_num_queries):
    from django.conf import settings
    from django.core.cache import caches

    from core.limite.contadores import conta_no_cache

    # Without Redis the rate limit counts in the database: one UPSERT more (core.limite.contadores.contar_no_banco).
    limite = 0 if conta_no_cache(caches[settings.RATE_LIMIT_CACHE]) else 1
    with django_assert_num_queries(2 + limite):  # token + user + membership + organization, then the aggregate
        assert api.get("/api/nfes/totais/").status_code == 200


def test_a_filter_value_with_a_percent_sign_is_a_400_not_a_crash(api, nfes):
    resposta = api.get("/api/nfes/", {"emitente": "100%", "data_inicio": "50%", "completa": "%s"})
    assert resposta.status_code == 400
    assert {"emitente", "data_inicio", "completa"} <= set(resposta.json()["detalhes"])
