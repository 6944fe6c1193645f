"""Webhook extra headers (often `Authorization: ...` of the receiver) encrypted at rest, as the secrets are.

The column becomes text; each stored JSON object is then replaced by its Fernet token. Raw SQL on
purpose: the field class now expects tokens, and the rows still hold plain JSON.
"""

import json

from django.db import migrations

import core.cripto


def _linhas(schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, headers FROM core_webhook")
        return cursor.fetchall()


def _gravar(schema_editor, pk, valor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("UPDATE core_webhook SET headers = %s WHERE id = %s", [valor, pk])


def _json_em_claro(valor) -> bool:
    # A JSON object starts with "{"; a Fernet token is URL-safe base64 and never does.
    return isinstance(valor, str) and valor.lstrip().startswith("{")


def cifrar_cabecalhos(apps, schema_editor):
    for pk, valor in _linhas(schema_editor):
        if _json_em_claro(valor):
            texto = json.dumps(json.loads(valor), ensure_ascii=False, separators=(",", ":"))
            _gravar(schema_editor, pk, core.cripto.cifrar(texto))


def decifrar_cabecalhos(apps, schema_editor):
    for pk, valor in _linhas(schema_editor):
        if valor is not None and not _json_em_claro(valor):
            _gravar(schema_editor, pk, core.cripto.decifrar_texto(valor))


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_operacao"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhook",
            name="headers",
            field=core.cripto.CampoJSONCifrado(blank=True, default=dict),
        ),
        migrations.RunPython(cifrar_cabecalhos, decifrar_cabecalhos),
    ]
