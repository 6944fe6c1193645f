"""API tokens: stored hashed, named, expiring and revocable."""

from django.conf import settings
from django.db import models

from .base import DaOrganizacao


class TokenDeAPI(DaOrganizacao):
    """An API key of an organization, acting as `usuario`. Only its SHA-256 is stored.

    The key is shown once, when it is created (as webhook secrets are). A fast hash is the right tool
    here, unlike for passwords: the keys are 240-bit random strings, so there is nothing to brute-force,
    and a slow hash would cost every API request.
    """

    usuario = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="usuário", on_delete=models.CASCADE, related_name="tokens_de_api")
    nome = models.CharField(max_length=100)
    # The first characters of the key, enough to tell tokens apart in lists without revealing them.
    prefixo = models.CharField(max_length=12, db_index=True)
    hash = models.CharField(max_length=64, unique=True)  # SHA-256 hex of the whole key
    criado_em = models.DateTimeField(auto_now_add=True)
    criado_por = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    expira_em = models.DateTimeField("expira em", null=True, blank=True)
    ultimo_uso_em = models.DateTimeField("último uso em", null=True, blank=True)
    revogado_em = models.DateTimeField("revogado em", null=True, blank=True)

    class Meta:
        verbose_name = "token de API"
        verbose_name_plural = "tokens de API"
        ordering = ["-id"]
        indexes = [models.Index(fields=["organizacao", "criado_em"], name="tokendeapi_org_criado_idx")]

    def __str__(self):
        return f"{self.nome} ({self.prefixo}…)"
