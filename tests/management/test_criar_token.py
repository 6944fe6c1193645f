"""criar_token: a token issued from the shell, its key printed once and working at once."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import TokenDeAPI
from core.tokens import hash_da_chave


def criar(*argumentos) -> list[str]:
    saida = io.StringIO()
    call_command("criar_token", *argumentos, stdout=saida)
    return saida.getvalue().strip().splitlines()


def test_the_printed_key_authenticates_and_only_its_hash_is_stored(nova_org, db):
    org = nova_org.organizacao
    linhas = criar("--organizacao", org.slug, "--usuario", "dona@alfa.com.br", "--nome", "ERP", "--expira-em", "2099-12-31")

    chave = linhas[-1]
    token = TokenDeAPI.objects.get(organizacao=org, nome="ERP")
    assert token.hash == hash_da_chave(chave) and chave not in {token.hash, token.prefixo}
    assert timezone.localtime(token.expira_em).date().isoformat() == "2099-12-31"
    assert "válido até 31/12/2099" in linhas[0] and token.prefixo in linhas[0]
    cliente = APIClient()
    cliente.credentials(HTTP_AUTHORIZATION=f"Token {chave}")
    assert cliente.get("/api/nfes/").status_code == 200


def test_refusals_name_what_is_wrong(nova_org, outra_org, db):
    org = nova_org.organizacao
    with pytest.raises(CommandError, match="não encontrada"):
        criar("--organizacao", "nao-existe", "--usuario", "dona@alfa.com.br", "--nome", "ERP")
    with pytest.raises(CommandError, match="usuário 'ninguem@x.com' não encontrado"):
        criar("--organizacao", org.slug, "--usuario", "ninguem@x.com", "--nome", "ERP")
    with pytest.raises(CommandError, match="--usuario: O usuário não é membro desta organização"):
        criar("--organizacao", outra_org.slug, "--usuario", "dona@alfa.com.br", "--nome", "ERP")
    ontem = (timezone.localdate() - timedelta(days=1)).isoformat()
    with pytest.raises(CommandError, match="--expira-em: A data de expiração precisa estar no futuro"):
        criar("--organizacao", org.slug, "--usuario", "dona@alfa.com.br", "--nome", "ERP", "--expira-em", ontem)
    with pytest.raises(CommandError, match="data inválida"):
        criar("--organizacao", org.slug, "--usuario", "dona@alfa.com.br", "--nome", "ERP", "--expira-em", "31/12/2099")
    assert not TokenDeAPI.objects.filter(nome="ERP").exists()
