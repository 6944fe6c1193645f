"""A1 certificates and the automatic capture of documents from SEFAZ (NFeDistribuicaoDFe / CTeDistribuicaoDFe).

Vocabulary (SEFAZ.md §1):
- a *cursor* is one NSU sequence at the Ambiente Nacional: per (CNPJ-14 or CPF, service, ambiente).
  Every query of that sequence must continue from the `ultNSU` SEFAZ returned last, one at a time, and
  respect SEFAZ's waits (`proxima_consulta_em`); the cursor row is the lock that serialises them.
- a *consulta* is one SOAP call, kept as a `ConsultaSEFAZ` row (the history and the audit log).
"""

from django.core.validators import MinValueValidator
from django.db import models

from core.cripto import CampoCifrado

from .base import DaOrganizacao

INTERVALO_MINIMO_MINUTOS = 60


class Ambiente(models.IntegerChoices):
    PRODUCAO = 1, "Produção"
    HOMOLOGACAO = 2, "Homologação"


class Servico(models.TextChoices):
    NFE = "nfe", "NF-e (NFeDistribuicaoDFe)"
    CTE = "cte", "CT-e (CTeDistribuicaoDFe)"


def servicos_padrao() -> list[str]:
    return [Servico.NFE, Servico.CTE]


class ConfiguracaoConsulta(DaOrganizacao):
    """Organization-wide defaults for the automatic capture; a certificate may override each one."""

    intervalo_minutos = models.PositiveIntegerField(
        default=INTERVALO_MINIMO_MINUTOS, validators=[MinValueValidator(INTERVALO_MINIMO_MINUTOS)]
    )
    servicos = models.JSONField(default=servicos_padrao)
    ciencia_automatica = models.BooleanField(default=False)
    # Extra addresses told about capture problems (blocked certificate, 593...), besides the members.
    destinatarios = models.JSONField(default=list, blank=True)
    atualizado_em = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "configuração de consulta"
        verbose_name_plural = "configurações de consulta"
        constraints = [models.UniqueConstraint(fields=["organizacao"], name="configuracaoconsulta_unica")]

    def __str__(self):
        return f"Configuração de consulta da organização {self.organizacao_id}"


class CertificadoDigital(DaOrganizacao):
    """An A1 (PKCS#12) certificate. The file and its password are encrypted at rest and never shown."""

    nome = models.CharField(max_length=100, blank=True, help_text="Apelido livre")
    pfx = CampoCifrado(binario=True)
    senha = CampoCifrado()
    # Metadata read from the certificate on upload.
    cnpj = models.CharField(max_length=14, blank=True)
    cpf = models.CharField(max_length=11, blank=True)
    titular = models.CharField(max_length=200)
    emissor = models.CharField(max_length=200)
    numero_serie = models.CharField(max_length=64)
    thumbprint = models.CharField(max_length=64, help_text="SHA-256 do certificado, em hexadecimal")
    validade_inicio = models.DateTimeField()
    validade_fim = models.DateTimeField()
    # Automation. NULL means "the organization's default" (ConfiguracaoConsulta).
    consulta_automatica = models.BooleanField(default=False)
    intervalo_minutos = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(INTERVALO_MINIMO_MINUTOS)]
    )
    # Blank when unknown: NF-e queries may omit cUFAutor, CT-e ones may not (SEFAZ.md §1.3, §2.2), so
    # consulta_automatica requires it (core.certificados).
    uf = models.CharField(
        max_length=2, blank=True, help_text="Código IBGE da UF do interessado (cUFAutor), ex.: 35"
    )
    ambiente = models.PositiveSmallIntegerField(choices=Ambiente.choices, default=Ambiente.PRODUCAO)
    servicos = models.JSONField(null=True, blank=True)
    ciencia_automatica = models.BooleanField(null=True, blank=True)
    # A problem only a person can fix (593, 589, certificate rejected...): no query runs until it is cleared.
    problema = models.CharField(max_length=300, blank=True, default="")
    problema_em = models.DateTimeField(null=True, blank=True)
    # certificado_vencendo thresholds (30, 15, 7, 1 days) already announced for this validity.
    avisos_de_vencimento = models.JSONField(default=list, blank=True)
    criado_em = models.DateTimeField(auto_now_add=True)
    atualizado_em = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "certificado digital"
        verbose_name_plural = "certificados digitais"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["organizacao", "thumbprint"], name="certificado_unico_por_organizacao"),
        ]
        indexes = [models.Index(fields=["consulta_automatica", "validade_fim"], name="certificado_automatico_idx")]

    def __str__(self):
        return f"{self.titular} ({self.cnpj or self.cpf})"

    @property
    def documento(self) -> str:
        return self.cnpj or self.cpf


class CursorDistribuicao(DaOrganizacao):
    """One NSU sequence at the Ambiente Nacional, and when SEFAZ allows the next query of it."""

    # The NSU position belongs to the CNPJ, not to one certificate file: renewing a certificate (a new
    # upload, then deleting the old one) must keep the cursor and any block, or the next query would
    # restart at NSU 0 (SEFAZ.md §1.9 rule 2: 656) or run inside a block. Hence SET_NULL, not CASCADE.
    certificado = models.ForeignKey(
        CertificadoDigital, on_delete=models.SET_NULL, null=True, blank=True, related_name="cursores",
        help_text="O certificado que consultou por último",
    )
    documento = models.CharField(max_length=14, help_text="CNPJ (14) ou CPF (11) consultado")
    servico = models.CharField(max_length=3, choices=Servico.choices)
    ambiente = models.PositiveSmallIntegerField(choices=Ambiente.choices)
    ult_nsu = models.BigIntegerField(default=0)
    max_nsu = models.BigIntegerField(default=0)
    proxima_consulta_em = models.DateTimeField(null=True, blank=True, help_text="Antes disso, nenhuma consulta")
    bloqueado_ate = models.DateTimeField(null=True, blank=True, help_text="Bloqueio por consumo indevido (656)")
    ultimo_cstat = models.PositiveSmallIntegerField(null=True, blank=True)
    ultima_consulta_em = models.DateTimeField(null=True, blank=True)
    falhas_seguidas = models.PositiveSmallIntegerField(default=0, help_text="Erros transitórios seguidos (backoff)")
    # consNSU/consChNFe budget: at most 20 per rolling hour (SEFAZ.md §1.9 rule 4).
    consultas_avulsas = models.JSONField(default=list, blank=True, help_text="Momentos das consultas avulsas")
    # NSUs skipped (a 656 that moved the cursor ahead, a page with holes): filled later with consNSU.
    lacunas = models.JSONField(default=list, blank=True)
    # The run that holds this sequence (claimed by a conditional UPDATE, never by a lock held across
    # the SOAP call) and until when; a run that died is replaced once the time passes.
    reservado_por = models.CharField(max_length=32, blank=True, default="")
    reservado_ate = models.DateTimeField(null=True, blank=True)
    atualizado_em = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "cursor de distribuição"
        verbose_name_plural = "cursores de distribuição"
        constraints = [
            models.UniqueConstraint(
                fields=["organizacao", "documento", "servico", "ambiente"], name="cursor_distribuicao_unico"
            ),
        ]

    def __str__(self):
        return f"{self.servico} {self.documento} amb {self.ambiente}: NSU {self.ult_nsu}/{self.max_nsu}"


class ConsultaSEFAZ(DaOrganizacao):
    """One call to a SEFAZ web service: what was asked, what came back, how long it took."""

    class Tipo(models.TextChoices):
        DIST_NSU = "distNSU", "distNSU (próximos documentos)"
        CONS_NSU = "consNSU", "consNSU (um NSU)"
        CONS_CHAVE = "consChNFe", "consChNFe (uma chave)"
        MANIFESTACAO = "manifestacao", "Manifestação do destinatário"

    certificado = models.ForeignKey(CertificadoDigital, on_delete=models.SET_NULL, null=True, related_name="+")
    cursor = models.ForeignKey(CursorDistribuicao, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    execucao = models.CharField(max_length=32, blank=True, help_text="Agrupa as chamadas de uma mesma execução")
    documento = models.CharField(max_length=14)
    servico = models.CharField(max_length=3, choices=Servico.choices)
    ambiente = models.PositiveSmallIntegerField(choices=Ambiente.choices)
    tipo = models.CharField(max_length=12, choices=Tipo.choices)
    nsu_consultado = models.BigIntegerField(null=True, blank=True)
    chave_consultada = models.CharField(max_length=44, blank=True)
    cstat = models.PositiveSmallIntegerField(null=True, blank=True)
    xmotivo = models.CharField(max_length=500, blank=True)
    ult_nsu = models.BigIntegerField(null=True, blank=True)
    max_nsu = models.BigIntegerField(null=True, blank=True)
    documentos = models.PositiveIntegerField(default=0, help_text="docZip recebidos")
    importados = models.PositiveIntegerField(default=0, help_text="Documentos novos ou atualizados")
    duracao_ms = models.PositiveIntegerField(null=True, blank=True)
    erro = models.TextField(blank=True)
    origem = models.CharField(max_length=12, default="agendada", help_text="agendada, api, admin ou comando")
    criada_em = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "consulta à SEFAZ"
        verbose_name_plural = "consultas à SEFAZ"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["organizacao", "criada_em"], name="consulta_org_data_idx"),
            models.Index(fields=["organizacao", "certificado", "criada_em"], name="consulta_org_cert_idx"),
        ]

    def __str__(self):
        return f"{self.tipo} {self.servico} {self.documento}: {self.cstat or self.erro[:40]}"
