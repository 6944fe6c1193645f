"""The OpenAPI schema is valid and the API honours it: schemathesis throws generated requests at
every operation (as a member of an organization) and none may end in a server error or answer
outside its documented shape."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from core.geracao.documentos import gerar_cte, gerar_nfe

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def manter_conexao_do_teste():
    """Calls go through the real WSGI handler, whose end-of-request hook would close the test's
    database connection (it sees a transaction left open); Django's own test client unhooks it too."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(nova_org, org, emissor, transportadora, importar_docs):
    importar_docs(org, gerar_nfe(certificado=emissor), gerar_cte(certificado=transportadora))
    return nova_org.token


def _verificar(operacao, token) -> int:
    chamadas = []

    @given(case=operacao.as_strategy())
    @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    def verificar(case):
        resposta = case.call(headers={"Authorization": f"Token {token}"})
        chamadas.append(resposta.status_code)
        case.validate_response(resposta, checks=[not_a_server_error, response_schema_conformance])

    verificar()
    return len(chamadas)


def test_api_honours_its_schema(token):
    from fiscal_app.wsgi import application

    esquema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    operacoes = [resultado.ok() for resultado in esquema.get_all_operations()]
    assert len(operacoes) >= 15
    chamadas = {f"{o.method.upper()} {o.path}": _verificar(o, token) for o in operacoes}
    assert all(chamadas.values()), chamadas  # every operation was really exercised


def test_the_schema_and_docs_are_public_and_self_hosted(client):
    esquema = client.get("/api/schema/")
    docs = client.get("/api/docs/")
    assert esquema.status_code == 200 and b"openapi: 3" in esquema.content
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower() and b"drf_spectacular_sidecar" in docs.content
