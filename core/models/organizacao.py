"""The customer account (tenant) and who belongs to it."""

from django.conf import settings
from django.db import models


class Organizacao(models.Model):
    """A customer account. Every document, certificate, webhook and log belongs to one."""

    nome = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    ativa = models.BooleanField(default=True)
    # API requests per minute for this organization's tokens; NULL: settings.RATE_LIMIT_PER_MINUTE.
    limite_requisicoes_por_minuto = models.PositiveIntegerField("limite de requisições por minuto", null=True, blank=True)
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
