"""Webhook extra headers (the receiver's credentials, often) are encrypted at rest, as the secrets are;
migration 0007 encrypts the ones stored before it, and its reverse puts them back in clear."""

import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.models import Webhook
from core.tenancy import inserir, todas_as_organizacoes

ANTES, DEPOIS = ("core", "0006_operacao"), ("core", "0007_cabecalhos_de_webhook_cifrados")
CABECALHOS = {"Authorization": "Bearer do-erp", "X-Origem": "fiscal"}


def coluna_bruta(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT headers FROM core_webhook WHERE id = %s", [pk])
        valor = cursor.fetchone()[0]
    return valor if isinstance(valor, str) else json.dumps(valor)  # PostgreSQL's jsonb arrives decoded


def migrar(alvo) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate([alvo])
    return executor


@pytest.mark.django_db
def test_a_new_webhook_stores_its_headers_encrypted(org):
    [webhook] = inserir(Webhook, org, [Webhook(organizacao=org, nome="ERP", url="https://erp.example.com/h",
                                               segredo="whsec_x", headers=CABECALHOS)])  # fmt: skip

    assert "do-erp" not in coluna_bruta(webhook.pk) and "Authorization" not in coluna_bruta(webhook.pk)
    assert todas_as_organizacoes(Webhook).get(pk=webhook.pk).headers == CABECALHOS


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_headers_stored_in_clear_and_its_reverse_restores_them():
    ultimas = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        # given: a webhook saved before the migration, headers in a JSON column
        antigos = migrar(ANTES).loader.project_state([ANTES]).apps
        organizacao = antigos.get_model("core", "Organizacao").objects.create(nome="Alfa", slug="alfa")
        webhook = antigos.get_model("core", "Webhook").objects.create(
            organizacao=organizacao, nome="ERP", url="https://erp.example.com/h", segredo="whsec_x", headers=CABECALHOS
        )
        assert json.loads(coluna_bruta(webhook.pk)) == CABECALHOS

        # when / then: forward, a token that reads back as the same object
        migrar(DEPOIS)
        assert "do-erp" not in coluna_bruta(webhook.pk)
        assert todas_as_organizacoes(Webhook).get(pk=webhook.pk).headers == CABECALHOS

        # and backward, the JSON in clear again
        migrar(ANTES)
        assert json.loads(coluna_bruta(webhook.pk)) == CABECALHOS
    finally:
        MigrationExecutor(connection).migrate(ultimas)
