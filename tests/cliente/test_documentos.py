"""The client's document, file, panel and search methods, through HTTP against a live server."""

import codecs
import csv
import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest

from fiscal_api_client import NaoEncontradoError, ValidacaoError

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def documentos(gerador, tmp_path):
    """Two NF-e and one CT-e, written as the files an integrator would upload (one of them in a ZIP)."""
    nfes = [gerador.nfe(numero=n) for n in (101, 102)]
    cte = gerador.cte(numero=7)
    (tmp_path / "nota.xml").write_bytes(nfes[0].xml)
    with zipfile.ZipFile(tmp_path / "lote.zip", "w") as lote:
        lote.writestr("outra.xml", nfes[1].xml)
        lote.writestr("cte.xml", cte.xml)
    return nfes, cte


def test_importar_xml_sends_xml_and_zip_files(cliente, documentos, tmp_path):
    nfes, cte = documentos

    resposta = cliente.importar_xml(tmp_path / "nota.xml", str(tmp_path / "lote.zip"))

    assert resposta["resumo"] == {"sucesso": 3, "duplicado": 0, "erro": 0}
    assert {r["chave"] for r in resposta["resultados"]} == {nfes[0].chave, nfes[1].chave, cte.chave}
    assert cliente.importar_xml(tmp_path / "nota.xml")["resumo"]["duplicado"] == 1
    importacoes = cliente.listar_importacoes(status="duplicado")["results"]
    assert [i["chave"] for i in importacoes] == [nfes[0].chave]


def test_a_failed_import_is_downloaded_and_reprocessed(cliente, tmp_path):
    (tmp_path / "quebrado.xml").write_bytes(b"<nfeProc>truncado")
    cliente.importar_xml(tmp_path / "quebrado.xml")
    [falha] = cliente.listar_importacoes(status="erro")["results"]

    assert cliente.baixar_xml_importacao(falha["id"], destino=tmp_path) == b"<nfeProc>truncado"
    assert (tmp_path / f"importacao-{falha['id']}.xml").read_bytes() == b"<nfeProc>truncado"
    resposta = cliente.reprocessar_importacao(falha["id"])
    assert resposta["reprocessado_de"] == falha["id"] and resposta["resumo"]["erro"] == 1
    assert "não é XML válido" in resposta["resultados"][0]["mensagem"]


def test_lists_details_totals_and_lazy_iteration(cliente, documentos, tmp_path):
    nfes, cte = documentos
    cliente.importar_xml(tmp_path / "nota.xml", tmp_path / "lote.zip")

    pagina = cliente.listar_nfes(limit=1, situacao=["autorizada"], completa=True)
    assert len(pagina["results"]) == 1 and pagina["next"]
    assert {n["chave"] for n in cliente.iterar_nfes(limit=1)} == {n.chave for n in nfes}
    assert list(cliente.iterar_nfes(numero=102)) == [cliente.listar_nfes(numero=102)["results"][0]]
    assert list(cliente.iterar_nfes(data_fim=date(2000, 1, 1))) == []

    detalhe = cliente.buscar_nfe(nfes[0].chave)
    assert detalhe["chave"] == nfes[0].chave and detalhe["itens"]
    assert cliente.totais_nfe(situacao="autorizada")["quantidade"] == 2

    assert [c["chave"] for c in cliente.listar_ctes()["results"]] == [cte.chave]
    assert [c["chave"] for c in cliente.iterar_ctes(modal="01")] == [cte.chave]
    assert cliente.buscar_cte(cte.chave)["chave"] == cte.chave
    assert cliente.totais_cte()["quantidade"] == 1


def test_iteration_is_lazy(cliente, documentos, tmp_path):
    cliente.importar_xml(tmp_path / "nota.xml", tmp_path / "lote.zip")
    antes = cliente.ultima_cota.restantes

    primeira = next(cliente.iterar_nfes(limit=1))

    assert primeira["chave"]
    assert cliente.ultima_cota.restantes == antes - 1  # one page fetched, not both


def test_downloads_are_the_original_bytes_and_pdfs(cliente, documentos, tmp_path):
    nfes, cte = documentos
    cliente.importar_xml(tmp_path / "nota.xml", tmp_path / "lote.zip")
    pasta = tmp_path / "baixados"
    pasta.mkdir()

    assert cliente.baixar_xml(nfes[0].chave, destino=pasta) == nfes[0].xml
    assert (pasta / f"{nfes[0].chave}-procNFe.xml").read_bytes() == nfes[0].xml
    assert cliente.baixar_xml(cte.chave, destino=pasta / "cte.xml") == cte.xml
    assert (pasta / "cte.xml").read_bytes() == cte.xml

    assert cliente.baixar_danfe(nfes[0].chave, destino=pasta).startswith(b"%PDF")
    assert (pasta / f"{nfes[0].chave}-danfe.pdf").read_bytes().startswith(b"%PDF")
    assert cliente.baixar_dacte(cte.chave).startswith(b"%PDF")


def test_exports_in_both_csv_dialects_and_as_a_zip(cliente, documentos, tmp_path):
    nfes, cte = documentos
    cliente.importar_xml(tmp_path / "nota.xml", tmp_path / "lote.zip")
    valores = {n["chave"]: Decimal(n["valor_total"]) for n in cliente.iterar_nfes()}

    excel = cliente.exportar_nfes(destino=tmp_path, ordering="numero")
    assert (tmp_path / "nfes.csv").read_bytes() == excel and excel.startswith(codecs.BOM_UTF8)
    linhas = list(csv.DictReader(io.StringIO(excel.decode("utf-8-sig")), delimiter=";"))
    assert [linha["numero"] for linha in linhas] == ["101", "102"]
    assert {linha["chave"]: Decimal(linha["valor_total"].replace(",", ".")) for linha in linhas} == valores
    assert all("," in linha["valor_total"] and "." not in linha["valor_total"] for linha in linhas)

    maquina = cliente.exportar_ctes(dialeto="rfc4180", numero=7)
    [linha] = list(csv.DictReader(io.StringIO(maquina.decode("utf-8"))))
    assert not maquina.startswith(codecs.BOM_UTF8)
    assert (linha["chave"], linha["valor_prestacao"]) == (cte.chave, cliente.buscar_cte(cte.chave)["valor_prestacao"])

    with zipfile.ZipFile(io.BytesIO(cliente.exportar_nfes(formato="zip", numero=101))) as arquivo:
        assert arquivo.namelist() == [f"{nfes[0].chave}-procNFe.xml"]
    with pytest.raises(ValidacaoError) as erro:
        cliente.exportar_nfes(dialeto="libreoffice")
    assert "dialeto" in erro.value.detalhes


def test_panel_statistics_and_search(cliente, documentos, tmp_path):
    nfes, _cte = documentos
    cliente.importar_xml(tmp_path / "nota.xml", tmp_path / "lote.zip")

    assert "hoje" in cliente.dashboard()
    assert cliente.estatisticas(agrupar="mes")["agrupar"] == "mes"
    resultados = cliente.buscar(nfes[1].chave)["resultados"]
    assert [r["chave"] for r in resultados] == [nfes[1].chave]
    assert cliente.buscar("DISTRIBUIDORA", limite=1)["resultados"]


def test_rate_limit_headers_are_kept(cliente, settings):
    cliente.dashboard()

    assert cliente.ultima_cota.limite == settings.RATE_LIMIT_PER_MINUTE
    assert cliente.ultima_cota.restantes < cliente.ultima_cota.limite


def test_a_missing_key_is_a_typed_404(cliente):
    with pytest.raises(NaoEncontradoError) as erro:
        cliente.baixar_xml("35261111222333000181550010000099991000099999")
    assert erro.value.status_code == 404 and erro.value.mensagem == "Não encontrado."


def test_a_zip_is_sent_as_one_file(cliente, documentos, tmp_path):
    # ZIPs built in memory and saved: the client sends the bytes as they are, with the zip content type.
    dados = io.BytesIO()
    with zipfile.ZipFile(dados, "w") as lote:
        lote.writestr("a.xml", documentos[0][0].xml)
    (tmp_path / "memoria.zip").write_bytes(dados.getvalue())

    assert cliente.importar_xml(tmp_path / "memoria.zip")["resultados"][0]["arquivo"].startswith("memoria.zip")


def test_other_documents_and_pending_events(cliente, gerador, transportadora, tmp_path):
    from core.geracao.documentos import gerar_gtve

    gtve = gerar_gtve(certificado=transportadora)
    nota = gerador.nfe(numero=303)
    cce = gerador.evento_nfe(chave=nota.chave, tipo_evento="110110", detalhes={"xCorrecao": "Volumes: 12 caixas"})
    (tmp_path / "gtve.xml").write_bytes(gtve.xml)
    (tmp_path / "cce.xml").write_bytes(cce.xml)
    cliente.importar_xml(tmp_path / "gtve.xml", tmp_path / "cce.xml")

    [outro] = cliente.listar_outros_documentos(tipo="gtve")["results"]
    assert outro["chave"] == gtve.chave and cliente.buscar_outro_documento(gtve.chave)["tipo_xml"] == "GTVeProc"
    assert cliente.baixar_xml_outro_documento(gtve.chave, destino=tmp_path) == gtve.xml
    assert (tmp_path / f"{gtve.chave}-proc.xml").read_bytes() == gtve.xml
    [pendente] = cliente.eventos_pendentes()["results"]
    assert (pendente["chave"], pendente["tipo_evento"]) == (nota.chave, "110110")
    assert cliente.manifestacoes(situacao="pendente")["results"] == []


def test_reform_filters_and_the_finalidade_split(cliente, gerador, tmp_path):
    venda = gerador.nfe(numero=301, reforma=True)
    credito = gerador.nfe(numero=302, reforma=True, finalidade=5, referenciada=venda.chave)
    antiga = gerador.nfe(numero=303)
    for documento in (venda, credito, antiga):
        (tmp_path / f"{documento.chave}.xml").write_bytes(documento.xml)
    cliente.importar_xml(*sorted(tmp_path.glob("*.xml")))

    # Lists repeat the parameter; booleans go as true/false.
    assert {n["chave"] for n in cliente.iterar_nfes(finalidade=[1, 5], reforma=True)} == {venda.chave, credito.chave}
    assert [n["chave"] for n in cliente.listar_nfes(reforma=False)["results"]] == [antiga.chave]
    [nota] = cliente.listar_nfes(finalidade=5)["results"]
    assert (nota["finalidade_nome"], nota["valor_total"]) == ("Nota de crédito", nota["valor_nf_tot"])
    faixa = cliente.listar_nfes(valor_cbs_min=nota["valor_cbs"], valor_cbs_max=nota["valor_cbs"], finalidade=5)
    assert [n["chave"] for n in faixa["results"]] == [nota["chave"]]
    totais = cliente.totais_nfe()
    assert [(f["finalidade"], f["quantidade"]) for f in totais["por_finalidade"]] == [(1, 2), (5, 1)]
