"""The customer account (tenant) and who belongs to it."""

from django.conf import settings
from django.db import models


# Brazil's zones in the tz database (zone.tab, country BR), with the states each covers: the label is
# what a person recognizes, the value what zoneinfo reads.
FUSOS_DO_BRASIL = [
    ("America/Noronha", "Fernando de Noronha (UTC−2)"),
    ("America/Belem", "Pará (leste), Amapá (UTC−3)"),
    ("America/Fortaleza", "MA, PI, CE, RN, PB (UTC−3)"),
    ("America/Recife", "Pernambuco (UTC−3)"),
    ("America/Araguaina", "Tocantins (UTC−3)"),
    ("America/Maceio", "Alagoas, Sergipe (UTC−3)"),
    ("America/Bahia", "Bahia (UTC−3)"),
    ("America/Sao_Paulo", "Brasília: GO, DF, MG, ES, RJ, SP, PR, SC, RS (UTC−3)"),
    ("America/Campo_Grande", "Mato Grosso do Sul (UTC−4)"),
    ("America/Cuiaba", "Mato Grosso (UTC−4)"),
    ("America/Santarem", "Pará (oeste) (UTC−3)"),
    ("America/Porto_Velho", "Rondônia (UTC−4)"),
    ("America/Boa_Vista", "Roraima (UTC−4)"),
    ("America/Manaus", "Amazonas (leste) (UTC−4)"),
    ("America/Eirunepe", "Amazonas (oeste) (UTC−5)"),
    ("America/Rio_Branco", "Acre (UTC−5)"),
]
FUSO_PADRAO = "America/Sao_Paulo"


class Organizacao(models.Model):
    """A customer account. Every document, certificate, webhook and log belongs to one."""

    nome = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    ativa = models.BooleanField(default=True)
    # API requests per minute for this organization's tokens; NULL: settings.RATE_LIMIT_PER_MINUTE.
    limite_requisicoes_por_minuto = models.PositiveIntegerField("limite de requisições por minuto", null=True, blank=True)
    # Dates and times in the admin and the e-mails read in this zone (core.fuso_horario); stored
    # dates (data_emissao_local, the API's days) stay in settings.TIME_ZONE.
    fuso_horario = models.CharField("fuso horário", max_length=40, choices=FUSOS_DO_BRASIL, default=FUSO_PADRAO)
    criada_em = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "organização"
        verbose_name_plural = "organizações"
        ordering = ["nome"]

    def __str__(self):
        return self.nome


class Membro(models.Model):
    """Links a Django user to the one organization they work in."""

    class Papel(models.TextChoices):
        ADMINISTRADOR = "administrador", "Administrador"
        MEMBRO = "membro", "Membro"

    usuario = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name="usuário", on_delete=models.CASCADE, related_name="membro")
    organizacao = models.ForeignKey(Organizacao, verbose_name="organização", on_delete=models.CASCADE, related_name="membros")
    papel = models.CharField(max_length=20, choices=Papel.choices, default=Papel.MEMBRO)
    criado_em = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "membro"
        verbose_name_plural = "membros"

    def __str__(self):
        return f"{self.usuario} @ {self.organizacao}"
