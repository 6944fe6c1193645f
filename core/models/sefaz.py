"""A1 certificates and the automatic capture of documents from SEFAZ (NFeDistribuicaoDFe / CTeDistribuicaoDFe).

Vocabulary (NT 2014.002, NFeDistribuicaoDFe; the same for CTeDistribuicaoDFe):
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
        "intervalo (minutos)", default=INTERVALO_MINIMO_MINUTOS, validators=[MinValueValidator(INTERVALO_MINIMO_MINUTOS)]
    )
    servicos = models.JSONField("serviços", default=servicos_padrao)
    ciencia_automatica = models.BooleanField("ciência automática", default=False)
    # Extra addresses told about capture problems (blocked certificate, 593...), besides the members.
    destinatarios = models.JSONField("destinatários", default=list, blank=True)
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
    pfx = CampoCifrado("arquivo PFX", binario=True)
    senha = CampoCifrado()
    # Metadata read from the certificate on upload.
    cnpj = models.CharField("CNPJ", max_length=14, blank=True)
    cpf = models.CharField("CPF", max_length=11, blank=True)
    titular = models.CharField(max_length=200)
    emissor = models.CharField(max_length=200)
    numero_serie = models.CharField("número de série", max_length=64)
    thumbprint = models.CharField(max_length=64, help_text="SHA-256 do certificado, em hexadecimal")
    validade_inicio = models.DateTimeField("válido a partir de")
    validade_fim = models.DateTimeField("válido até")
    # Automation. NULL means "the organization's default" (ConfiguracaoConsulta).
    consulta_automatica = models.BooleanField("consulta automática", default=False)
    intervalo_minutos = models.PositiveIntegerField(
        "intervalo (minutos)", null=True, blank=True, validators=[MinValueValidator(INTERVALO_MINIMO_MINUTOS)]
    )
    # Blank when unknown: NF-e queries may omit cUFAutor, CT-e ones may not (distDFeInt_v1.01.xsd /
    # CT-e distDFeInt_v1.00.xsd), so
    # consulta_automatica requires it (core.certificados).
    uf = models.CharField("UF", max_length=2, blank=True, help_text="Código IBGE da UF do interessado (cUFAutor), ex.: 35")
    ambiente = models.PositiveSmallIntegerField(choices=Ambiente.choices, default=Ambiente.PRODUCAO)
    servicos = models.JSONField("serviços", null=True, blank=True)
    ciencia_automatica = models.BooleanField("ciência automática", null=True, blank=True)
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


class CursorDistribuicao(models.Model):
    """One NSU sequence at the Ambiente Nacional, and when SEFAZ allows the next query of it.

    Not owned by an organization: SEFAZ keeps ONE sequence per (CNPJ/CPF, service, ambiente) for
    everyone who queries it (NT 2014.002 §3.11.4, "consumo indevido", rule of the sequential ultNSU), so
    every organization holding a valid certificate of that CNPJ shares this row
    (`core.sefaz.cursores.organizacoes_do_documento`) and each document fetched is imported into each
    of them. It holds no document, only the position; the organizations' data stay behind `escopo`.
    """

    # The NSU position belongs to the CNPJ, not to one certificate file: renewing a certificate (a new
    # upload, then deleting the old one) or removing it from one of the organizations must keep the
    # cursor and any block, or the next query would restart at NSU 0 (656) or run inside a block.
    # Hence SET_NULL, not CASCADE.
    certificado = models.ForeignKey(
        CertificadoDigital,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cursores",
        help_text="O certificado que consultou por último",
    )
    documento = models.CharField("CNPJ/CPF", max_length=14, help_text="CNPJ (14) ou CPF (11) consultado")
    servico = models.CharField("serviço", max_length=3, choices=Servico.choices)
    ambiente = models.PositiveSmallIntegerField(choices=Ambiente.choices)
    ult_nsu = models.BigIntegerField("último NSU", default=0)
    max_nsu = models.BigIntegerField("maior NSU", default=0)
    proxima_consulta_em = models.DateTimeField("próxima consulta em", null=True, blank=True, help_text="Antes disso, nenhuma consulta")
    bloqueado_ate = models.DateTimeField("bloqueado até", null=True, blank=True, help_text="Bloqueio por consumo indevido (656)")
    # Set (and committed) right before each distNSU and cleared with its answer: still set afterwards means
    # the answer was lost (crash, timeout, connection reset) and SEFAZ may have moved on without us.
    chamada_em_andamento_em = models.DateTimeField(
        "chamada em andamento desde", null=True, blank=True, help_text="distNSU enviado cuja resposta ainda não foi gravada"
    )
    ultimo_cstat = models.PositiveSmallIntegerField("último cStat", null=True, blank=True)
    ultima_consulta_em = models.DateTimeField("última consulta em", null=True, blank=True)
    falhas_seguidas = models.PositiveSmallIntegerField(default=0, help_text="Erros transitórios seguidos (backoff)")
    # consNSU/consChNFe budget: at most 20 per rolling hour (NT 2014.002 §3.11.4).
    consultas_avulsas = models.JSONField(default=list, blank=True, help_text="Momentos das consultas avulsas")
    # NSUs skipped (a 656 that moved the cursor ahead, a page with holes): filled later with consNSU.
    lacunas = models.JSONField(default=list, blank=True)
    # The run that holds this sequence (claimed by a conditional UPDATE, never by a lock held across
    # the SOAP call) and until when; a run that died is replaced once the time passes.
    reservado_por = models.CharField(max_length=32, blank=True, default="")
    reservado_ate = models.DateTimeField("reservado até", null=True, blank=True)
    atualizado_em = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "cursor de distribuição"
        verbose_name_plural = "cursores de distribuição"
        constraints = [
            models.UniqueConstraint(fields=["documento", "servico", "ambiente"], name="cursor_distribuicao_por_cnpj"),
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
    execucao = models.CharField("execução", max_length=32, blank=True, help_text="Agrupa as chamadas de uma mesma execução")
    documento = models.CharField("CNPJ/CPF", max_length=14)
    servico = models.CharField("serviço", max_length=3, choices=Servico.choices)
    ambiente = models.PositiveSmallIntegerField(choices=Ambiente.choices)
    tipo = models.CharField(max_length=12, choices=Tipo.choices)
    nsu_consultado = models.BigIntegerField("NSU consultado", null=True, blank=True)
    chave_consultada = models.CharField("chave consultada", max_length=44, blank=True)
    cstat = models.PositiveSmallIntegerField("cStat", null=True, blank=True)
    xmotivo = models.CharField("motivo (xMotivo)", max_length=500, blank=True)
    ult_nsu = models.BigIntegerField("último NSU", null=True, blank=True)
    max_nsu = models.BigIntegerField("maior NSU", null=True, blank=True)
    documentos = models.PositiveIntegerField(default=0, help_text="docZip recebidos")
    importados = models.PositiveIntegerField(default=0, help_text="Documentos novos ou atualizados")
    duracao_ms = models.PositiveIntegerField("duração (ms)", null=True, blank=True)
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


class Manifestacao(DaOrganizacao):
    """A manifestação do destinatário asked for one NF-e, until SEFAZ registers it.

    A ciência that fails (HTTP error, timeout, a cStat other than 135/136/573) stays `pendente` and is
    sent again by every later capture run of the certificate's CNPJ; each try is a `TentativaDeManifestacao`.
    """

    class Situacao(models.TextChoices):
        PENDENTE = "pendente", "Pendente (será tentada de novo)"
        REGISTRADA = "registrada", "Registrada na SEFAZ"
        FALHOU = "falhou", "Falhou (não é tentada de novo)"

    chave = models.CharField("chave de acesso", max_length=44)
    tipo = models.CharField(max_length=16, help_text="ciencia, confirmacao, desconhecimento ou nao_realizada")
    documento = models.CharField("CNPJ/CPF", max_length=14, help_text="CNPJ/CPF do autor (o destinatário)")
    certificado = models.ForeignKey(CertificadoDigital, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    origem = models.CharField(max_length=12, default="api", help_text="automatica, api, admin ou comando")
    situacao = models.CharField("situação", max_length=10, choices=Situacao.choices, default=Situacao.PENDENTE)
    tentativas = models.PositiveIntegerField(default=0)
    cstat = models.PositiveSmallIntegerField("cStat", null=True, blank=True)
    xmotivo = models.CharField("motivo (xMotivo)", max_length=500, blank=True)
    protocolo = models.CharField(max_length=20, blank=True)
    erro = models.TextField(blank=True)
    criada_em = models.DateTimeField(auto_now_add=True)
    ultima_tentativa_em = models.DateTimeField("última tentativa em", null=True, blank=True)
    registrada_em = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "manifestação do destinatário"
        verbose_name_plural = "manifestações do destinatário"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["organizacao", "chave", "tipo"], name="manifestacao_unica"),
        ]
        indexes = [models.Index(fields=["organizacao", "situacao", "documento"], name="manifestacao_pendente_idx")]

    def __str__(self):
        return f"{self.tipo} {self.chave}: {self.situacao}"


class TentativaDeManifestacao(DaOrganizacao):
    """One try to register a `Manifestacao`: when, and what SEFAZ answered (or why nothing came back)."""

    manifestacao = models.ForeignKey(Manifestacao, verbose_name="manifestação", on_delete=models.CASCADE, related_name="historico")
    criada_em = models.DateTimeField(auto_now_add=True)
    cstat = models.PositiveSmallIntegerField("cStat", null=True, blank=True)
    xmotivo = models.CharField("motivo (xMotivo)", max_length=500, blank=True)
    erro = models.TextField(blank=True)
    origem = models.CharField(max_length=12, default="api")

    class Meta:
        verbose_name = "tentativa de manifestação"
        verbose_name_plural = "tentativas de manifestação"
        ordering = ["id"]
        indexes = [models.Index(fields=["organizacao", "manifestacao"], name="tentativa_manifestacao_idx")]

    def __str__(self):
        return f"{self.manifestacao_id}: {self.cstat or self.erro[:40]}"
