"""Operating the service: API request log, scheduled-task locks and runs, daily reports sent."""

from django.conf import settings
from django.db import models

from .organizacao import Organizacao


class APIRequestLog(models.Model):
    """One /api/ request: who, what, how it ended and how long it took.

    Not a `DaOrganizacao`: anonymous and refused requests have no organization. Written in batches after
    the response is built (core/registro_requisicoes.py).
    """

    metodo = models.CharField("método", max_length=10)
    caminho = models.CharField(max_length=500)
    status = models.PositiveSmallIntegerField()
    duracao_ms = models.PositiveIntegerField("duração (ms)")
    ip = models.GenericIPAddressField("IP", null=True, blank=True)
    user_agent = models.CharField("user agent", max_length=300, blank=True)
    usuario = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+", db_index=False, verbose_name="usuário")  # fmt: skip
    organizacao = models.ForeignKey(Organizacao, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
                                    db_index=False, verbose_name="organização")  # fmt: skip
    criado_em = models.DateTimeField("criado em")

    class Meta:
        verbose_name = "requisição à API"
        verbose_name_plural = "requisições à API"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["criado_em"], name="apirequestlog_data_idx"),  # cleanup
            models.Index(fields=["organizacao", "criado_em"], name="apirequestlog_org_data_idx"),
        ]

    def __str__(self):
        return f"{self.metodo} {self.caminho} {self.status}"


class ContadorDeRequisicoes(models.Model):
    """One rate-limit window's count for one caller, shared by every process on the database.

    Used when RATE_LIMIT_CACHE is not shared between processes (local memory, the default): each request
    is one atomic UPSERT (core.limite.contadores.contar_no_banco) and nothing else. Each process's request log
    writer thread deletes the ended windows once a minute, and the daily `limpeza_logs` whatever is left,
    so the table holds about two minutes of callers, plus the admin's failed logins (core/login.py,
    `login:` keys) until their ADMIN_LOGIN_JANELA_SEGUNDOS window ends.
    """

    chave = models.CharField(max_length=120, primary_key=True)  # core.limite.contadores.chave_do_contador
    fim_da_janela = models.BigIntegerField("fim da janela", db_index=True)  # Unix seconds; the cleanup's range
    contagem = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "contador de requisições"
        verbose_name_plural = "contadores de requisições"

    def __str__(self):
        return f"{self.chave}: {self.contagem}"


class TravaDeTarefa(models.Model):
    """Who runs a scheduled task now, and until when (a crashed holder's lock expires)."""

    nome = models.CharField(max_length=50, primary_key=True)
    dono = models.CharField(max_length=100)
    adquirida_em = models.DateTimeField("adquirida em")
    expira_em = models.DateTimeField("expira em")

    class Meta:
        verbose_name = "trava de tarefa"
        verbose_name_plural = "travas de tarefas"

    def __str__(self):
        return f"{self.nome} ({self.dono} até {self.expira_em:%H:%M:%S})"


class ExecucaoDeTarefa(models.Model):
    """One run of one scheduled task: when, how long, what it did, whether it failed."""

    class Resultado(models.TextChoices):
        SUCESSO = "sucesso", "Sucesso"
        FALHA = "falha", "Falha"
        PULADA = "pulada", "Pulada (já em execução)"

    tarefa = models.CharField(max_length=50)
    resultado = models.CharField(max_length=10, choices=Resultado.choices)
    resumo = models.TextField(blank=True)
    erro = models.TextField(blank=True)
    simulacao = models.BooleanField("simulação", default=False, help_text="--dry-run")
    iniciada_em = models.DateTimeField("iniciada em")
    duracao_ms = models.PositiveIntegerField("duração (ms)", default=0)

    class Meta:
        verbose_name = "execução de tarefa"
        verbose_name_plural = "execuções de tarefas"
        ordering = ["-id"]
        indexes = [models.Index(fields=["tarefa", "iniciada_em"], name="execucaotarefa_idx")]

    def __str__(self):
        return f"{self.tarefa} {self.iniciada_em:%Y-%m-%d %H:%M} {self.resultado}"


class RelatorioEnviado(models.Model):
    """The daily report of `dia` went to `usuario`: never twice for the same day and member."""

    organizacao = models.ForeignKey(Organizacao, on_delete=models.CASCADE, related_name="+", db_index=False,
                                    verbose_name="organização")  # fmt: skip
    usuario = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                                verbose_name="usuário")  # fmt: skip
    dia = models.DateField()
    enviado_em = models.DateTimeField("enviado em", auto_now_add=True)

    class Meta:
        verbose_name = "relatório diário enviado"
        verbose_name_plural = "relatórios diários enviados"
        constraints = [models.UniqueConstraint(fields=["usuario", "dia"], name="relatorio_unico_por_dia")]

    def __str__(self):
        return f"relatório de {self.dia} para {self.usuario_id}"
