"""The tax reform in the API: every IBS/CBS/IS figure equal to the XML's to the cent (list, detail, items, CT-e,
CT-e OS), NULL never shown as zero, finalidade, the filters, /totais/, statistics, dashboard and CSV splits."""

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from lxml import etree

from core.geracao.documentos import FUSO, gerar_cte, gerar_cte_os, gerar_nfe, gerar_resumo_nfe

pytestmark = pytest.mark.django_db

N = {"n": "http://www.portalfiscal.inf.br/nfe"}
C = {"c": "http://www.portalfiscal.inf.br/cte"}
EM_2027 = datetime(2027, 2, 1, 14, 0, tzinfo=FUSO)

TOTAL = "//n:total"
IBSCBS_TOT = f"{TOTAL}/n:IBSCBSTot"
CAMINHOS_NFE = {
    "valor_nf": f"{TOTAL}/n:ICMSTot/n:vNF",
    "valor_nf_tot": f"{TOTAL}/n:vNFTot",
    "valor_bc_ibs_cbs": f"{IBSCBS_TOT}/n:vBCIBSCBS",
    "valor_ibs": f"{IBSCBS_TOT}/n:gIBS/n:vIBS",
    "valor_ibs_uf": f"{IBSCBS_TOT}/n:gIBS/n:gIBSUF/n:vIBSUF",
    "valor_ibs_mun": f"{IBSCBS_TOT}/n:gIBS/n:gIBSMun/n:vIBSMun",
    "valor_cbs": f"{IBSCBS_TOT}/n:gCBS/n:vCBS",
    "valor_credito_presumido_ibs": f"{IBSCBS_TOT}/n:gIBS/n:vCredPres",
    "valor_credito_presumido_cbs": f"{IBSCBS_TOT}/n:gCBS/n:vCredPres",
    "valor_is": f"{TOTAL}/n:ISTot/n:vIS",
}
G = "n:imposto/n:IBSCBS/n:gIBSCBS"
CAMINHOS_ITEM = {
    "valor_item": "n:vItem",
    "valor_bc_ibs_cbs": f"{G}/n:vBC",
    "aliquota_ibs_uf": f"{G}/n:gIBSUF/n:pIBSUF",
    "valor_ibs_uf": f"{G}/n:gIBSUF/n:vIBSUF",
    "aliquota_ibs_mun": f"{G}/n:gIBSMun/n:pIBSMun",
    "valor_ibs_mun": f"{G}/n:gIBSMun/n:vIBSMun",
    "valor_ibs": f"{G}/n:vIBS",
    "aliquota_cbs": f"{G}/n:gCBS/n:pCBS",
    "valor_cbs": f"{G}/n:gCBS/n:vCBS",
    "valor_bc_is": "n:imposto/n:IS/n:vBCIS",
    "aliquota_is": "n:imposto/n:IS/n:pIS",
    "valor_is": "n:imposto/n:IS/n:vIS",
}
CODIGOS_ITEM = {
    "cst_ibs_cbs": "n:imposto/n:IBSCBS/n:CST",
    "classificacao_tributaria": "n:imposto/n:IBSCBS/n:cClassTrib",
    "cst_is": "n:imposto/n:IS/n:CSTIS",
    "classificacao_tributaria_is": "n:imposto/n:IS/n:cClassTribIS",
}
GC = "//c:infCte/c:imp/c:IBSCBS/c:gIBSCBS"
CAMINHOS_CTE = {
    "valor_bc_ibs_cbs": f"{GC}/c:vBC",
    "aliquota_ibs_uf": f"{GC}/c:gIBSUF/c:pIBSUF",
    "valor_ibs_uf": f"{GC}/c:gIBSUF/c:vIBSUF",
    "aliquota_ibs_mun": f"{GC}/c:gIBSMun/c:pIBSMun",
    "valor_ibs_mun": f"{GC}/c:gIBSMun/c:vIBSMun",
    "valor_ibs": f"{GC}/c:vIBS",
    "aliquota_cbs": f"{GC}/c:gCBS/c:pCBS",
    "valor_cbs": f"{GC}/c:gCBS/c:vCBS",
    "valor_total_dfe": "//c:infCte/c:imp/c:vTotDFe",
}
REFORMA_NFE = [campo for campo in CAMINHOS_NFE if campo != "valor_nf"]


def texto(no, caminho: str, ns=N) -> str:
    return no.xpath(f"string({caminho})", namespaces=ns)


def confere(mostrado: dict, no, caminhos: dict, ns=N) -> None:
    """Each figure shown equals the XML's: same number, and a money figure to the cent (two places)."""
    for campo, caminho in caminhos.items():
        no_xml = texto(no, caminho, ns)
        assert no_xml, f"o gerador não pôs {caminho}"
        assert Decimal(mostrado[campo]) == Decimal(no_xml), campo
        if not campo.startswith("aliquota"):
            assert mostrado[campo] == f"{Decimal(no_xml):.2f}", campo


def so(resposta) -> dict:
    assert resposta.status_code == 200, resposta.json()
    [documento] = resposta.json()["results"]
    return documento


def chaves(resposta) -> set[str]:
    assert resposta.status_code == 200, resposta.json()
    return {d["chave"] for d in resposta.json()["results"]}


# -- list and detail: the XML's figures ------------------------------------------------------------


def test_list_and_detail_show_every_reform_total_of_the_xml_to_the_cent(api, org, emissor, importar_docs):
    documento = gerar_nfe(certificado=emissor, itens=3, data_emissao=EM_2027, reforma=True, imposto_seletivo=True)
    importar_docs(org, documento)
    raiz = etree.fromstring(documento.xml)

    listada = so(api.get("/api/nfes/"))
    detalhe = api.get(f"/api/nfes/{documento.chave}/").json()

    for mostrado in (listada, detalhe):
        confere(mostrado, raiz, CAMINHOS_NFE)
        # From 2027 the taxes are charged on top: valor_total is vNFTot, valor_nf keeps vNF.
        assert mostrado["valor_total"] == mostrado["valor_nf_tot"] != mostrado["valor_nf"]
        assert (mostrado["finalidade"], mostrado["finalidade_nome"]) == (1, "Normal")
    assert "tributos_reforma" not in listada
    assert detalhe["tributos_reforma"]["IBSCBSTot"]["gCBS"]["vCBS"] == texto(raiz, CAMINHOS_NFE["valor_cbs"])
    assert detalhe["tributos_reforma"]["vNFTot"] == texto(raiz, CAMINHOS_NFE["valor_nf_tot"])


def test_the_items_show_ibscbs_is_and_vitem_of_the_xml(api, org, emissor, importar_docs):
    documento = gerar_nfe(certificado=emissor, itens=3, data_emissao=EM_2027, reforma=True, imposto_seletivo=True)
    importar_docs(org, documento)
    raiz = etree.fromstring(documento.xml)

    itens = api.get(f"/api/nfes/{documento.chave}/").json()["itens"]

    com_is, *sem_is = itens
    det = raiz.xpath("//n:det[@nItem='1']", namespaces=N)[0]
    confere(com_is, det, CAMINHOS_ITEM)
    assert {campo: com_is[campo] for campo in CODIGOS_ITEM} == {c: texto(det, p) for c, p in CODIGOS_ITEM.items()}
    assert com_is["tributos_reforma"]["IS"]["vIS"] == texto(det, CAMINHOS_ITEM["valor_is"])
    for item in sem_is:  # IS only on the first item: null, not zero
        det = raiz.xpath(f"//n:det[@nItem='{item['numero']}']", namespaces=N)[0]
        confere(item, det, {c: p for c, p in CAMINHOS_ITEM.items() if "IS/" not in p})
        assert (item["valor_is"], item["aliquota_is"], item["valor_bc_is"], item["cst_is"]) == (None, None, None, "")
        assert set(item["tributos_reforma"]) == {"IBSCBS"}


def test_an_nfe_without_the_reform_shows_nulls_never_zeros(api, org, emissor, importar_docs):
    documento = gerar_nfe(certificado=emissor, itens=2)
    importar_docs(org, documento)

    listada = so(api.get("/api/nfes/"))
    detalhe = api.get(f"/api/nfes/{documento.chave}/").json()

    assert [listada[campo] for campo in REFORMA_NFE] == [None] * len(REFORMA_NFE)
    assert listada["valor_total"] == listada["valor_nf"] != "0.00"
    assert detalhe["tributos_reforma"] == {}
    for item in detalhe["itens"]:
        assert [item[campo] for campo in CAMINHOS_ITEM] == [None] * len(CAMINHOS_ITEM)
        assert (item["cst_ibs_cbs"], item["tributos_reforma"]) == ("", {})


def test_a_summary_has_no_finalidade(api, org, importar_docs):
    importar_docs(org, gerar_resumo_nfe(emitente_cnpj="45723174000110", nome="INDUSTRIA", valor="10.00"))
    listada = so(api.get("/api/nfes/"))
    assert (listada["finalidade"], listada["finalidade_nome"], listada["valor_ibs"]) == (None, None, None)


@pytest.mark.parametrize("gerar", [gerar_cte, gerar_cte_os], ids=["cte", "cte_os"])
def test_a_cte_shows_ibscbs_and_vtotdfe_of_the_xml(api, org, transportadora, importar_docs, gerar):
    documento = gerar(certificado=transportadora, data_emissao=EM_2027, reforma=True)
    importar_docs(org, documento)
    raiz = etree.fromstring(documento.xml)

    listado = so(api.get("/api/ctes/"))
    detalhe = api.get(f"/api/ctes/{documento.chave}/").json()

    for mostrado in (listado, detalhe):
        confere(mostrado, raiz, CAMINHOS_CTE, C)
        assert mostrado["cst_ibs_cbs"] == texto(raiz, "//c:infCte/c:imp/c:IBSCBS/c:CST", C)
        assert mostrado["classificacao_tributaria"] == texto(raiz, "//c:infCte/c:imp/c:IBSCBS/c:cClassTrib", C)
    assert "tributos_reforma" not in listado
    assert detalhe["tributos_reforma"]["vTotDFe"] == texto(raiz, CAMINHOS_CTE["valor_total_dfe"], C)


def test_a_cte_without_the_reform_shows_nulls(api, org, transportadora, importar_docs):
    importar_docs(org, gerar_cte(certificado=transportadora))
    listado = so(api.get("/api/ctes/"))
    assert [listado[campo] for campo in CAMINHOS_CTE] == [None] * len(CAMINHOS_CTE)
    assert listado["cst_ibs_cbs"] == ""


# -- filters ---------------------------------------------------------------------------------------


@pytest.fixture
def mistura(org, emissor, importar_docs):
    """A 2027 sale with the reform, a 2026-layout sale without it, a return, a credit and a debit note."""
    venda = gerar_nfe(certificado=emissor, numero=1, data_emissao=EM_2027, reforma=True)
    docs = {
        "venda": venda,
        "antiga": gerar_nfe(certificado=emissor, numero=2, data_emissao=EM_2027),
        "devolucao": gerar_nfe(certificado=emissor, numero=3, data_emissao=EM_2027, finalidade=4,
                               referenciada=venda.chave, reforma=True),
        "credito": gerar_nfe(certificado=emissor, numero=4, data_emissao=EM_2027, finalidade=5,
                             referenciada=venda.chave, reforma=True),
        "debito": gerar_nfe(certificado=emissor, numero=5, data_emissao=EM_2027, finalidade=6,
                            referenciada=venda.chave, reforma=True),
    }  # fmt: skip
    importar_docs(org, *docs.values())
    return docs


def _totais_do_xml(documento) -> dict:
    raiz = etree.fromstring(documento.xml)
    return {campo: Decimal(texto(raiz, caminho) or "0") for campo, caminho in CAMINHOS_NFE.items()}


@pytest.mark.parametrize(
    "parametros, esperadas",
    [
        ({"finalidade": "5"}, {"credito"}),
        ({"finalidade": ["4", "5", "6"]}, {"devolucao", "credito", "debito"}),
        ({"finalidade": "1"}, {"venda", "antiga"}),
        ({"reforma": "true"}, {"venda", "devolucao", "credito", "debito"}),
        ({"reforma": "false"}, {"antiga"}),
        ({"reforma": "true", "finalidade": "1"}, {"venda"}),
    ],
)
def test_it_filters_by_finalidade_and_reform(api, mistura, parametros, esperadas):
    assert chaves(api.get("/api/nfes/", parametros)) == {mistura[nome].chave for nome in esperadas}


def test_ibs_and_cbs_ranges_leave_out_documents_without_the_group(api, mistura):
    valores = {d["chave"]: d for d in api.get("/api/nfes/").json()["results"]}
    venda = valores[mistura["venda"].chave]

    for campo in ("ibs", "cbs"):
        exato = {f"valor_{campo}_min": venda[f"valor_{campo}"], f"valor_{campo}_max": venda[f"valor_{campo}"]}
        assert mistura["venda"].chave in chaves(api.get("/api/nfes/", exato))
        todas = chaves(api.get("/api/nfes/", {f"valor_{campo}_min": "0"}))
        assert mistura["antiga"].chave not in todas and len(todas) == 4


def test_cte_reform_filters(api, org, transportadora, importar_docs):
    com = gerar_cte(certificado=transportadora, numero=1, data_emissao=EM_2027, reforma=True)
    sem = gerar_cte(certificado=transportadora, numero=2, data_emissao=EM_2027)
    importar_docs(org, com, sem)
    cbs = api.get(f"/api/ctes/{com.chave}/").json()["valor_cbs"]

    assert chaves(api.get("/api/ctes/", {"reforma": "true"})) == {com.chave}
    assert chaves(api.get("/api/ctes/", {"reforma": "false"})) == {sem.chave}
    assert chaves(api.get("/api/ctes/", {"valor_cbs_min": cbs, "valor_cbs_max": cbs})) == {com.chave}
    assert chaves(api.get("/api/ctes/", {"valor_ibs_max": "0"})) == set()


@pytest.mark.parametrize(
    "caminho, parametros, campo",
    [
        ("/api/nfes/", {"finalidade": "7"}, "finalidade"),
        ("/api/nfes/", {"finalidade": "credito"}, "finalidade"),
        ("/api/nfes/", {"reforma": "talvez"}, "reforma"),
        ("/api/nfes/", {"valor_ibs_min": "muito"}, "valor_ibs_min"),
        ("/api/nfes/totais/", {"valor_cbs_max": "1,5"}, "valor_cbs_max"),
        ("/api/ctes/", {"reforma": "2"}, "reforma"),
        ("/api/ctes/", {"valor_cbs_min": "x"}, "valor_cbs_min"),
    ],
)
def test_bad_reform_filters_answer_400_naming_the_field(api, caminho, parametros, campo):
    resposta = api.get(caminho, parametros)
    assert resposta.status_code == 400
    assert resposta.json()["erro"] == "Parâmetros inválidos." and campo in resposta.json()["detalhes"]


# -- totals, statistics, dashboard -------------------------------------------------------------------


def test_totals_split_by_finalidade_and_sum_the_reform(api, mistura):
    corpo = api.get("/api/nfes/totais/").json()
    xml = {nome: _totais_do_xml(documento) for nome, documento in mistura.items()}

    for campo in ("valor_nf", "valor_ibs", "valor_cbs"):
        assert Decimal(corpo[campo]) == sum(x[campo] for x in xml.values()), campo
    assert corpo["valor_is"] == "0.00"  # no ISTot anywhere: nothing to sum
    por_finalidade = {f["finalidade"]: f for f in corpo["por_finalidade"]}
    assert [f["finalidade"] for f in corpo["por_finalidade"]] == [1, 4, 5, 6]
    assert por_finalidade[1]["quantidade"] == 2
    assert (por_finalidade[5]["finalidade_nome"], por_finalidade[5]["quantidade"]) == ("Nota de crédito", 1)
    assert Decimal(por_finalidade[5]["valor_cbs"]) == xml["credito"]["valor_cbs"]
    assert Decimal(por_finalidade[1]["valor_total"]) == xml["venda"]["valor_nf_tot"] + xml["antiga"]["valor_nf"]
    assert sum(f["quantidade"] for f in corpo["por_finalidade"]) == corpo["quantidade"] == 5
    # The split honours the filters like the rest.
    assert [f["finalidade"] for f in api.get("/api/nfes/totais/", {"finalidade": "5"}).json()["por_finalidade"]] == [5]


def test_cte_totals_sum_ibs_cbs_and_vtotdfe(api, org, transportadora, importar_docs):
    com = gerar_cte(certificado=transportadora, numero=1, data_emissao=EM_2027, reforma=True)
    importar_docs(org, com, gerar_cte(certificado=transportadora, numero=2, data_emissao=EM_2027))
    raiz = etree.fromstring(com.xml)

    corpo = api.get("/api/ctes/totais/").json()

    for campo in ("valor_ibs", "valor_cbs", "valor_total_dfe"):
        assert corpo[campo] == texto(raiz, CAMINHOS_CTE[campo], C), campo
    assert "por_finalidade" not in corpo


def test_statistics_count_only_operations_and_split_the_rest_by_finalidade(api, mistura):
    xml = {nome: _totais_do_xml(documento) for nome, documento in mistura.items()}
    operacoes = ("venda", "antiga")

    corpo = api.get("/api/estatisticas/", {"inicio": "2027-02-01", "fim": "2027-02-01"}).json()

    [ponto] = corpo["series"]
    venda_total = xml["venda"]["valor_nf_tot"] + xml["antiga"]["valor_nf"]
    assert ponto["nfe"] == {
        "quantidade": 2,
        "valor": f"{venda_total:.2f}",
        "ibs": f"{sum(xml[n]['valor_ibs'] for n in operacoes):.2f}",
        "cbs": f"{sum(xml[n]['valor_cbs'] for n in operacoes):.2f}",
    }
    assert [e["quantidade"] for e in corpo["top_emitentes"]] == [2]
    assert [u["quantidade"] for u in corpo["por_uf"]["nfe"]] == [2]
    assert sum(s["quantidade"] for s in corpo["por_situacao"]["nfe"]) == 2
    credito = next(f for f in corpo["por_finalidade"]["nfe"] if f["finalidade"] == 5)
    assert credito == {
        "finalidade": 5, "finalidade_nome": "Nota de crédito", "quantidade": 1,
        "valor": f"{xml['credito']['valor_nf_tot']:.2f}", "ibs": f"{xml['credito']['valor_ibs']:.2f}",
        "cbs": f"{xml['credito']['valor_cbs']:.2f}",
    }  # fmt: skip
    assert [f["finalidade"] for f in corpo["por_finalidade"]["nfe"]] == [1, 4, 5, 6]


def test_the_dashboard_counts_operations_and_shows_the_months_split(api, org, emissor, importar_docs):
    hoje = timezone.localtime(timezone.now(), FUSO).replace(hour=12, minute=0, second=0, microsecond=0)
    venda = gerar_nfe(certificado=emissor, numero=1, data_emissao=hoje, reforma=True)
    credito = gerar_nfe(certificado=emissor, numero=2, data_emissao=hoje, reforma=True, finalidade=5,
                        referenciada=venda.chave)  # fmt: skip
    importar_docs(org, venda, credito)
    xml = {"venda": _totais_do_xml(venda), "credito": _totais_do_xml(credito)}

    mes = api.get("/api/dashboard/").json()["mes"]

    assert mes["nfe"]["quantidade"] == 1
    assert (mes["nfe"]["ibs"], mes["nfe"]["cbs"]) == (f"{xml['venda']['valor_ibs']:.2f}", f"{xml['venda']['valor_cbs']:.2f}")
    assert [(f["finalidade"], f["quantidade"], f["cbs"]) for f in mes["nfe_por_finalidade"]] == [
        (1, 1, f"{xml['venda']['valor_cbs']:.2f}"),
        (5, 1, f"{xml['credito']['valor_cbs']:.2f}"),
    ]


# -- CSV -------------------------------------------------------------------------------------------


def _csv(resposta) -> list[dict]:
    assert resposta.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(resposta.streaming_content).decode("utf-8"))))  # rfc4180: no BOM


def test_the_csv_has_the_reform_columns_and_empty_cells_for_null(api, mistura):
    linhas = {linha["chave"]: linha for linha in _csv(api.get("/api/nfes/exportar/", {"formato": "csv", "dialeto": "rfc4180"}))}
    venda, antiga = linhas[mistura["venda"].chave], linhas[mistura["antiga"].chave]
    xml = _totais_do_xml(mistura["venda"])

    for campo in ("valor_nf", "valor_nf_tot", "valor_ibs", "valor_cbs"):
        assert venda[campo] == f"{xml[campo]:.2f}", campo
    assert (venda["finalidade"], venda["finalidade_nome"], venda["valor_is"]) == ("1", "Normal", "")
    assert [antiga[c] for c in ("valor_nf_tot", "valor_ibs", "valor_cbs", "valor_is")] == ["", "", "", ""]
    assert linhas[mistura["credito"].chave]["finalidade_nome"] == "Nota de crédito"
    assert "tributos_reforma" not in venda


def test_the_cte_csv_has_ibs_cbs_and_vtotdfe(api, org, transportadora, importar_docs):
    com = gerar_cte(certificado=transportadora, numero=1, data_emissao=EM_2027, reforma=True)
    sem = gerar_cte(certificado=transportadora, numero=2, data_emissao=EM_2027)
    importar_docs(org, com, sem)
    raiz = etree.fromstring(com.xml)

    linhas = {linha["chave"]: linha for linha in _csv(api.get("/api/ctes/exportar/", {"dialeto": "rfc4180"}))}

    for campo in ("valor_ibs", "valor_cbs", "valor_total_dfe"):
        assert linhas[com.chave][campo] == texto(raiz, CAMINHOS_CTE[campo], C)
        assert linhas[sem.chave][campo] == ""


# -- queries and schema ----------------------------------------------------------------------------


def test_reform_documents_keep_the_list_and_detail_query_counts(api, org, emissor, importar_docs,
                                                                 django_assert_max_num_queries):  # fmt: skip
    importar_docs(org, gerar_nfe(certificado=emissor, numero=1, data_emissao=EM_2027, reforma=True))
    with django_assert_max_num_queries(6) as poucos:
        api.get("/api/nfes/")
    grandes = [gerar_nfe(certificado=emissor, numero=n, itens=20, data_emissao=EM_2027, reforma=True,
                         imposto_seletivo=True) for n in range(2, 12)]  # fmt: skip
    importar_docs(org, *grandes)
    with django_assert_max_num_queries(len(poucos.captured_queries)):
        assert len(api.get("/api/nfes/").json()["results"]) == 11
    with django_assert_max_num_queries(8):
        assert len(api.get(f"/api/nfes/{grandes[0].chave}/").json()["itens"]) == 20


def test_the_schema_types_the_reform_fields(api):
    from drf_spectacular.generators import SchemaGenerator

    esquemas = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    nfe, item, cte = esquemas["NFe"]["properties"], esquemas["ItemNFe"]["properties"], esquemas["CTe"]["properties"]
    for propriedades, campo in ((nfe, "valor_ibs"), (nfe, "valor_nf_tot"), (item, "aliquota_cbs"), (cte, "valor_total_dfe")):
        assert (propriedades[campo]["type"], propriedades[campo]["format"], propriedades[campo]["nullable"]) == (
            "string", "decimal", True
        ), campo
    assert nfe["finalidade_nome"]["nullable"] is True
    assert esquemas["FinalidadeEnum"]["enum"] == [1, 2, 3, 4, 5, 6]
    assert "tributos_reforma" in esquemas["NFeDetalhe"]["properties"]
    assert {"valor_ibs", "valor_cbs", "valor_is", "por_finalidade"} <= set(esquemas["TotaisNFe"]["properties"])
