"""Registro confiável: assinatura (cadeia ICP-Brasil), documentos genéricos, cancelamentos pendentes, conflitos."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("core", "0007_cabecalhos_de_webhook_cifrados")]

    operations = []
