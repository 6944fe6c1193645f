"""The admin's search box of NF-e, CT-e and outros documentos is the API's search (core.consultas.busca):
CNPJ/CPF with or without mask, any part of the chave (with the spaces of a printed DANFE), número, name."""

from datetime import date, datetime, time

import pytest
from django.urls import reverse
from django.utils import timezone

from core.documentos.importacao import importar_bytes
from core.formatacao import formatar_chave, formatar_documento
from core.geracao.documentos import gerar_cte, gerar_evento_nfe, gerar_gtve, gerar_nfe
from core.models import Origem
from tests.api.conftest import cliente_com_token

pytestmark = pytest.mark.django_db

CLIENTE, CPF = "45723174000110", "52998224725"


def em(dia: int) -> datetime:
    return datetime.combine(date(2026, 3, dia), time(12), tzinfo=timezone.get_default_timezone())


def importar_docs(organizacao, *documentos):
    for documento in documentos:
        resultado = importar_bytes(organizacao=organizacao, nome="x.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
        assert all(r.ok for r in resultado), resultado


@pytest.fixture
def docs(org, outra_org, emissor, transportadora):
    docs = {
        "nfe_123": gerar_nfe(certificado=emissor, numero=123, data_emissao=em(1), destinatario_documento=CLIENTE,
                             destinatario_nome="MERCADO ZEPELIM LTDA"),
        "nfe_cpf": gerar_nfe(certificado=emissor, numero=4567, data_emissao=em(2), destinatario="cpf",
                             destinatario_documento=CPF, destinatario_nome="MARIA DA SILVA"),
        "cte_123": gerar_cte(certificado=transportadora, numero=123, data_emissao=em(3), tomador="4",
                             tomador_documento=CLIENTE),
    }  # fmt: skip
    importar_docs(org, *docs.values())
    # Same número, CNPJ and name in another organization: never found.
    importar_docs(outra_org, gerar_nfe(certificado=emissor, numero=123, data_emissao=em(4), destinatario_documento=CLIENTE,
                                       destinatario_nome="MERCADO ZEPELIM LTDA"))  # fmt: skip
    return {nome: doc.chave for nome, doc in docs.items()}


def no_admin(cliente, modelo: str, q: str) -> set[str]:
    resposta = cliente.get(reverse(f"admin:core_{modelo}_changelist"), {"q": q})
    assert resposta.status_code == 200
    return {documento.chave for documento in resposta.context["cl"].result_list}


def na_api(api, q: str) -> set[str]:
    resposta = api.get("/api/buscar/", {"q": q})
    assert resposta.status_code == 200, resposta.json()
    return {r["chave"] for r in resposta.json()["resultados"]}


def buscas(docs) -> dict[str, set[str]]:
    """Search text -> the chaves it must find in `org`."""
    cpf = docs["nfe_cpf"]
    return {
        "45.723.174/0001-10": {docs["nfe_123"], docs["cte_123"]},  # masked CNPJ: NF-e destinatário, CT-e tomador
        CLIENTE: {docs["nfe_123"], docs["cte_123"]},
        "529.982.247-25": {cpf},
        formatar_chave(cpf)[-19:]: {cpf},  # part of the chave as printed, spaces and all
        cpf[-12:]: {cpf},
        formatar_chave(docs["cte_123"]): {docs["cte_123"]},
        "123": {docs["nfe_123"], docs["cte_123"]},
        "zepelim": {docs["nfe_123"]},
        "Maria da Silva": {cpf},
        "ninguem com este nome": set(),
    }


def test_it_finds_by_masked_cnpj_part_of_chave_numero_and_name(membro, docs):
    for q, esperadas in buscas(docs).items():
        assert no_admin(membro, "nfe", q) | no_admin(membro, "cte", q) == esperadas, q


def test_the_admin_and_the_api_find_the_same_documents(membro, nova_org, docs):
    api = cliente_com_token(nova_org.usuario)
    for q in buscas(docs):
        assert no_admin(membro, "nfe", q) | no_admin(membro, "cte", q) == na_api(api, q), q


def test_a_text_that_cannot_be_searched_says_why_and_lists_nothing(membro, docs):
    resposta = membro.get(reverse("admin:core_nfe_changelist"), {"q": "ab"}, follow=True)
    assert list(resposta.context["cl"].result_list) == []
    assert "ao menos 3 caracteres" in resposta.content.decode()


def test_outros_documentos_are_searched_alike(membro, org, transportadora):
    gtve = gerar_gtve(certificado=transportadora)
    importar_docs(org, gtve)
    assert no_admin(membro, "outrodocumento", formatar_chave(gtve.chave)[5:19]) == {gtve.chave}
    assert no_admin(membro, "outrodocumento", formatar_documento(gtve.chave[6:20])) == {gtve.chave}  # the emitter
    assert no_admin(membro, "outrodocumento", "nada parecido") == set()


def test_events_are_found_by_the_chave_as_printed_and_the_masked_author(membro, org, emissor):
    nfe = gerar_nfe(certificado=emissor)
    importar_docs(org, nfe, gerar_evento_nfe(certificado=emissor, chave=nfe.chave, tipo_evento="110110"))
    url = reverse("admin:core_eventodocumento_changelist")
    for q in (formatar_chave(nfe.chave), nfe.chave, formatar_documento(nfe.chave[6:20])):
        assert [e.chave for e in membro.get(url, {"q": q}).context["cl"].result_list] == [nfe.chave], q
