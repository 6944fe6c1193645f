"""Registro confiável: assinatura (cadeia ICP-Brasil), documentos genéricos (GTV-e, CT-e Simplificado),
digest dos eventos (conflitos)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("core", "0007_cabecalhos_de_webhook_cifrados")]

    operations = [
        migrations.AddField(
            model_name='eventodocumento',
            name='digest_value',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='cte',
            name='assinatura',
            field=models.CharField(choices=[('valida', 'Válida (ICP-Brasil)'), ('cadeia_desconhecida', 'Válida, mas o certificado não é de uma AC ICP-Brasil conhecida'), ('ausente', 'Ausente (resumo)'), ('invalida', 'Inválida (recusada na reconferência)')], max_length=20),
        ),
        migrations.AlterField(
            model_name='eventodocumento',
            name='assinatura',
            field=models.CharField(choices=[('valida', 'Válida (ICP-Brasil)'), ('cadeia_desconhecida', 'Válida, mas o certificado não é de uma AC ICP-Brasil conhecida'), ('ausente', 'Ausente (resumo)'), ('invalida', 'Inválida (recusada na reconferência)')], max_length=20),
        ),
        migrations.AlterField(
            model_name='nfe',
            name='assinatura',
            field=models.CharField(choices=[('valida', 'Válida (ICP-Brasil)'), ('cadeia_desconhecida', 'Válida, mas o certificado não é de uma AC ICP-Brasil conhecida'), ('ausente', 'Ausente (resumo)'), ('invalida', 'Inválida (recusada na reconferência)')], max_length=20),
        ),
        migrations.CreateModel(
            name='OutroDocumento',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('chave', models.CharField(max_length=44)),
                ('modelo', models.CharField(max_length=2)),
                ('serie', models.PositiveIntegerField()),
                ('numero', models.PositiveIntegerField()),
                ('data_emissao', models.DateTimeField()),
                ('data_emissao_local', models.DateField(editable=False)),
                ('natureza_operacao', models.CharField(blank=True, max_length=200)),
                ('ambiente', models.PositiveSmallIntegerField(default=1)),
                ('emitente_documento', models.CharField(max_length=14)),
                ('emitente_nome', models.CharField(blank=True, max_length=200)),
                ('emitente_uf', models.CharField(blank=True, max_length=2)),
                ('emitente_ie', models.CharField(blank=True, max_length=20)),
                ('destinatario_documento', models.CharField(blank=True, max_length=20)),
                ('destinatario_nome', models.CharField(blank=True, max_length=200)),
                ('destinatario_uf', models.CharField(blank=True, max_length=2)),
                ('situacao', models.CharField(choices=[('resumo', 'Resumo (aguardando XML completo)'), ('autorizada', 'Autorizada'), ('cancelada', 'Cancelada'), ('denegada', 'Denegada'), ('sem_protocolo', 'Sem protocolo')], max_length=20)),
                ('completa', models.BooleanField(default=True)),
                ('assinatura', models.CharField(choices=[('valida', 'Válida (ICP-Brasil)'), ('cadeia_desconhecida', 'Válida, mas o certificado não é de uma AC ICP-Brasil conhecida'), ('ausente', 'Ausente (resumo)'), ('invalida', 'Inválida (recusada na reconferência)')], max_length=20)),
                ('origem', models.CharField(choices=[('upload', 'Upload'), ('pasta', 'Pasta'), ('sefaz', 'SEFAZ')], max_length=10)),
                ('nsu', models.BigIntegerField(blank=True, null=True)),
                ('protocolo', models.CharField(blank=True, max_length=20)),
                ('data_recebimento', models.DateTimeField(blank=True, null=True)),
                ('codigo_status', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('digest_value', models.CharField(blank=True, max_length=64)),
                ('criado_em', models.DateTimeField(auto_now_add=True)),
                ('atualizado_em', models.DateTimeField(auto_now=True)),
                ('tipo', models.CharField(choices=[('gtve', 'GTV-e (Guia de Transporte de Valores)'), ('cte_simplificado', 'CT-e Simplificado'), ('outro', 'Outro DF-e (tipo ainda não lido por completo)')], max_length=20)),
                ('tipo_xml', models.CharField(help_text='Elemento raiz: GTVeProc, cteSimpProc...', max_length=20)),
                ('valor_total', models.DecimalField(blank=True, decimal_places=2, max_digits=15, null=True)),
                ('arquivo', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='core.arquivoxml')),
                ('organizacao', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.organizacao')),
            ],
            options={
                'verbose_name': 'outro documento fiscal',
                'verbose_name_plural': 'outros documentos fiscais',
                'indexes': [models.Index(fields=['organizacao', '-data_emissao', '-id'], name='outrodoc_emissao_idx')],
                'constraints': [models.UniqueConstraint(fields=('organizacao', 'chave'), name='outrodocumento_chave_unica')],
            },
        ),
        migrations.AddField(
            model_name="eventodocumento",
            name="outro",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="eventos",
                to="core.outrodocumento",
            ),
        ),
    ]
