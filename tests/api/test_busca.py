"""GET /api/buscar/: chave, part of a chave, número, CNPJ/CPF, name; ranking, validation, auth, tenancy, queries."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from lxml import etree

from core.documentos.chave import CODIGO_POR_UF, montar_chave
from core.geracao.documentos import gerar_cte, gerar_nfe, gerar_resumo_nfe
from core.models import CTe
from core.tenancy import escopo

pytestmark = pytest.mark.django_db

MAXIMO_DE_CONSULTAS = 6  # token + membership + exact and partial, for NF-e and CT-e
CLIENTE, CPF = "45723174000110", "52998224725"


def em(dia: int, hora: int = 12) -> datetime:
    return datetime.combine(date(2026, 3, dia), time(hora), tzinfo=timezone.get_default_timezone())


def resumo(numero: int, quando: datetime, codigo: int, cnpj: str = "19131243000197"):
    chave = montar_chave(CODIGO_POR_UF["SP"], quando.strftime("%y%m"), cnpj, "55", 1, numero, "1", codigo)
    return gerar_resumo_nfe(chave=chave, emitente_cnpj=cnpj, nome="FORNECEDOR RESUMO LTDA", valor="10.00",
                            data_emissao=quando)  # fmt: skip


def valor_nfe(documento) -> str:
    return etree.fromstring(documento.xml).findtext(".//{http://www.portalfiscal.inf.br/nfe}vNF")


def chaves(resposta) -> list[str]:
    assert resposta.status_code == 200, resposta.json()
    return [r["chave"] for r in resposta.json()["resultados"]]


@pytest.fixture
def docs(org, outra_org, emissor, transportadora, importar_docs):
    """Documents of `org` on 2026-03-01..04 (the newest last), and look-alikes in `outra_org`."""
    docs = {
        "nfe_123": gerar_nfe(certificado=emissor, numero=123, data_emissao=em(1), destinatario_documento=CLIENTE,
                             destinatario_nome="MERCADO ZEPELIM LTDA"),
        "nfe_cpf": gerar_nfe(certificado=emissor, numero=4567, data_emissao=em(2), destinatario="cpf",
                             destinatario_documento=CPF, destinatario_nome="MARIA DA SILVA"),
        "cte_123": gerar_cte(certificado=transportadora, numero=123, data_emissao=em(3), tomador="4",
                             tomador_documento=CLIENTE, valor_prestacao=Decimal("321.00")),
        "nfe_654321": resumo(654321, em(1), 11111111),
        "parte_654321": resumo(77, em(4), 65432199),  # "654321" inside its chave, and newer
    }  # fmt: skip
    importar_docs(org, *docs.values())
    da_outra = gerar_nfe(certificado=emissor, numero=123, data_emissao=em(4), destinatario_documento=CLIENTE,
                         destinatario_nome="MERCADO ZEPELIM LTDA")  # fmt: skip
    importar_docs(outra_org, da_outra)
    return docs


def test_it_finds_a_document_by_its_whole_chave_with_every_field(api, docs):
    documento = docs["nfe_123"]
    resposta = api.get("/api/buscar/", {"q": documento.chave})

    assert resposta.json()["resultados"] == [
        {
            "tipo": "nfe",
            "chave": documento.chave,
            "numero": 123,
            "serie": 1,
            "data_emissao": "2026-03-01T12:00:00-03:00",
            "emitente_nome": "DISTRIBUIDORA AURORA LTDA",
            "emitente_documento": "11222333000181",
            "valor": valor_nfe(documento),
            "situacao": "autorizada",
            "link": f"http://testserver/api/nfes/{documento.chave}/",
        }
    ]


def test_a_chave_may_come_with_spaces(api, docs):
    chave = docs["cte_123"].chave
    espacada = " ".join(chave[i : i + 4] for i in range(0, 44, 4))
    resultados = api.get("/api/buscar/", {"q": espacada}).json()["resultados"]
    assert [(r["tipo"], r["chave"], r["valor"]) for r in resultados] == [("cte", chave, "321.00")]
    assert resultados[0]["link"] == f"http://testserver/api/ctes/{chave}/"


def test_it_finds_nfe_and_cte_by_numero_newest_first(api, docs):
    assert chaves(api.get("/api/buscar/", {"q": "123"})) == [docs["cte_123"].chave, docs["nfe_123"].chave]


@pytest.mark.parametrize("q", ["45.723.174/0001-10", "45723174000110"])
def test_it_finds_by_cnpj_with_or_without_mask(api, docs, q):
    # The customer is the NF-e's destinatário and the CT-e's tomador.
    assert chaves(api.get("/api/buscar/", {"q": q})) == [docs["cte_123"].chave, docs["nfe_123"].chave]


def test_it_finds_by_cpf_and_by_emitter(api, docs):
    assert chaves(api.get("/api/buscar/", {"q": "529.982.247-25"})) == [docs["nfe_cpf"].chave]
    assert chaves(api.get("/api/buscar/", {"q": "11.222.333/0001-81"})) == [
        docs["nfe_cpf"].chave,
        docs["nfe_123"].chave,
    ]


def test_it_finds_by_part_of_a_chave(api, docs):
    chave = docs["nfe_cpf"].chave
    assert chaves(api.get("/api/buscar/", {"q": chave[:34]})) == [chave]  # up to the número
    assert chaves(api.get("/api/buscar/", {"q": chave[-12:]})) == [chave]


def test_exact_numero_ranks_above_a_newer_partial_chave(api, docs):
    assert chaves(api.get("/api/buscar/", {"q": "654321"})) == [docs["nfe_654321"].chave, docs["parte_654321"].chave]


def test_it_finds_by_name_of_emitter_recipient_or_tomador(api, docs, org):
    tomador = escopo(CTe, org).get(chave=docs["cte_123"].chave).tomador_nome

    assert chaves(api.get("/api/buscar/", {"q": "aurora"})) == [docs["nfe_cpf"].chave, docs["nfe_123"].chave]
    assert chaves(api.get("/api/buscar/", {"q": "zepelim"})) == [docs["nfe_123"].chave]
    assert chaves(api.get("/api/buscar/", {"q": "Rapido Sul"})) == [docs["cte_123"].chave]
    assert docs["cte_123"].chave in chaves(api.get("/api/buscar/", {"q": tomador.lower()}))
    assert chaves(api.get("/api/buscar/", {"q": "ninguem com este nome"})) == []


def test_limite_cuts_the_ranked_list(api, docs):
    assert chaves(api.get("/api/buscar/", {"q": "aurora", "limite": 1})) == [docs["nfe_cpf"].chave]
    assert chaves(api.get("/api/buscar/", {"q": "654321", "limite": 1})) == [docs["nfe_654321"].chave]


@pytest.mark.parametrize(
    "parametros, campo",
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "  "}, "q"),
        ({"q": "ab"}, "q"),
        ({"q": "0"}, "q"),
        ({"q": "1" * 45}, "q"),
        ({"q": "x" * 101}, "q"),
        ({"q": "aurora", "limite": "0"}, "limite"),
        ({"q": "aurora", "limite": "101"}, "limite"),
        ({"q": "aurora", "limite": "muitos"}, "limite"),
    ],
)
def test_invalid_parameters_answer_400_naming_the_field(api, parametros, campo):
    resposta = api.get("/api/buscar/", parametros)
    assert resposta.status_code == 400
    corpo = resposta.json()
    assert corpo["erro"] == "Parâmetros inválidos." and list(corpo["detalhes"]) == [campo]


def test_it_requires_a_token(client, db):
    resposta = client.get("/api/buscar/", {"q": "aurora"})
    assert resposta.status_code == 401
    assert set(resposta.json()) == {"erro", "detalhes"}


def test_it_never_finds_another_organizations_documents(api, api_outra, docs):
    da_outra = chaves(api_outra.get("/api/buscar/", {"q": "123"}))

    assert len(da_outra) == 1 and da_outra[0] not in {d.chave for d in docs.values()}
    assert da_outra[0] not in chaves(api.get("/api/buscar/", {"q": "zepelim"}))
    for documento in docs.values():
        assert chaves(api_outra.get("/api/buscar/", {"q": documento.chave})) == []


@pytest.mark.parametrize("quantidade", [2, 20])
def test_it_runs_a_fixed_number_of_queries(api, org, emissor, transportadora, importar_docs,
                                           django_assert_max_num_queries, quantidade):  # fmt: skip
    dias = [em(1) + timedelta(hours=n) for n in range(quantidade)]
    importar_docs(org, *[resumo(n + 1, dia, 12345600 + n) for n, dia in enumerate(dias)])
    importar_docs(org, *[gerar_cte(certificado=transportadora, numero=123456, data_emissao=dia) for dia in dias])

    with django_assert_max_num_queries(MAXIMO_DE_CONSULTAS):
        resultados = api.get("/api/buscar/", {"q": "123456", "limite": 100}).json()["resultados"]
    assert len(resultados) == 2 * quantidade
    assert {r["tipo"] for r in resultados[:quantidade]} == {"cte"}  # exact número first, then partial chaves
