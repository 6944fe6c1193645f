"""The audit trail of every import attempt."""

from django.conf import settings
from django.db import models

from .base import DaOrganizacao
from .documentos import ArquivoXML, Origem


class ImportLog(DaOrganizacao):
    """One row per file (or ZIP entry) we tried to import, whatever the outcome."""

    class Status(models.TextChoices):
        SUCESSO = "sucesso", "Sucesso"
        DUPLICADO = "duplicado", "Duplicado"
        ERRO = "erro", "Erro"

    arquivo = models.CharField(max_length=500, help_text="Nome do arquivo; entradas de ZIP como lote.zip/a.xml")
    chave = models.CharField("chave de acesso", max_length=44, blank=True)
    tipo_xml = models.CharField("tipo de XML", max_length=20, blank=True, help_text="Elemento raiz: nfeProc, resNFe, cteProc...")
    status = models.CharField(max_length=10, choices=Status.choices)
    mensagem = models.TextField(blank=True)
    origem = models.CharField(max_length=10, choices=Origem.choices)
    nsu = models.BigIntegerField("NSU", null=True, blank=True)
    usuario = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="usuário", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", db_index=False,
    )  # fmt: skip
    # The bytes this attempt received (a stored document shares its own row: one copy, not two). Empty
    # for a file over the size limits, for attempts older than this field, and when nothing was read.
    xml = models.ForeignKey(
        ArquivoXML, null=True, blank=True, on_delete=models.PROTECT, related_name="importacoes",
        verbose_name="arquivo recebido",
    )  # fmt: skip
    tamanho = models.PositiveBigIntegerField(null=True, blank=True, help_text="Bytes recebidos")
    sha256 = models.CharField("SHA-256", max_length=64, blank=True, help_text="SHA-256 dos bytes recebidos")
    # Always the first attempt of the file (a reprocess of a reprocess points at the same original).
    reprocessado_de = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reprocessamentos",
        verbose_name="reprocessamento de",
    )  # fmt: skip
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

    @property
    def original_id(self) -> int:
        """The first attempt of this file: where every reprocess of it points."""
        return self.reprocessado_de_id or self.pk
