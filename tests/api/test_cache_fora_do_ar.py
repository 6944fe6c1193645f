"""A cache outage (Redis down) degrades the documents routes, never fails them (issue 14, point 8).

The cache is a real Redis client pointed at a closed port on this machine, so every cache call fails
the way it does when Redis stops: a refused connection. The rate limit lets the request through
(fail open, core/middleware.py) and the DANFE/DACTE are rendered without the cache.
"""

import logging

import pytest
from django.test import override_settings

from core.geracao.documentos import gerar_cte, gerar_nfe
from core.middleware import esquecer_tokens
from tests.webhooks.receptor import porta_livre

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_fora_do_ar():
    url = f"redis://127.0.0.1:{porta_livre()}/1?socket_connect_timeout=1&socket_timeout=1"
    fora = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    esquecer_tokens()  # the rate limit warns once a minute per process: start from a clean slate
    with override_settings(CACHES=fora):
        yield
    esquecer_tokens()


def assert_pdf(resposta):
    assert resposta.status_code == 200, resposta.content[:300]
    assert resposta["Content-Type"] == "application/pdf"
    assert resposta.content.startswith(b"%PDF-") and resposta.content.rstrip().endswith(b"%%EOF")


def test_it_serves_the_danfe_and_the_dacte_without_the_cache(
    api, org, emissor, transportadora, importar_docs, redis_fora_do_ar, caplog
):
    nfe, cte = gerar_nfe(certificado=emissor), gerar_cte(certificado=transportadora)
    importar_docs(org, nfe, cte)

    with caplog.at_level(logging.WARNING):
        assert_pdf(api.get(f"/api/nfes/{nfe.chave}/danfe/"))
        assert_pdf(api.get(f"/api/ctes/{cte.chave}/dacte/"))

    avisos = [r.getMessage() for r in caplog.records if r.name == "core.documentos.pdf"]
    assert avisos and all("sem o cache" in aviso for aviso in avisos)


def test_it_serves_the_document_and_its_xml_without_the_cache(
    api, org, emissor, importar_docs, redis_fora_do_ar, caplog
):
    nfe = gerar_nfe(certificado=emissor)
    importar_docs(org, nfe)

    with caplog.at_level(logging.WARNING, logger="core.middleware"):
        assert api.get(f"/api/nfes/{nfe.chave}/").status_code == 200
        xml = api.get(f"/api/nfes/{nfe.chave}/xml/")
        assert xml.status_code == 200 and b"".join(xml) == nfe.xml
        assert api.get("/api/nfes/").status_code == 200

    # the rate limit could not count: the requests passed (fail open) and that was said once
    [aviso] = [r.getMessage() for r in caplog.records if r.name == "core.middleware"]
    assert "rate limit desligado" in aviso and "requisições liberadas" in aviso
