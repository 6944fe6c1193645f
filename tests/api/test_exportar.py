"""GET /api/nfes/exportar/ and /api/ctes/exportar/: streamed CSV and ZIP of the filtered list."""

import csv
import io
import zipfile
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.consultas import exportacao
from core.consultas.exportacao import celula_csv
from core.geracao.documentos import (
    gerar_cte,
    gerar_evento_nfe,
    gerar_nfe,
    gerar_resumo_nfe,
)

from tests.api.datas import dia

pytestmark = pytest.mark.django_db

@pytest.fixture
def nfes(org, outra_org, emissor, importar_docs):
    """Four NF-e of `org` (one cancelled), one resNFe-only, and one NF-e of `outra_org`."""
    documentos = [gerar_nfe(certificado=emissor, numero=200 + i, itens=2, data_emissao=dia(i)) for i in range(4)]
    documentos.append(gerar_resumo_nfe(emitente_cnpj="45723174000110", nome="RESUMO LTDA", data_emissao=dia(5)))
    importar_docs(org, *documentos)
    importar_docs(org, gerar_evento_nfe(certificado=emissor, chave=documentos[3].chave, tipo_evento="110111"))
    importar_docs(outra_org, gerar_nfe(certificado=emissor, numero=999, data_emissao=dia(2)))
    return documentos


def conteudo(resposta) -> bytes:
    assert resposta.streaming
    return b"".join(resposta.streaming_content)


def ler_csv(resposta, dialeto="rfc4180") -> list[list[str]]:
    """The rows of a CSV in `dialeto`; the comparisons with the list use rfc4180, whose cells are the list's
    values as they are (dot decimals)."""
    texto = conteudo(resposta).decode("utf-8")
    if dialeto == "excel":
        assert texto.startswith("\ufeff")
        return list(csv.reader(io.StringIO(texto[1:]), delimiter=";"))
    assert not texto.startswith("\ufeff")
    return list(csv.reader(io.StringIO(texto)))


def como_no_csv(valor) -> str:
    if valor is None:
        return ""
    if isinstance(valor, bool):
        return "true" if valor else "false"
    if isinstance(valor, list):
        return " ".join(valor)
    if isinstance(valor, dict) and "situacao" in valor:  # NF-e `manifestacao`: the CSV has the stored state
        return "" if valor["situacao"] == "nenhuma" else valor["situacao"]
    return str(valor)


def linhas_da_lista(cliente, caminho: str, parametros=None) -> tuple[list[str], list[list[str]]]:
    """Header and rows the CSV must have: the list endpoint's columns (minus links) and values."""
    resultados = cliente.get(caminho, {**(parametros or {}), "limit": 500}).json()["results"]
    colunas = [c for c in resultados[0] if c != "links"] if resultados else None
    return colunas, [[como_no_csv(r[c]) for c in colunas] for r in resultados]


def ler_zip(resposta) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(conteudo(resposta))) as arquivo:
        assert arquivo.testzip() is None
        return {nome: arquivo.read(nome) for nome in arquivo.namelist()}


# -- CSV -------------------------------------------------------------------------------------------


def test_the_csv_has_the_columns_and_rows_of_the_list(api, nfes):
    resposta = api.get("/api/nfes/exportar/", {"formato": "csv", "dialeto": "rfc4180"})

    assert resposta.status_code == 200
    assert resposta["Content-Type"] == "text/csv; charset=utf-8"
    assert resposta["Content-Disposition"].startswith('attachment; filename="nfes-')
    cabecalho, *linhas = ler_csv(resposta)
    colunas, esperadas = linhas_da_lista(api, "/api/nfes/")
    assert cabecalho == colunas
    assert linhas == esperadas
    assert len(linhas) == 5


@pytest.mark.parametrize(
    "parametros",
    [
        {"situacao": "cancelada"},
        {"completa": "false"},
        {"data_inicio": "2026-10-02", "data_fim": "2026-10-03"},
        {"ordering": "valor_total"},
        {"emitente": "99999999000191"},
    ],
)
def test_the_csv_honours_the_list_filters(api, nfes, parametros):
    _, esperadas = linhas_da_lista(api, "/api/nfes/", parametros)
    _, *linhas = ler_csv(api.get("/api/nfes/exportar/", {"formato": "csv", "dialeto": "rfc4180", **parametros}))
    assert linhas == esperadas


def test_a_csv_is_the_default_format(api, nfes):
    resposta = api.get("/api/nfes/exportar/")
    assert resposta.status_code == 200 and resposta["Content-Type"].startswith("text/csv")


def test_the_cte_csv(api, org, transportadora, emissor, importar_docs):
    nfe = gerar_nfe(certificado=emissor)
    importar_docs(org, gerar_cte(certificado=transportadora, chaves_nfe=[nfe.chave]), gerar_cte(certificado=transportadora))

    cabecalho, *linhas = ler_csv(api.get("/api/ctes/exportar/", {"formato": "csv", "dialeto": "rfc4180"}))

    colunas, esperadas = linhas_da_lista(api, "/api/ctes/")
    assert cabecalho == colunas and "chaves_nfe" in cabecalho
    assert linhas == esperadas
    assert nfe.chave in {linha[cabecalho.index("chaves_nfe")] for linha in linhas}


def test_cells_that_excel_would_run_as_formulas_are_quoted():
    assert celula_csv('=HYPERLINK("http://x")') == "'=HYPERLINK(\"http://x\")"
    assert [celula_csv(v) for v in ("+1", "-2", "@SUM(A1)", "ACME")] == ["'+1", "'-2", "'@SUM(A1)", "ACME"]


# -- ZIP -------------------------------------------------------------------------------------------


def test_the_zip_holds_the_original_xmls_byte_for_byte(api, nfes):
    resposta = api.get("/api/nfes/exportar/", {"formato": "zip"})

    assert resposta.status_code == 200
    assert resposta["Content-Type"] == "application/zip"
    assert resposta["Content-Disposition"].startswith('attachment; filename="nfes-')
    assert ler_zip(resposta) == {f"{d.chave}-procNFe.xml": d.xml for d in nfes}


def test_the_zip_honours_the_filters(api, nfes):
    entradas = ler_zip(api.get("/api/nfes/exportar/", {"formato": "zip", "situacao": "cancelada"}))
    assert list(entradas) == [f"{nfes[3].chave}-procNFe.xml"]
    assert ler_zip(api.get("/api/nfes/exportar/", {"formato": "zip", "numero": "1"})) == {}


def test_the_cte_zip(api, org, transportadora, importar_docs):
    ctes = [gerar_cte(certificado=transportadora), gerar_cte(certificado=transportadora, modal="02")]
    importar_docs(org, *ctes)

    assert ler_zip(api.get("/api/ctes/exportar/", {"formato": "zip"})) == {f"{c.chave}-procCTe.xml": c.xml for c in ctes}
    entradas = ler_zip(api.get("/api/ctes/exportar/", {"formato": "zip", "modal": "02"}))
    assert list(entradas) == [f"{ctes[1].chave}-procCTe.xml"]


def test_the_zip_is_sent_in_pieces(api, nfes, monkeypatch):
    monkeypatch.setattr(exportacao, "BYTES_POR_ENVIO", 1)
    pedacos = list(api.get("/api/nfes/exportar/", {"formato": "zip"}).streaming_content)
    assert len(pedacos) > len(nfes)
    with zipfile.ZipFile(io.BytesIO(b"".join(pedacos))) as arquivo:
        assert len(arquivo.namelist()) == len(nfes)


# -- isolation, errors -----------------------------------------------------------------------------


def test_another_organizations_documents_are_absent(api_outra, nfes):
    _, *linhas = ler_csv(api_outra.get("/api/nfes/exportar/", {"formato": "csv"}), "excel")
    entradas = ler_zip(api_outra.get("/api/nfes/exportar/", {"formato": "zip"}))

    nossas = {d.chave for d in nfes}
    assert len(linhas) == 1 and linhas[0][0] not in nossas
    assert len(entradas) == 1 and not any(chave in nome for nome in entradas for chave in nossas)


@pytest.mark.parametrize("caminho", ["/api/nfes/exportar/", "/api/ctes/exportar/"])
def test_a_bad_format_answers_400_naming_it(api, caminho):
    resposta = api.get(caminho, {"formato": "xlsx"})
    assert resposta.status_code == 400
    assert resposta.json()["erro"] == "Parâmetros inválidos." and "formato" in resposta.json()["detalhes"]


def test_a_bad_filter_answers_400_before_streaming(api, nfes):
    resposta = api.get("/api/nfes/exportar/", {"formato": "zip", "data_inicio": "ontem"})
    assert resposta.status_code == 400 and not resposta.streaming
    assert "data_inicio" in resposta.json()["detalhes"]


def test_it_requires_a_token(client, db):
    assert client.get("/api/nfes/exportar/").status_code == 401


# -- cost ------------------------------------------------------------------------------------------


def consultas_para_exportar(cliente, caminho: str, formato: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as consultas:
        resposta = cliente.get(caminho, {"formato": formato})
        corpo = conteudo(resposta)
    return len(consultas), len(corpo)


@pytest.mark.parametrize("formato", ["csv", "zip"])
def test_the_number_of_queries_does_not_grow_with_the_documents(api, org, emissor, importar_docs, monkeypatch, formato):
    # Small chunks, so 60 documents span several of them: chunking must not cost queries either.
    monkeypatch.setattr(exportacao, "LINHAS_POR_BLOCO", 7)
    monkeypatch.setattr(exportacao, "XMLS_POR_BLOCO", 7)
    importar_docs(org, *[gerar_nfe(certificado=emissor, itens=1) for _ in range(5)])
    poucas, tamanho_poucas = consultas_para_exportar(api, "/api/nfes/exportar/", formato)

    importar_docs(org, *[gerar_nfe(certificado=emissor, itens=1) for _ in range(55)])
    muitas, tamanho_muitas = consultas_para_exportar(api, "/api/nfes/exportar/", formato)

    assert tamanho_muitas > 5 * tamanho_poucas  # the 60 documents really were exported
    assert muitas == poucas <= 4


# -- dialects --------------------------------------------------------------------------------------


def _campo_decimal(modelo, coluna) -> bool:
    try:
        return modelo._meta.get_field(coluna).get_internal_type() == "DecimalField"
    except Exception:  # a computed column (finalidade_nome)
        return False


def test_the_default_csv_is_for_brazilian_excel(api, org, nfes):
    from core.models import NFe

    resposta = api.get("/api/nfes/exportar/")

    assert resposta["Content-Type"] == "text/csv; charset=utf-8"
    cabecalho, *linhas = ler_csv(resposta, "excel")
    assert cabecalho[0] == "chave" and len(linhas) == 5 and all(len(linha) == len(cabecalho) for linha in linhas)
    decimais = [c for c in cabecalho if _campo_decimal(NFe, c)]
    assert {"valor_total", "valor_icms", "valor_nf"} <= set(decimais)
    guardadas = {n.chave: n for n in NFe.objects.filter(organizacao=org)}
    for linha in linhas:
        celulas = dict(zip(cabecalho, linha, strict=True))
        nfe = guardadas[celulas["chave"]]
        for coluna in decimais:
            esperado = getattr(nfe, coluna)
            if esperado is None:
                assert celulas[coluna] == ""
            else:
                assert celulas[coluna] == f"{esperado:.2f}".replace(".", ",")  # to the cent, decimal comma
                assert Decimal(celulas[coluna].replace(",", ".")) == esperado
    assert any(Decimal(linha[cabecalho.index("valor_total")].replace(",", ".")) % 1 for linha in linhas)


def test_the_rfc4180_csv_is_comma_and_dot_without_bom(api, org, nfes):
    from core.models import NFe

    resposta = api.get("/api/nfes/exportar/", {"dialeto": "rfc4180"})

    assert resposta["Content-Type"] == "text/csv; charset=utf-8"
    cabecalho, *linhas = ler_csv(resposta, "rfc4180")
    guardadas = {n.chave: n for n in NFe.objects.filter(organizacao=org)}
    for linha in linhas:
        celulas = dict(zip(cabecalho, linha, strict=True))
        assert Decimal(celulas["valor_total"]) == guardadas[celulas["chave"]].valor_total
        assert celulas["valor_total"] == f"{guardadas[celulas['chave']].valor_total:.2f}"


def test_both_dialects_carry_the_same_cells_but_the_decimal_separator(api, nfes):
    from core.models import NFe

    cabecalho, *excel = ler_csv(api.get("/api/nfes/exportar/", {"dialeto": "excel", "ordering": "numero"}), "excel")
    _, *maquina = ler_csv(api.get("/api/nfes/exportar/", {"dialeto": "rfc4180", "ordering": "numero"}), "rfc4180")
    decimais = {i for i, c in enumerate(cabecalho) if _campo_decimal(NFe, c)}
    convertidas = [[c.replace(".", ",") if i in decimais else c for i, c in enumerate(linha)] for linha in maquina]
    assert excel == convertidas
    assert any("-" in c for linha in excel for c in linha)  # dates and keys untouched: ISO 8601 as in the list


def test_a_cell_with_the_separator_is_quoted():
    escrito = b"".join(exportacao.csv_dos_documentos(_Linhas([("A;B", Decimal("1.50"))]), ["nome", "valor"]))
    assert list(csv.reader(io.StringIO(escrito.decode("utf-8")[1:]), delimiter=";")) == [["nome", "valor"], ["A;B", "1,50"]]


class _Linhas:
    """Just enough of a queryset for csv_dos_documentos."""

    def __init__(self, linhas):
        self.linhas = linhas

    def values_list(self, *_colunas):
        return self

    def iterator(self, chunk_size):
        return iter(self.linhas)


@pytest.mark.parametrize("caminho", ["/api/nfes/exportar/", "/api/ctes/exportar/"])
def test_a_bad_dialect_answers_400_naming_it(api, caminho):
    resposta = api.get(caminho, {"dialeto": "libreoffice"})
    assert resposta.status_code == 400 and list(resposta.json()["detalhes"]) == ["dialeto"]
