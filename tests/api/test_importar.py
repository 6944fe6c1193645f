"""POST /api/importar/ (uploads through the import pipeline) and GET /api/importacoes/ (the log)."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

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


def test_a_file_above_the_limit_is_refused_without_being_read(api, settings, monkeypatch):
    settings.FISCAL_MAX_XML_BYTES = 1000
    settings.FISCAL_MAX_ZIP_TOTAL_BYTES = 2000
    lidos = []
    importar = views_importacao.importar

    def espiao(*, entradas, **kwargs):
        entradas = (lidos.append((e.nome, len(e.conteudo))) or e for e in entradas)
        return importar(entradas=entradas, **kwargs)

    monkeypatch.setattr(views_importacao, "importar", espiao)
    grande = arquivo("grande.zip", b"PK\x03\x04" + b"0" * 5000)

    corpo = enviar(api, arquivos=[grande, arquivo("pequeno.xml", b"<a/>")]).json()

    assert corpo["resultados"][0] == {
        "arquivo": "grande.zip", "status": "erro", "chave": "", "tipo_xml": "", "link": None,
        "mensagem": "arquivo com mais de 2000 bytes, acima do limite de importação",
    }  # fmt: skip
    assert lidos == [("grande.zip", 0), ("pequeno.xml", 4)]


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
