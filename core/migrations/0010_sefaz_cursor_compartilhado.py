"""Registro confiável: um cursor de NSU por (CNPJ, serviço, ambiente); ciência pendente; resposta perdida."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("core", "0009_importacoes_guardadas")]

    operations = []
