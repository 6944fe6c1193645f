"""GET /api/importacoes/{id}/xml/ and POST /api/importacoes/{id}/reprocessar/: the kept files, over HTTP."""

import hashlib
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.geracao.documentos import gerar_nfe
from core.models import ImportLog, NFe
from core.tenancy import escopo

pytestmark = pytest.mark.django_db

QUEBRADO = b"<nfeProc><NFe>truncado"


def enviar(cliente, *arquivos):
    envio = [SimpleUploadedFile(nome, conteudo, content_type="application/octet-stream") for nome, conteudo in arquivos]
    resposta = cliente.post("/api/importar/", {"arquivos": envio}, format="multipart")
    assert resposta.status_code == 200, resposta.json()
    return resposta.json()


def log_de(org, arquivo) -> ImportLog:
    return escopo(ImportLog, org).get(arquivo=arquivo)


def test_the_log_lists_what_each_attempt_kept(api, org):
    enviar(api, ("quebrado.xml", QUEBRADO))

    [item] = api.get("/api/importacoes/").json()["results"]

    log = log_de(org, "quebrado.xml")
    assert item["xml"] == f"http://testserver/api/importacoes/{log.pk}/xml/"
    assert (item["tamanho"], item["sha256"]) == (len(QUEBRADO), hashlib.sha256(QUEBRADO).hexdigest())
    assert item["reprocessado_de"] is None


def test_it_downloads_the_bytes_of_a_failed_attempt(api, org):
    enviar(api, ("quebrado.xml", QUEBRADO))

    resposta = api.get(f"/api/importacoes/{log_de(org, 'quebrado.xml').pk}/xml/")

    assert resposta.status_code == 200 and resposta.content == QUEBRADO
    assert resposta["Content-Type"] == "application/xml"
    assert resposta["Content-Disposition"] == 'attachment; filename="quebrado.xml"'


def test_it_downloads_a_zip_entry_and_a_corrupt_zip(api, org, emissor):
    nfe = gerar_nfe(certificado=emissor)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as arquivo_zip:
        arquivo_zip.writestr("pasta/nota.xml", nfe.xml)
    enviar(api, ("lote.zip", buffer.getvalue()), ("ruim.zip", buffer.getvalue()[:30]))

    entrada = api.get(f"/api/importacoes/{log_de(org, 'lote.zip/pasta/nota.xml').pk}/xml/")
    corrompido = api.get(f"/api/importacoes/{log_de(org, 'ruim.zip').pk}/xml/")

    assert entrada.content == nfe.xml and entrada["Content-Disposition"] == 'attachment; filename="nota.xml"'
    assert corrompido.content == buffer.getvalue()[:30] and corrompido["Content-Type"] == "application/zip"


def test_a_file_over_the_limit_answers_409_with_its_size_and_digest(api, org, settings):
    settings.FISCAL_MAX_XML_BYTES = 10
    enviar(api, ("grande.xml", b"<NFe>" + b" " * 50 + b"</NFe>"))
    log = log_de(org, "grande.xml")

    download = api.get(f"/api/importacoes/{log.pk}/xml/")
    reprocesso = api.post(f"/api/importacoes/{log.pk}/reprocessar/")

    assert download.status_code == reprocesso.status_code == 409
    assert f"61 bytes, SHA-256 {log.sha256}" in download.json()["erro"]
    assert "passar do limite de tamanho" in reprocesso.json()["erro"]
    assert api.get("/api/importacoes/").json()["results"][0]["xml"] is None


def test_reprocessing_a_fixed_file_stores_it_and_links_the_document(api, nova_org, org, emissor, settings):
    # given: a homologation NF-e refused at upload
    nfe = gerar_nfe(certificado=emissor, ambiente=2)
    enviar(api, ("homologacao.xml", nfe.xml))
    original = log_de(org, "homologacao.xml")
    settings.FISCAL_ACEITAR_HOMOLOGACAO = True

    # when
    resposta = api.post(f"/api/importacoes/{original.pk}/reprocessar/")

    # then
    assert resposta.status_code == 200, resposta.json()
    corpo = resposta.json()
    [resultado] = corpo["resultados"]
    assert corpo["reprocessado_de"] == original.pk and corpo["resumo"] == {"sucesso": 1, "duplicado": 0, "erro": 0}
    assert resultado["status"] == "sucesso" and resultado["link"] == f"http://testserver/api/nfes/{nfe.chave}/"
    novo = escopo(ImportLog, org).get(pk=resultado["id"])
    assert novo.reprocessado_de_id == original.pk and novo.usuario == nova_org.usuario
    assert escopo(NFe, org).filter(chave=nfe.chave).exists()

    # and again: idempotent, a new attempt answering duplicado, pointing at the same original
    de_novo = api.post(f"/api/importacoes/{resultado['id']}/reprocessar/").json()
    assert de_novo["reprocessado_de"] == original.pk and de_novo["resultados"][0]["status"] == "duplicado"
    assert escopo(NFe, org).filter(chave=nfe.chave).count() == 1
    listados = api.get(f"/api/importacoes/?chave={nfe.chave}").json()["results"]
    assert [item["reprocessado_de"] for item in listados] == [original.pk, original.pk, None]


def test_a_reprocess_that_fails_again_says_why(api, org):
    enviar(api, ("quebrado.xml", QUEBRADO))

    corpo = api.post(f"/api/importacoes/{log_de(org, 'quebrado.xml').pk}/reprocessar/").json()

    assert corpo["resumo"] == {"sucesso": 0, "duplicado": 0, "erro": 1}
    assert "não é XML válido" in corpo["resultados"][0]["mensagem"]


def test_another_organizations_attempt_is_not_found(api, api_outra, org):
    enviar(api, ("quebrado.xml", QUEBRADO))
    pk = log_de(org, "quebrado.xml").pk

    download = api_outra.get(f"/api/importacoes/{pk}/xml/")
    reprocesso = api_outra.post(f"/api/importacoes/{pk}/reprocessar/")

    assert download.status_code == reprocesso.status_code == 404
    assert escopo(ImportLog, org).count() == 1  # nothing was run on the outsider's behalf


def test_without_a_token_nothing_is_served(client, api, org):
    enviar(api, ("quebrado.xml", QUEBRADO))

    assert client.get(f"/api/importacoes/{log_de(org, 'quebrado.xml').pk}/xml/").status_code == 401
