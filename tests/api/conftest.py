"""API test fixtures: one client per tenant, and a quick way to put documents in an organization."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.documentos.importacao import Entrada, importar
from core.models import Origem


def cliente_com_token(usuario) -> APIClient:
    cliente = APIClient()
    cliente.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=usuario).key}")
    return cliente


@pytest.fixture
def api(nova_org):
    """Authenticated as the owner of `org`."""
    return cliente_com_token(nova_org.usuario)


@pytest.fixture
def api_outra(outra_org):
    """Authenticated as the owner of `outra_org`: must never see `org`'s data."""
    from core.models import Membro

    return cliente_com_token(Membro.objects.get(organizacao=outra_org).usuario)


@pytest.fixture
def importar_docs():
    """importar_docs(org, doc, doc, ...) -> results; docs are core.geracao DocumentoGerado."""

    def _importar(organizacao, *documentos):
        entradas = [Entrada(f"{d.chave}-{i}.xml", d.xml) for i, d in enumerate(documentos)]
        resultados = list(importar(organizacao=organizacao, entradas=entradas, origem=Origem.UPLOAD))
        assert all(r.ok for r in resultados), [r.mensagem for r in resultados if not r.ok]
        return resultados

    return _importar
