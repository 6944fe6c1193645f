"""Registro confiável: um cursor de NSU por (CNPJ, serviço, ambiente); ciência pendente; resposta perdida.

The per-organization cursors of one (CNPJ, service, ambiente) become one shared row. When two organizations
had different positions, the row with the highest consistent ultNSU (ult_nsu <= max_nsu; it is where
SEFAZ last moved that sequence) is kept, the longest waits and blocks of both are kept, and the NSUs between
the lowest and the highest ultNSU become gaps (consNSU fills them, 20 per hour), so the organization that
was behind still receives what the other one had already fetched.
"""

import django.db.models.deletion
from django.db import migrations, models

MAX_LACUNAS = 1000  # core.sefaz.distribuicao.MAX_LACUNAS, frozen here


def _maior(*datas):
    datas = [d for d in datas if d]
    return max(datas) if datas else None


def juntar_cursores(apps, schema_editor):
    Cursor = apps.get_model("core", "CursorDistribuicao")
    Consulta = apps.get_model("core", "ConsultaSEFAZ")
    grupos = {}
    for cursor in Cursor.objects.order_by("id"):
        grupos.setdefault((cursor.documento, cursor.servico, cursor.ambiente), []).append(cursor)
    for cursores in grupos.values():
        if len(cursores) < 2:
            continue
        consistentes = [c for c in cursores if c.max_nsu == 0 or c.ult_nsu <= c.max_nsu] or cursores
        mantido = max(consistentes, key=lambda c: (c.ult_nsu, c.ultima_consulta_em is not None, c.ultima_consulta_em or 0))
        outros = [c for c in cursores if c.pk != mantido.pk]
        menor = min(c.ult_nsu for c in cursores)
        lacunas = set(mantido.lacunas or [])
        for cursor in outros:
            lacunas |= set(cursor.lacunas or [])
        lacunas |= set(range(menor + 1, mantido.ult_nsu + 1))
        mantido.lacunas = sorted(lacunas)[-MAX_LACUNAS:]
        mantido.max_nsu = max(c.max_nsu for c in cursores)
        mantido.proxima_consulta_em = _maior(*(c.proxima_consulta_em for c in cursores))
        mantido.bloqueado_ate = _maior(*(c.bloqueado_ate for c in cursores))
        mantido.ultima_consulta_em = _maior(*(c.ultima_consulta_em for c in cursores))
        mantido.consultas_avulsas = sorted({m for c in cursores for m in (c.consultas_avulsas or [])})[-20:]
        mantido.reservado_por, mantido.reservado_ate = "", None
        mantido.save()
        Consulta.objects.filter(cursor__in=outros).update(cursor=mantido)
        Cursor.objects.filter(pk__in=[c.pk for c in outros]).delete()
    if schema_editor.connection.vendor == "postgresql":
        # The deferred foreign-key checks of the rows changed above must run before the ALTER TABLEs that
        # follow in this transaction ("pending trigger events").
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [("core", "0009_importacoes_guardadas")]

    operations = [
        migrations.CreateModel(
            name="Manifestacao",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("chave", models.CharField(max_length=44)),
                ("tipo", models.CharField(help_text="ciencia, confirmacao, desconhecimento ou nao_realizada", max_length=16)),
                ("documento", models.CharField(help_text="CNPJ/CPF do autor (o destinatário)", max_length=14)),
                ("origem", models.CharField(default="api", help_text="automatica, api, admin ou comando", max_length=12)),
                ("situacao", models.CharField(choices=[("pendente", "Pendente (será tentada de novo)"), ("registrada", "Registrada na SEFAZ"), ("falhou", "Falhou (não é tentada de novo)")], default="pendente", max_length=10)),
                ("tentativas", models.PositiveIntegerField(default=0)),
                ("cstat", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("xmotivo", models.CharField(blank=True, max_length=500)),
                ("protocolo", models.CharField(blank=True, max_length=20)),
                ("erro", models.TextField(blank=True)),
                ("criada_em", models.DateTimeField(auto_now_add=True)),
                ("ultima_tentativa_em", models.DateTimeField(blank=True, null=True)),
                ("registrada_em", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "verbose_name": "manifestação do destinatário",
                "verbose_name_plural": "manifestações do destinatário",
                "ordering": ["-id"],
            },
        ),
        migrations.CreateModel(
            name="TentativaDeManifestacao",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("criada_em", models.DateTimeField(auto_now_add=True)),
                ("cstat", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("xmotivo", models.CharField(blank=True, max_length=500)),
                ("erro", models.TextField(blank=True)),
                ("origem", models.CharField(default="api", max_length=12)),
            ],
            options={
                "verbose_name": "tentativa de manifestação",
                "verbose_name_plural": "tentativas de manifestação",
                "ordering": ["id"],
            },
        ),
        migrations.AddField(
            model_name="cursordistribuicao",
            name="chamada_em_andamento_em",
            field=models.DateTimeField(blank=True, help_text="distNSU enviado cuja resposta ainda não foi gravada", null=True),
        ),
        migrations.RemoveConstraint(model_name="cursordistribuicao", name="cursor_distribuicao_unico"),
        migrations.RunPython(juntar_cursores, migrations.RunPython.noop),
        migrations.RemoveField(model_name="cursordistribuicao", name="organizacao"),
        migrations.AddConstraint(
            model_name="cursordistribuicao",
            constraint=models.UniqueConstraint(fields=("documento", "servico", "ambiente"), name="cursor_distribuicao_por_cnpj"),
        ),
        migrations.AddField(
            model_name="manifestacao",
            name="certificado",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="core.certificadodigital"),
        ),
        migrations.AddField(
            model_name="manifestacao",
            name="organizacao",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="core.organizacao"),
        ),
        migrations.AddField(
            model_name="tentativademanifestacao",
            name="manifestacao",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="historico", to="core.manifestacao"),
        ),
        migrations.AddField(
            model_name="tentativademanifestacao",
            name="organizacao",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="core.organizacao"),
        ),
        migrations.AddIndex(
            model_name="manifestacao",
            index=models.Index(fields=["organizacao", "situacao", "documento"], name="manifestacao_pendente_idx"),
        ),
        migrations.AddConstraint(
            model_name="manifestacao",
            constraint=models.UniqueConstraint(fields=("organizacao", "chave", "tipo"), name="manifestacao_unica"),
        ),
        migrations.AddIndex(
            model_name="tentativademanifestacao",
            index=models.Index(fields=["organizacao", "manifestacao"], name="tentativa_manifestacao_idx"),
        ),
    ]
