"""Bulk actions of the NF-e and CT-e lists: the XMLs as a ZIP (bounded), the API export's CSV, and
"Manifestar" through its intermediate page, against the TLS SEFAZ simulator."""

import csv
import io
import zipfile

import pytest
from django.test import Client
from django.urls import reverse

from api.views.documentos import CTeViewSet, NFeViewSet
from core.admin import acoes_documentos
from core.certificados import cadastrar_certificado
from core.documentos.importacao import importar_bytes
from core.geracao.documentos import gerar_cte, gerar_nfe
from core.models import CTe, NFe, Organizacao, Origem
from core.sefaz.distribuicao import consultar_certificado
from core.tenancy import escopo
from tests.admin.test_pagina_documento import DESTINATARIO, SENHA

pytestmark = pytest.mark.django_db


def importar(organizacao, *documentos):
    for documento in documentos:
        [resultado] = importar_bytes(organizacao=organizacao, nome="d.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
        assert resultado.ok, resultado.mensagem


def acao(cliente, modelo, nome, documentos, follow=False, **campos):
    dados = {"action": nome, "_selected_action": [d.pk for d in documentos], "index": "0", "select_across": "0"}
    return cliente.post(reverse(f"admin:core_{modelo}_changelist"), {**dados, **campos}, follow=follow)


def corpo(resposta) -> bytes:
    return b"".join(resposta.streaming_content)


def mensagens(resposta) -> list[str]:
    return [str(m) for m in resposta.context["messages"]]


@pytest.fixture
def cliente(nova_org):
    cliente = Client()
    cliente.force_login(nova_org.usuario)
    return cliente


@pytest.fixture
def nfes(org, outra_org, emissor):
    importar(org, *(gerar_nfe(certificado=emissor, numero=n) for n in (1, 2, 3)))
    importar(outra_org, gerar_nfe(certificado=emissor, numero=9))
    return list(escopo(NFe, org).order_by("numero")), escopo(NFe, outra_org).get()


def test_the_zip_has_the_selected_xmls_named_by_chave_and_nothing_of_another_organization(cliente, nfes):
    nossas, deles = nfes

    resposta = acao(cliente, "nfe", "baixar_xmls_zip", [nossas[0], nossas[2], deles])

    assert resposta["Content-Type"] == "application/zip" and "attachment;" in resposta["Content-Disposition"]
    arquivo = zipfile.ZipFile(io.BytesIO(corpo(resposta)))
    assert sorted(arquivo.namelist()) == sorted(f"{n.chave}-procNFe.xml" for n in (nossas[0], nossas[2]))
    assert arquivo.read(f"{nossas[0].chave}-procNFe.xml") == nossas[0].arquivo.bytes_originais()


def test_the_zip_of_ctes(cliente, org, transportadora):
    importar(org, gerar_cte(certificado=transportadora))
    cte = escopo(CTe, org).get()

    arquivo = zipfile.ZipFile(io.BytesIO(corpo(acao(cliente, "cte", "baixar_xmls_zip", [cte]))))

    assert arquivo.read(f"{cte.chave}-procCTe.xml") == cte.arquivo.bytes_originais()


def test_the_zip_is_refused_above_the_limit(cliente, nfes, monkeypatch):
    monkeypatch.setattr(acoes_documentos, "MAX_XMLS_NO_ZIP", 2)

    resposta = acao(cliente, "nfe", "baixar_xmls_zip", nfes[0], follow=True)

    [erro] = mensagens(resposta)
    assert "3 documentos selecionados: o ZIP leva no máximo 2" in erro
    assert resposta.status_code == 200 and not resposta.streaming


def test_the_csv_is_the_api_exports(cliente, nfes, org, transportadora):
    nossas, deles = nfes

    resposta = acao(cliente, "nfe", "exportar_csv", [nossas[1], deles])

    texto = corpo(resposta).decode("utf-8")
    assert texto.startswith("\ufeff") and resposta["Content-Type"].startswith("text/csv")
    linhas = list(csv.reader(io.StringIO(texto[1:]), delimiter=";"))
    assert linhas[0] == [c for c in NFeViewSet.serializer_class.Meta.fields if c != "links"]
    assert [linha[linhas[0].index("chave")] for linha in linhas[1:]] == [nossas[1].chave]
    assert "finalidade_nome" in linhas[0] and "," in linhas[1][linhas[0].index("valor_total")]  # decimal comma

    importar(org, gerar_cte(certificado=transportadora))
    linhas = corpo(acao(cliente, "cte", "exportar_csv", [escopo(CTe, org).get()])).decode("utf-8").splitlines()
    assert linhas[0].lstrip("\ufeff").split(";") == [c for c in CTeViewSet.serializer_class.Meta.fields if c != "links"]


# --- Manifestar ---------------------------------------------------------------------------------------


@pytest.fixture
def certificado(org, a1_destinatario):
    return cadastrar_certificado(org, a1_destinatario.pfx(SENHA.encode()), SENHA, uf="41", servicos=["nfe"])


@pytest.fixture
def da_sefaz(sim, org, certificado, emissor):
    """Two NF-e SEFAZ authorized for the recipient, captured."""
    for numero in (11, 12):
        sim.publicar_para_destinatario(DESTINATARIO, gerar_nfe(certificado=emissor, numero=numero,
                                                               destinatario_documento=DESTINATARIO).xml)  # fmt: skip
    consultar_certificado(certificado, origem="agendada", servicos=["nfe"])
    return list(escopo(NFe, org).order_by("numero"))


def test_manifestar_asks_the_type_on_an_intermediate_page_then_registers_each(cliente, sim, org, da_sefaz):
    pagina = acao(cliente, "nfe", "manifestar_selecionadas", da_sefaz)

    assert pagina.status_code == 200 and pagina.templates[0].name == "admin/core/nfe/manifestar_selecionadas.html"
    html = pagina.content.decode()
    assert all(n.chave in html for n in da_sefaz) and "Operação não realizada" in html
    assert sim.eventos_registrados == []

    resposta = acao(cliente, "nfe", "manifestar_selecionadas", da_sefaz, confirmar="sim", tipo="confirmacao", follow=True)

    assert sorted((e.chave, e.tipo_evento) for e in sim.eventos_registrados) == sorted((n.chave, "210200") for n in da_sefaz)
    assert len([m for m in mensagens(resposta) if "Confirmação da operação registrada na SEFAZ" in m]) == 2
    assert set(escopo(NFe, org).values_list("manifestacao", flat=True)) == {"confirmacao"}


def test_manifestar_tells_a_missing_justification_and_sends_nothing(cliente, sim, da_sefaz):
    resposta = acao(cliente, "nfe", "manifestar_selecionadas", da_sefaz, confirmar="sim", tipo="nao_realizada", follow=True)

    [erro] = mensagens(resposta)
    assert "Manifestação não enviada" in erro and "justificativa" in erro
    assert sim.eventos_registrados == [] and [c.tipo for c in sim.chamadas] == ["distNSU"]  # the capture's only


def test_manifestar_is_bounded_by_one_envevento(cliente, nfes, monkeypatch):
    monkeypatch.setattr(acoes_documentos, "MAX_POR_LOTE", 2)

    resposta = acao(cliente, "nfe", "manifestar_selecionadas", nfes[0], follow=True)

    assert "3 NF-e selecionadas: manifeste no máximo 2 de cada vez." in mensagens(resposta)


def test_an_inactive_organization_has_no_bulk_actions(cliente, sim, org, da_sefaz):
    Organizacao.objects.filter(pk=org.pk).update(ativa=False)

    lista = cliente.get(reverse("admin:core_nfe_changelist"))
    assert "manifestar_selecionadas" not in lista.content.decode()

    acao(cliente, "nfe", "manifestar_selecionadas", da_sefaz, confirmar="sim", tipo="ciencia")
    assert sim.eventos_registrados == []
