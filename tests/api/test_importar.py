"""POST /api/importar/ (uploads through the import pipeline) and GET /api/importacoes/ (the log)."""

import hashlib
import http.client
import json
import socket
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from api.envio import MARGEM_MULTIPART
from api.views import importacao as views_importacao
from core.geracao.documentos import (
    DocumentoGerado,
    gerar_cte,
    gerar_evento_nfe,
    gerar_lote_zip,
    gerar_nfe,
)
from core.models import CTe, ImportLog, NFe
from core.tenancy import escopo

pytestmark = pytest.mark.django_db


def arquivo(nome: str, conteudo: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(nome, conteudo, content_type="application/octet-stream")


def enviar(cliente, **campos):
    return cliente.post("/api/importar/", campos, format="multipart")


# -- uploads ---------------------------------------------------------------------------------------


def test_it_imports_one_xml(api, org, emissor):
    nfe = gerar_nfe(certificado=emissor)

    resposta = enviar(api, arquivos=[arquivo("nota.xml", nfe.xml)])

    assert resposta.status_code == 200, resposta.json()
    assert resposta.json() == {
        "resumo": {"sucesso": 1, "duplicado": 0, "erro": 0},
        "resultados": [
            {
                "arquivo": "nota.xml",
                "status": "sucesso",
                "mensagem": resposta.json()["resultados"][0]["mensagem"],
                "chave": nfe.chave,
                "tipo_xml": "nfeProc",
                "link": f"http://testserver/api/nfes/{nfe.chave}/",
            }
        ],
    }
    assert escopo(NFe, org).get().chave == nfe.chave
    assert api.get(resposta.json()["resultados"][0]["link"]).json()["chave"] == nfe.chave


def test_it_imports_several_files_in_arquivos_and_arquivo(api, org, emissor, transportadora):
    nfe = gerar_nfe(certificado=emissor)
    cte = gerar_cte(certificado=transportadora, chaves_nfe=[nfe.chave])
    evento = gerar_evento_nfe(certificado=emissor, chave=nfe.chave, tipo_evento="210210")

    resposta = enviar(
        api, arquivos=[arquivo("a.xml", nfe.xml), arquivo("b.xml", cte.xml)], arquivo=arquivo("c.xml", evento.xml)
    )

    corpo = resposta.json()
    assert corpo["resumo"] == {"sucesso": 3, "duplicado": 0, "erro": 0}
    assert [(r["arquivo"], r["chave"], r["tipo_xml"]) for r in corpo["resultados"]] == [
        ("a.xml", nfe.chave, "nfeProc"),
        ("b.xml", cte.chave, "cteProc"),
        ("c.xml", nfe.chave, "procEventoNFe"),
    ]
    links = [r["link"] for r in corpo["resultados"]]
    assert links == [f"http://testserver/api/{p}/{c}/" for p, c in (("nfes", nfe.chave), ("ctes", cte.chave),
                                                                    ("nfes", nfe.chave))]  # fmt: skip
    assert escopo(CTe, org).get().chave == cte.chave


def test_a_zip_with_a_bad_entry_imports_the_rest(api, org, emissor):
    boas = [gerar_nfe(certificado=emissor) for _ in range(2)]
    lote = gerar_lote_zip([*boas, DocumentoGerado("x", b"<nfeProc><quebrado")], lambda d: f"{d.chave}.xml")

    corpo = enviar(api, arquivos=[arquivo("lote.zip", lote)]).json()

    assert corpo["resumo"] == {"sucesso": 2, "duplicado": 0, "erro": 1}
    erro = next(r for r in corpo["resultados"] if r["status"] == "erro")
    assert erro["arquivo"] == "lote.zip/x.xml" and erro["link"] is None and erro["mensagem"]
    assert set(escopo(NFe, org).values_list("chave", flat=True)) == {d.chave for d in boas}


def test_a_second_upload_of_the_same_document_is_a_duplicate(api, emissor):
    nfe = gerar_nfe(certificado=emissor)
    enviar(api, arquivos=[arquivo("nota.xml", nfe.xml)])

    corpo = enviar(api, arquivos=[arquivo("de-novo.xml", nfe.xml)]).json()

    assert corpo["resumo"] == {"sucesso": 0, "duplicado": 1, "erro": 0}
    assert corpo["resultados"][0]["link"] == f"http://testserver/api/nfes/{nfe.chave}/"


def test_an_empty_or_broken_file_is_an_error_of_that_file_only(api, emissor):
    nfe = gerar_nfe(certificado=emissor)

    corpo = enviar(api, arquivos=[arquivo("vazio.xml", b""), arquivo("lixo.xml", b"oi"), arquivo("boa.xml", nfe.xml)]).json()

    assert corpo["resumo"] == {"sucesso": 1, "duplicado": 0, "erro": 2}
    assert [r["status"] for r in corpo["resultados"]] == ["erro", "erro", "sucesso"]
    assert "vazio" in corpo["resultados"][0]["mensagem"]


def espiar_entradas(monkeypatch) -> list:
    """What the view hands the pipeline: (name, content type, bytes held, size, sha256) of each file."""
    vistas = []
    importar = views_importacao.importar

    def espiao(*, entradas, **kwargs):
        def anotadas():
            for e in entradas:
                vistas.append((e.nome, type(e.conteudo).__name__, len(e.conteudo), e.tamanho, e.sha256))
                yield e

        return importar(entradas=anotadas(), **kwargs)

    monkeypatch.setattr(views_importacao, "importar", espiao)
    return vistas


def test_a_file_above_the_limit_is_refused_without_being_read(api, settings, monkeypatch):
    settings.FISCAL_MAX_XML_BYTES = 1000
    settings.FISCAL_MAX_ZIP_TOTAL_BYTES = 2000
    vistas = espiar_entradas(monkeypatch)
    grande = b"PK\x03\x04" + b"0" * 5000

    corpo = enviar(api, arquivos=[arquivo("grande.zip", grande), arquivo("pequeno.xml", b"<a/>")]).json()

    assert corpo["resultados"][0] == {
        "arquivo": "grande.zip", "status": "erro", "chave": "", "tipo_xml": "", "link": None,
        "mensagem": "ZIP de 5004 bytes, acima do limite de 2000 bytes",
    }  # fmt: skip
    assert vistas == [
        ("grande.zip", "bytes", 0, 5004, hashlib.sha256(grande).hexdigest()),
        ("pequeno.xml", "bytes", 4, None, ""),
    ]


def test_a_plain_file_over_the_xml_limit_is_measured_not_kept(api, settings, monkeypatch):
    settings.FISCAL_MAX_XML_BYTES = 1000
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100  # even streamed to disk, it is stored no further than the limit
    vistas = espiar_entradas(monkeypatch)
    grande = b"<a>" + b"x" * 300_000 + b"</a>"

    corpo = enviar(api, arquivos=[arquivo("grande.xml", grande)]).json()

    assert corpo["resultados"][0]["mensagem"] == f"arquivo de {len(grande)} bytes, acima do limite de 1000 bytes"
    assert vistas == [("grande.xml", "bytes", 0, len(grande), hashlib.sha256(grande).hexdigest())]


def test_a_zip_streamed_to_disk_is_mapped_not_read(api, org, emissor, settings, monkeypatch):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000
    vistas = espiar_entradas(monkeypatch)
    notas = [gerar_nfe(certificado=emissor) for _ in range(2)]
    lote = gerar_lote_zip(notas, lambda d: f"{d.chave}.xml")

    corpo = enviar(api, arquivos=[arquivo("lote.zip", lote)]).json()

    assert corpo["resumo"] == {"sucesso": 2, "duplicado": 0, "erro": 0}
    assert vistas == [("lote.zip", "mmap", len(lote), None, "")]


def test_the_files_of_one_upload_share_one_budget(api, org, emissor, settings):
    notas = [gerar_nfe(certificado=emissor) for _ in range(3)]
    settings.FISCAL_MAX_ZIP_TOTAL_BYTES = len(notas[0].xml) + len(notas[1].xml) + 10
    zips = [arquivo(f"{n}.zip", gerar_lote_zip([nota], lambda d: "nota.xml")) for n, nota in enumerate(notas)]

    corpo = enviar(api, arquivos=zips).json()

    assert [(r["arquivo"], r["status"]) for r in corpo["resultados"]] == [
        ("0.zip/nota.xml", "sucesso"), ("1.zip/nota.xml", "sucesso"), ("2.zip/nota.xml", "erro"),
    ]  # fmt: skip
    limite = settings.FISCAL_MAX_ZIP_TOTAL_BYTES
    assert corpo["resultados"][2]["mensagem"] == f"ZIP excede o limite total de {limite} bytes descompactados"


def test_a_body_over_the_limit_is_answered_413_naming_the_file(api, settings, monkeypatch):
    settings.FISCAL_MAX_ZIP_TOTAL_BYTES = 1000
    settings.FISCAL_MAX_XML_BYTES = 1000
    vistas = espiar_entradas(monkeypatch)
    limite = 1000 + MARGEM_MULTIPART

    resposta = enviar(api, arquivos=[arquivo("enorme.zip", b"PK\x03\x04" + bytes(limite))])

    assert resposta.status_code == 413
    corpo = resposta.json()
    assert corpo["erro"].startswith(f"enorme.zip: envio de {corpo['detalhes']['tamanho']} bytes, acima do limite de")
    assert corpo["detalhes"]["arquivo"] == "enorme.zip" and corpo["detalhes"]["limite"] == limite
    assert corpo["detalhes"]["tamanho"] > limite
    assert vistas == [] and not ImportLog.objects.exists()


@pytest.mark.parametrize("campos", [{}, {"outro": "x"}, {"arquivos": []}])
def test_no_file_answers_400_naming_the_field(api, campos):
    resposta = enviar(api, **campos)
    assert resposta.status_code == 400
    assert resposta.json()["erro"] == "Parâmetros inválidos." and "arquivos" in resposta.json()["detalhes"]


def test_too_many_files_answer_400_naming_the_field(api, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    resposta = enviar(api, arquivos=[arquivo(f"{i}.xml", b"<a/>") for i in range(3)])
    assert resposta.status_code == 400
    assert resposta.json()["detalhes"]["arquivos"] == [
        "No máximo 2 arquivos por envio; envie o restante em outro envio ou junte-os num ZIP."
    ]


def test_it_requires_multipart(api, emissor):
    resposta = api.post("/api/importar/", {"arquivos": "x"}, format="json")
    assert resposta.status_code == 415


def test_it_requires_a_token(client, emissor, db):
    resposta = client.post("/api/importar/", {"arquivos": arquivo("a.xml", gerar_nfe(certificado=emissor).xml)})
    assert resposta.status_code == 401
    assert not ImportLog.objects.exists()


def test_documents_land_in_the_callers_organization_only(api, api_outra, org, outra_org, emissor):
    nfe = gerar_nfe(certificado=emissor)

    enviar(api_outra, arquivos=[arquivo("nota.xml", nfe.xml)])

    assert escopo(NFe, outra_org).get().chave == nfe.chave
    assert not escopo(NFe, org).exists() and not escopo(ImportLog, org).exists()
    assert api.get(f"/api/nfes/{nfe.chave}/").status_code == 404


def test_the_log_records_the_user_and_origin(api, org, nova_org, emissor):
    enviar(api, arquivos=[arquivo("nota.xml", gerar_nfe(certificado=emissor).xml), arquivo("ruim.xml", b"<x")])

    logs = list(escopo(ImportLog, org).order_by("id"))
    assert [(log.arquivo, log.status, log.origem, log.usuario_id) for log in logs] == [
        ("nota.xml", "sucesso", "upload", nova_org.usuario.pk),
        ("ruim.xml", "erro", "upload", nova_org.usuario.pk),
    ]


# -- the import log --------------------------------------------------------------------------------


@pytest.fixture
def logs(api, api_outra, org, emissor):
    """Three uploads of `org` (2 successes, 1 error) and one of `outra_org`."""
    notas = [gerar_nfe(certificado=emissor) for _ in range(2)]
    enviar(api, arquivos=[arquivo("n0.xml", notas[0].xml), arquivo("n1.xml", notas[1].xml), arquivo("ruim.xml", b"<x")])
    enviar(api_outra, arquivos=[arquivo("da-outra.xml", gerar_nfe(certificado=emissor).xml)])
    return notas


def arquivos_da_pagina(resposta) -> list[str]:
    return [log["arquivo"] for log in resposta.json()["results"]]


def test_it_lists_the_organizations_logs_newest_first(api, logs, nova_org):
    resposta = api.get("/api/importacoes/")

    assert resposta.status_code == 200
    assert arquivos_da_pagina(resposta) == ["ruim.xml", "n1.xml", "n0.xml"]
    primeiro = resposta.json()["results"][0]
    assert set(primeiro) == {"id", "arquivo", "status", "mensagem", "chave", "tipo_xml", "origem", "nsu", "usuario",
                             "tamanho", "sha256", "xml", "reprocessado_de", "criado_em"}  # fmt: skip
    assert (primeiro["status"], primeiro["origem"], primeiro["usuario"]) == ("erro", "upload", nova_org.usuario.username)


def test_another_organizations_logs_are_absent(api, api_outra, logs):
    assert arquivos_da_pagina(api_outra.get("/api/importacoes/")) == ["da-outra.xml"]
    assert "da-outra.xml" not in arquivos_da_pagina(api.get("/api/importacoes/"))


def test_it_filters_the_log(api, logs):
    agora = timezone.localtime()
    assert arquivos_da_pagina(api.get("/api/importacoes/", {"status": "erro"})) == ["ruim.xml"]
    assert arquivos_da_pagina(api.get("/api/importacoes/", {"status": ["sucesso", "duplicado"]})) == ["n1.xml", "n0.xml"]
    assert arquivos_da_pagina(api.get("/api/importacoes/", {"chave": logs[0].chave})) == ["n0.xml"]
    assert len(arquivos_da_pagina(api.get("/api/importacoes/", {"origem": "upload"}))) == 3
    assert arquivos_da_pagina(api.get("/api/importacoes/", {"origem": "sefaz"})) == []
    assert len(arquivos_da_pagina(api.get("/api/importacoes/", {"desde": agora.date().isoformat()}))) == 3
    ontem = (agora - timedelta(days=1)).date().isoformat()
    assert arquivos_da_pagina(api.get("/api/importacoes/", {"ate": ontem})) == []


@pytest.mark.parametrize("parametros, campo", [({"status": "talvez"}, "status"), ({"desde": "ontem"}, "desde")])
def test_bad_log_filters_answer_400(api, logs, parametros, campo):
    resposta = api.get("/api/importacoes/", parametros)
    assert resposta.status_code == 400 and campo in resposta.json()["detalhes"]


def test_the_log_is_paginated(api, logs):
    primeira = api.get("/api/importacoes/", {"limit": 2}).json()
    segunda = api.get(primeira["next"]).json()
    por_deslocamento = api.get("/api/importacoes/", {"limit": 2, "offset": 2}).json()

    assert [log["arquivo"] for log in primeira["results"]] == ["ruim.xml", "n1.xml"]
    assert [log["arquivo"] for log in segunda["results"]] == ["n0.xml"] and segunda["next"] is None
    assert por_deslocamento["count"] == 3 and [log["arquivo"] for log in por_deslocamento["results"]] == ["n0.xml"]


def test_the_log_requires_a_token(client, db):
    assert client.get("/api/importacoes/").status_code == 401


# -- against a real server: the body over the limit is never read ------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_real_server_answers_413_before_the_body_is_sent(live_server, nova_org, settings):
    settings.FISCAL_MAX_ZIP_TOTAL_BYTES = settings.FISCAL_MAX_XML_BYTES = 1024 * 1024
    limite = 1024 * 1024 + MARGEM_MULTIPART
    declarado = 64 * 1024 * 1024
    fronteira = "fronteira-do-teste"
    enviado = (
        f"--{fronteira}\r\n"
        'Content-Disposition: form-data; name="arquivos"; filename="enorme.zip"\r\n'
        "Content-Type: application/zip\r\n\r\n"
    ).encode() + b"PK\x03\x04" + bytes(256 * 1024)
    endereco = urlsplit(live_server.url)
    cabecalhos = (
        f"POST /api/importar/ HTTP/1.1\r\nHost: {endereco.netloc}\r\nAuthorization: Token {nova_org.token}\r\n"
        f"Content-Type: multipart/form-data; boundary={fronteira}\r\nContent-Length: {declarado}\r\n\r\n"
    ).encode()

    with socket.create_connection((endereco.hostname, endereco.port), timeout=30) as conexao:
        conexao.sendall(cabecalhos + enviado)  # 0.4% of what Content-Length promises, and no more
        resposta = http.client.HTTPResponse(conexao)
        resposta.begin()
        corpo = json.loads(resposta.read())

    assert resposta.status == 413
    assert corpo == {
        "erro": f"enorme.zip: envio de {declarado} bytes, acima do limite de {limite} bytes por envio; "
        "divida os arquivos em envios menores.",
        "detalhes": {"arquivo": "enorme.zip", "tamanho": declarado, "limite": limite},
    }
    assert not ImportLog.objects.exists()
