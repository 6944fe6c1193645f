"""GET /api/nfes/{chave}/danfe/ and /api/ctes/{chave}/dacte/: PDFs rendered from the original XML."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.documentos import pdf
from core.documentos.pdf import (
    ErroPDF,
    renderizar_dacte,
    renderizar_danfe,
    texto_imprimivel,
)
from core.geracao.documentos import (
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
    cte_os = gerar_cte_os(certificado=transportadora)
    importar_docs(org, cte_os)

    resposta = api.get(f"/api/ctes/{cte_os.chave}/dacte/")

    assert resposta.status_code == 422
    assert resposta.json() == {
        "erro": "O DACTE de CT-e OS (modelo 67) ainda não é suportado pelo gerador de PDF.",
        "detalhes": {},
    }


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

    assert renderizar_danfe(nfe).startswith(b"%PDF-")
    assert renderizar_danfe(nfce).startswith(b"%PDF-")
    assert renderizar_dacte(cte).startswith(b"%PDF-")


def test_a_summary_or_garbage_is_a_typed_error():
    with pytest.raises(ErroPDF, match="resNFe"):
        renderizar_danfe(gerar_resumo_nfe().xml)
    with pytest.raises(ErroPDF, match="não pôde ser lido"):
        renderizar_dacte(b"<cteProc")
