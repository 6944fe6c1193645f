"""API test fixtures: one client per tenant, and a quick way to put documents in an organization."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.documentos.importacao import Entrada, importar
from core.models import Origem


def cliente_com_token(usuario) -> APIClient:
    """A client with a new token of `usuario` (keys are stored hashed: the one printed at creation is gone).

    The token is marked as used just now, so the query-count tests measure a request as most are: the
    first use of a token also writes its `ultimo_uso_em` (core.tokens.registrar_uso), later ones within
    a minute do not.
    """
    from core.models import Membro
    from core.tokens import criar_token

    organizacao = Membro.objects.select_related("organizacao").get(usuario=usuario).organizacao
    novo = criar_token(organizacao=organizacao, usuario=usuario, nome="testes")
    novo.token.ultimo_uso_em = timezone.now()
    novo.token.save(update_fields=["ultimo_uso_em"])
    cliente = APIClient()
    cliente.credentials(HTTP_AUTHORIZATION=f"Token {novo.chave}")
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
