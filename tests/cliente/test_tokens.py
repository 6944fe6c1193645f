"""The client's token methods against the live server: create (the key once), list, revoke."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fiscal_api_client import AutenticacaoError, ValidacaoError

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_creates_lists_and_revokes_a_token(cliente, novo_cliente, nova_org):
    expira = timezone.now() + timedelta(days=1)

    criado = cliente.criar_token("ERP", expira_em=expira, usuario=nova_org.usuario.pk)

    assert criado["chave"].startswith("fsc_") and criado["usuario"] == nova_org.usuario.pk
    erp = novo_cliente(criado["chave"])
    assert erp.listar_nfes()["results"] == []
    [listado] = [t for t in cliente.listar_tokens() if t["id"] == criado["id"]]
    assert "chave" not in listado and listado["ultimo_uso_em"] is not None
    assert cliente.revogar_token(criado["id"])["revogado_em"]
    with pytest.raises(AutenticacaoError) as erro:
        erp.listar_nfes()
    assert erro.value.mensagem == "Token revogado."


def test_a_past_expiry_is_a_validation_error(cliente):
    with pytest.raises(ValidacaoError) as erro:
        cliente.criar_token("ERP", expira_em="2020-01-01T00:00:00Z")
    assert list(erro.value.detalhes) == ["expira_em"]
