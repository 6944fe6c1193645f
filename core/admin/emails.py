"""Admin of the e-mail queue (`EnvioEmail`): read-only, scoped like the rest (`DaOrganizacaoAdmin`).

The list shows each e-mail's kind, recipient (the user, never their address: a plain address of the
capture-problem notice is shown only on the detail page), status, attempts and last error. "Reenviar"
puts failed or skipped rows back in the queue (core.notifications.envio.reenviar); the worker or the
cron task sends them.
"""

from django.contrib import admin, messages

from ..models import EnvioEmail
from ..notifications.envio import reenviar
from .base import ApagadoSoEmCascataMixin, DaOrganizacaoAdmin, SomenteLeituraMixin


@admin.register(EnvioEmail)
class EnvioEmailAdmin(ApagadoSoEmCascataMixin, SomenteLeituraMixin, DaOrganizacaoAdmin):
    list_display = ("id", "tipo", "usuario", "status", "tentativas", "erro_curto", "proxima_tentativa_em", "enviado_em", "criado_em")
    list_filter = ("status", "tipo")
    list_select_related = ("usuario",)
    search_fields = ("chave", "evento", "lote")
    date_hierarchy = "criado_em"
    show_full_result_count = False
    fields = ("tipo", "usuario", "endereco", "status", "tentativas", "erro", "proxima_tentativa_em",
              "lease_expira_em", "enviado_em", "chave", "evento", "lote", "dados", "criado_em", "atualizado_em")  # fmt: skip
    actions = ["reenviar_selecionados"]

    @admin.display(description="último erro")
    def erro_curto(self, obj):
        return (obj.erro[:80] + "…") if len(obj.erro) > 80 else obj.erro

    @admin.action(description="Reenviar (falhou ou pulado → pendente)")
    def reenviar_selecionados(self, request, queryset):
        quantos = reenviar(queryset)
        messages.success(request, f"{quantos} e-mail(s) de volta à fila.")
