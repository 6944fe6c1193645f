"""The audit trail of every import attempt."""

from django.conf import settings
from django.db import models

from .base import DaOrganizacao
from .documentos import Origem


class ImportLog(DaOrganizacao):
    """One row per file (or ZIP entry) we tried to import, whatever the outcome."""

    class Status(models.TextChoices):
        SUCESSO = "sucesso", "Sucesso"
        DUPLICADO = "duplicado", "Duplicado"
        ERRO = "erro", "Erro"

    arquivo = models.CharField(max_length=500, help_text="Nome do arquivo; entradas de ZIP como lote.zip/a.xml")
    chave = models.CharField(max_length=44, blank=True)
    tipo_xml = models.CharField(max_length=20, blank=True, help_text="Elemento raiz: nfeProc, resNFe, cteProc...")
    status = models.CharField(max_length=10, choices=Status.choices)
    mensagem = models.TextField(blank=True)
    origem = models.CharField(max_length=10, choices=Origem.choices)
    nsu = models.BigIntegerField(null=True, blank=True)
    usuario = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    criado_em = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "log de importação"
        verbose_name_plural = "logs de importação"
        ordering = ["-criado_em", "-id"]
        indexes = [
            models.Index(fields=["organizacao", "-criado_em"], name="importlog_recentes_idx"),
            models.Index(fields=["organizacao", "status", "-criado_em"], name="importlog_status_idx"),
            models.Index(fields=["organizacao", "chave"], name="importlog_chave_idx"),
        ]

    def __str__(self):
        return f"{self.arquivo}: {self.status}"
