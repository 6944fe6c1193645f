"""Which e-mail notifications each user wants."""

from django.conf import settings
from django.db import models

from .base import DaOrganizacao

# (field, default, label). consulta_concluida starts off: SEFAZ is polled every hour.
TIPOS_DE_NOTIFICACAO = (
    ("nfe_importada", True, "NF-e importada"),
    ("cte_importado", True, "CT-e importado"),
    ("erro_importacao", True, "Erro de importação"),
    ("consulta_concluida", False, "Consulta à SEFAZ concluída"),
    ("certificado_vencendo", True, "Certificado digital vencendo"),
    ("resumo_diario", True, "Resumo diário"),
    ("webhook_desativado", True, "Webhook desativado"),
)
PADROES = {nome: padrao for nome, padrao, _ in TIPOS_DE_NOTIFICACAO}


class PreferenciaNotificacao(DaOrganizacao):
    """One user's choices, in the organization they work in. No row means every default.

    Keyed by (organizacao, usuario) rather than by user alone: a user moved to another organization
    starts there with the defaults instead of carrying choices made for other data.
    """

    usuario = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="usuário", on_delete=models.CASCADE, related_name="+")
    nfe_importada = models.BooleanField("NF-e importada", default=PADROES["nfe_importada"])
    cte_importado = models.BooleanField("CT-e importado", default=PADROES["cte_importado"])
    erro_importacao = models.BooleanField("erro de importação", default=PADROES["erro_importacao"])
    consulta_concluida = models.BooleanField("consulta à SEFAZ concluída", default=PADROES["consulta_concluida"])
    certificado_vencendo = models.BooleanField("certificado vencendo", default=PADROES["certificado_vencendo"])
    resumo_diario = models.BooleanField("resumo diário", default=PADROES["resumo_diario"])
    webhook_desativado = models.BooleanField("webhook desativado", default=PADROES["webhook_desativado"])
    atualizado_em = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "preferência de notificação"
        verbose_name_plural = "preferências de notificação"
        constraints = [
            models.UniqueConstraint(fields=["organizacao", "usuario"], name="preferencianotificacao_unica"),
        ]

    def __str__(self):
        return f"notificações de {self.usuario_id}"

    def quer(self, tipo: str) -> bool:
        return bool(getattr(self, tipo))
