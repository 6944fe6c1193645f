"""GET /api/nfes/{chave}/danfe/ and /api/ctes/{chave}/dacte/: PDFs rendered from the original XML."""

import re
import zlib
from datetime import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from lxml import etree

from core.documentos import pdf
from core.documentos.pdf import (
    ErroPDF,
    renderizar_dacte,
    renderizar_danfe,
    texto_imprimivel,
)
from core.geracao.documentos import (
    FUSO,
    NS_CTE,
    gerar_cte,
    gerar_cte_os,
    gerar_evento_nfe,
    gerar_nfe,
    gerar_resumo_nfe,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def cache_vazio():
    cache.clear()
    yield
    cache.clear()


def contar_chamadas(monkeypatch, nome: str) -> list:
    """Wrap the renderer `nome` of core.documentos.pdf, recording each call."""
    chamadas = []
    original = getattr(pdf, nome)

    def contando(xml, **kwargs):
        chamadas.append(kwargs)
        return original(xml, **kwargs)

    monkeypatch.setattr(pdf, nome, contando)
    return chamadas


def assert_pdf(resposta, nome: str):
    assert resposta.status_code == 200, resposta.content[:300]
    assert resposta["Content-Type"] == "application/pdf"
    assert resposta["Content-Disposition"] == f'inline; filename="{nome}"'
    assert resposta.content.startswith(b"%PDF-") and resposta.content.rstrip().endswith(b"%%EOF")


def textos_do_pdf(pdf: bytes) -> list[str]:
    """Every string the PDF draws: fpdf2 writes each cell as one `(...) Tj` in a Flate content stream.

    fpdf2 frames a stream as "stream", newline, the data, newline, "endstream". The data may end in a
    carriage return byte, which an optional one before the newline would cut off: the stream then failed to
    inflate and the PDF read as empty (a flake in about 1 run in 256).
    """
    textos = []
    for fluxo in re.findall(rb"stream\n(.*?)\nendstream", pdf, re.S):
        try:
            conteudo = zlib.decompress(fluxo)
        except zlib.error:
            continue
        for texto in re.findall(rb"\(((?:[^()\\]|\\.)*)\) ?Tj", conteudo):
            textos.append(re.sub(rb"\\(.)", rb"\1", texto).decode("latin-1"))
    return textos


def reais(valor: str) -> str:
    """An XML amount as the PDFs print it: 8059.26 -> 8.059,26."""
    return f"{Decimal(valor):,.2f}".translate(str.maketrans(",.", ".,"))


def no_xml(xml: bytes, caminho: str) -> str:
    """The text at `caminho` (local names joined by '/') inside the CT-e's infCte."""
    ns = "{" + NS_CTE + "}"
    partes = "/".join(ns + parte for parte in caminho.split("/"))
    return etree.fromstring(xml).find(f".//{ns}infCte/{partes}").text


# -- rendering -------------------------------------------------------------------------------------


def test_it_renders_the_danfe_of_an_nfe(api, org, emissor, importar_docs):
    nfe = gerar_nfe(certificado=emissor, itens=3)
    importar_docs(org, nfe)

    assert_pdf(api.get(f"/api/nfes/{nfe.chave}/danfe/"), f"{nfe.chave}-danfe.pdf")


def test_it_renders_the_danfce_of_an_nfce(api, org, emissor, importar_docs, monkeypatch):
    nfce = gerar_nfe(certificado=emissor, modelo="65")
    importar_docs(org, nfce)
    usados = []
    from brazilfiscalreport.danfce import Danfce

    monkeypatch.setattr("brazilfiscalreport.danfce.Danfce", lambda **kw: usados.append(1) or Danfce(**kw))

    assert_pdf(api.get(f"/api/nfes/{nfce.chave}/danfe/"), f"{nfce.chave}-danfe.pdf")
    assert usados == [1]  # the NFC-e receipt layout, not the A4 DANFE


def test_it_renders_the_dacte_of_a_cte(api, org, transportadora, importar_docs):
    cte = gerar_cte(certificado=transportadora, tomador="4")
    importar_docs(org, cte)

    assert_pdf(api.get(f"/api/ctes/{cte.chave}/dacte/"), f"{cte.chave}-dacte.pdf")


def test_it_renders_the_dacte_os_of_a_cte_os(api, org, transportadora, importar_docs):
    cte_os = gerar_cte_os(certificado=transportadora, valor_prestacao=Decimal("8059.26"))
    importar_docs(org, cte_os)

    resposta = api.get(f"/api/ctes/{cte_os.chave}/dacte/")

    assert_pdf(resposta, f"{cte_os.chave}-dacte.pdf")
    textos = textos_do_pdf(resposta.content)
    assert "DACTE OS" in textos
    assert "TRANSPORTES RAPIDO SUL LTDA" in textos
    assert " ".join(cte_os.chave[i : i + 4] for i in range(0, 44, 4)) in textos
    assert "8.059,26" in textos  # vTPrest
    assert no_xml(cte_os.xml, "toma/xNome") in textos
    assert not any("IBS" in texto for texto in textos)  # no reform group, no reform block


def test_the_dacte_os_shows_ibs_and_cbs_when_the_cte_os_has_them(transportadora):
    cte_os = gerar_cte_os(certificado=transportadora, reforma=True)

    textos = textos_do_pdf(renderizar_dacte(cte_os.xml))

    assert "IBS E CBS (REFORMA TRIBUTÁRIA)" in textos
    for caminho in ("gIBSUF/vIBSUF", "vIBS", "gCBS/vCBS"):
        assert reais(no_xml(cte_os.xml, f"imp/IBSCBS/gIBSCBS/{caminho}")) in textos
    assert reais(no_xml(cte_os.xml, "imp/vTotDFe")) in textos


def test_the_dacte_os_is_marked_when_cancelled_or_without_fiscal_value(transportadora):
    autorizado = gerar_cte_os(certificado=transportadora)
    homologacao = gerar_cte_os(certificado=transportadora, ambiente=2)

    assert "CANCELADA" in textos_do_pdf(renderizar_dacte(autorizado.xml, cancelada=True))
    assert "SEM VALOR FISCAL" in textos_do_pdf(renderizar_dacte(homologacao.xml))
    sem_marca = textos_do_pdf(renderizar_dacte(autorizado.xml))
    assert "CANCELADA" not in sem_marca and "SEM VALOR FISCAL" not in sem_marca


def test_the_dacte_shows_ibs_and_cbs_when_the_cte_has_them(transportadora):
    comum = gerar_cte(certificado=transportadora)
    reforma = gerar_cte(certificado=transportadora, reforma=True)

    textos = textos_do_pdf(renderizar_dacte(reforma.xml))

    assert "IBS E CBS" in textos and "IBS E CBS" not in textos_do_pdf(renderizar_dacte(comum.xml))
    for caminho in ("gIBSUF/vIBSUF", "gIBSMun/vIBSMun", "gCBS/vCBS"):
        assert reais(no_xml(reforma.xml, f"imp/IBSCBS/gIBSCBS/{caminho}")) in textos


def test_the_danfe_of_a_reform_nfe_uses_the_layout_that_prints_ibs_cbs_and_is(emissor):
    # Before 2026-12-01 the library's AUTO layout is MOC 7.0, which has no place for the reform taxes.
    novembro = datetime(2026, 11, 20, 10, tzinfo=FUSO)
    comum = gerar_nfe(certificado=emissor, data_emissao=novembro)
    reforma = gerar_nfe(certificado=emissor, data_emissao=novembro, reforma=True, imposto_seletivo=True)

    textos = textos_do_pdf(renderizar_danfe(reforma.xml))

    assert "TOTAL DO IBS / CBS / IS" in textos
    assert "TOTAL DO IBS / CBS / IS" not in textos_do_pdf(renderizar_danfe(comum.xml))
    ns = "{http://www.portalfiscal.inf.br/nfe}"
    total = etree.fromstring(reforma.xml).find(f".//{ns}total")
    for caminho in (f"{ns}IBSCBSTot/{ns}gCBS/{ns}vCBS", f"{ns}ISTot/{ns}vIS"):
        assert reais(total.find(caminho).text) in textos


def test_a_cancelled_nfe_is_rendered_with_the_watermark(api, org, emissor, importar_docs, monkeypatch):
    nfe = gerar_nfe(certificado=emissor)
    importar_docs(org, nfe)
    chamadas = contar_chamadas(monkeypatch, "renderizar_danfe")
    assert_pdf(api.get(f"/api/nfes/{nfe.chave}/danfe/"), f"{nfe.chave}-danfe.pdf")

    importar_docs(org, gerar_evento_nfe(certificado=emissor, chave=nfe.chave, tipo_evento="110111"))
    assert_pdf(api.get(f"/api/nfes/{nfe.chave}/danfe/"), f"{nfe.chave}-danfe.pdf")

    assert chamadas == [{"cancelada": False}, {"cancelada": True}]  # not the cached, unmarked one


# -- refusals --------------------------------------------------------------------------------------


def test_a_summary_only_nfe_answers_409(api, org, importar_docs):
    resumo = gerar_resumo_nfe()
    importar_docs(org, resumo)

    resposta = api.get(f"/api/nfes/{resumo.chave}/danfe/")

    assert resposta.status_code == 409
    assert resposta.json() == {
        "erro": f"A NF-e {resumo.chave} só tem o resumo (resNFe); o DANFE precisa do XML completo. "
        "Importe o XML da nota (nfeProc) para gerar o DANFE.",
        "detalhes": {},
    }


def test_another_organizations_document_is_404(api_outra, org, emissor, transportadora, importar_docs):
    nfe, cte = gerar_nfe(certificado=emissor), gerar_cte(certificado=transportadora)
    importar_docs(org, nfe, cte)

    for caminho in (f"/api/nfes/{nfe.chave}/danfe/", f"/api/ctes/{cte.chave}/dacte/"):
        resposta = api_outra.get(caminho)
        assert resposta.status_code == 404
        assert resposta.json() == {"erro": "Não encontrado.", "detalhes": {}}


def test_a_render_failure_answers_422_with_the_reason(api, org, transportadora, importar_docs):
    # tpServ 9 (GTV) is valid in the schema but missing from the library's table.
    cte = gerar_cte(certificado=transportadora, tipo_servico="9")
    importar_docs(org, cte)

    resposta = api.get(f"/api/ctes/{cte.chave}/dacte/")

    assert resposta.status_code == 422
    assert resposta.json() == {
        "erro": "Não foi possível gerar o DACTE: o documento tem um código que o gerador de PDF não conhece ('9').",
        "detalhes": {},
    }


def test_a_cte_os_missing_a_required_group_is_a_typed_error(transportadora):
    raiz = etree.fromstring(gerar_cte_os(certificado=transportadora).xml)
    prestacao = raiz.find(f".//{{{NS_CTE}}}vPrest")
    prestacao.getparent().remove(prestacao)

    with pytest.raises(ErroPDF, match="^Não foi possível gerar o DACTE OS: o documento não tem um grupo"):
        renderizar_dacte(etree.tostring(raiz))


def test_a_library_crash_answers_422_not_500(api, org, emissor, importar_docs, monkeypatch):
    nfe = gerar_nfe(certificado=emissor)
    importar_docs(org, nfe)

    def quebra(**kwargs):
        raise KeyError("9")

    monkeypatch.setattr("brazilfiscalreport.danfe.Danfe", quebra)
    resposta = api.get(f"/api/nfes/{nfe.chave}/danfe/")

    assert resposta.status_code == 422
    assert resposta.json()["erro"] == (
        "Não foi possível gerar o DANFE: o documento tem um código que o gerador de PDF não conhece ('9')."
    )


def test_it_requires_a_token(client, db):
    assert client.get(f"/api/nfes/{'1' * 44}/danfe/").status_code == 401


# -- cache -----------------------------------------------------------------------------------------


def test_the_second_request_comes_from_the_cache(api, org, emissor, importar_docs, monkeypatch):
    nfe = gerar_nfe(certificado=emissor)
    importar_docs(org, nfe)
    chamadas = contar_chamadas(monkeypatch, "renderizar_danfe")

    primeira = api.get(f"/api/nfes/{nfe.chave}/danfe/")
    with CaptureQueriesContext(connection) as consultas:
        segunda = api.get(f"/api/nfes/{nfe.chave}/danfe/")

    assert len(chamadas) == 1
    assert segunda.content == primeira.content
    # A hit never reads the compressed XML.
    assert not any("conteudo" in consulta["sql"] for consulta in consultas.captured_queries)


def test_the_dacte_is_cached_too(api, org, transportadora, importar_docs, monkeypatch):
    cte = gerar_cte(certificado=transportadora)
    importar_docs(org, cte)
    chamadas = contar_chamadas(monkeypatch, "renderizar_dacte")

    for _ in range(3):
        assert api.get(f"/api/ctes/{cte.chave}/dacte/").status_code == 200

    assert len(chamadas) == 1


# -- sanitising ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "texto, esperado",
    [
        ("AÇÚCAR & CAFÉ", "AÇÚCAR & CAFÉ"),
        ("ACME \x93LTDA\x94", 'ACME "LTDA"'),  # cp1252 quotes read as C1 controls
        ("A\x01B\x7fC\x81D", "ABCD"),
        ("A\u2014B \u201cC\u201d", 'A-B "C"'),
        ("LOJA \U0001f600", "LOJA ?"),
        ("\ufb01NO", "fiNO"),
    ],
)
def test_it_reduces_text_to_printable_latin1(texto, esperado):
    assert texto_imprimivel(texto) == esperado


@pytest.mark.parametrize("intruso", ["\u0093", "\u0085", "\U0001f600", "\u2014"])
def test_control_and_exotic_characters_do_not_break_the_pdfs(emissor, transportadora, intruso):
    nfe = gerar_nfe(certificado=emissor).xml.replace(b"AURORA", f"AU{intruso}RORA".encode())
    nfce = gerar_nfe(certificado=emissor, modelo="65").xml.replace(b"AURORA", f"AU{intruso}RORA".encode())
    cte = gerar_cte(certificado=transportadora).xml.replace(b"RAPIDO", f"RA{intruso}PIDO".encode())
    cte_os = gerar_cte_os(certificado=transportadora).xml.replace(b"RAPIDO", f"RA{intruso}PIDO".encode())

    assert renderizar_danfe(nfe).startswith(b"%PDF-")
    assert renderizar_danfe(nfce).startswith(b"%PDF-")
    assert renderizar_dacte(cte).startswith(b"%PDF-")
    assert renderizar_dacte(cte_os).startswith(b"%PDF-")


def test_a_summary_or_garbage_is_a_typed_error():
    with pytest.raises(ErroPDF, match="resNFe"):
        renderizar_danfe(gerar_resumo_nfe().xml)
    with pytest.raises(ErroPDF, match="não pôde ser lido"):
        renderizar_dacte(b"<cteProc")
