"""Registro confiável: cada tentativa de importação guarda os bytes recebidos; reprocessamento."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

RAIZES = {"NFe": ("nfeProc", "NFe"), "CTe": ("cteProc", "cteOSProc", "CTe", "CTeOS")}


def ligar_sucessos_aos_xmls(apps, schema_editor):
    """Old attempts kept no bytes, except what their document stores: link the last success of each full
    document to its ArquivoXML (the earlier ones, a summary or a file without protocol, had other bytes)."""
    ImportLog = apps.get_model("core", "ImportLog")
    ArquivoXML = apps.get_model("core", "ArquivoXML")
    for nome, raizes in RAIZES.items():
        modelo = apps.get_model("core", nome)
        sucessos = ImportLog.objects.filter(status="sucesso", tipo_xml__in=raizes, xml__isnull=True)
        ultimo = sucessos.filter(organizacao_id=OuterRef("organizacao_id"), chave=OuterRef("chave")).order_by("-pk")
        documento = modelo.objects.filter(organizacao_id=OuterRef("organizacao_id"), chave=OuterRef("chave"), completa=True)
        sucessos.filter(pk=Subquery(ultimo.values("pk")[:1])).update(xml=Subquery(documento.values("arquivo_id")[:1]))
    arquivo = ArquivoXML.objects.filter(pk=OuterRef("xml_id"))
    ImportLog.objects.filter(xml__isnull=False, tamanho__isnull=True).update(
        tamanho=Subquery(arquivo.values("tamanho")[:1]), sha256=Subquery(arquivo.values("sha256")[:1])
    )
    if schema_editor.connection.vendor == "postgresql":
        # The foreign key checks of these UPDATEs are deferred to the commit, and PostgreSQL refuses the
        # CREATE INDEX this migration runs next on a table with pending trigger events: run them now.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [("core", "0008_documentos_confiaveis")]

    operations = [
        migrations.AddField(
            model_name="importlog",
            name="reprocessado_de",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="reprocessamentos",
                to="core.importlog",
                verbose_name="reprocessamento de",
            ),
        ),
        migrations.AddField(
            model_name="importlog",
            name="sha256",
            field=models.CharField(blank=True, help_text="SHA-256 dos bytes recebidos", max_length=64),
        ),
        migrations.AddField(
            model_name="importlog",
            name="tamanho",
            field=models.PositiveBigIntegerField(blank=True, help_text="Bytes recebidos", null=True),
        ),
        migrations.AddField(
            model_name="importlog",
            name="xml",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="importacoes",
                to="core.arquivoxml",
                verbose_name="arquivo recebido",
            ),
        ),
        migrations.RunPython(ligar_sucessos_aos_xmls, migrations.RunPython.noop),
    ]
