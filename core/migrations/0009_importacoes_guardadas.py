"""Registro confiável: cada tentativa de importação guarda os bytes recebidos; reprocessamento."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("core", "0008_documentos_confiaveis")]

    operations = []
