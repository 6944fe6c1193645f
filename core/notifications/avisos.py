"""Notices to every member of an organization who wants them (not tied to an import)."""

from __future__ import annotations

import logging

from .preferencias import destinatarios
from .servico import NotificationService

logger = logging.getLogger(__name__)


def avisar_webhook_desativado(webhook, motivo: str) -> int:
    """E-mail the members of the webhook's organization who want `webhook_desativado`; how many got it.

    Called after the commit that disabled it (core.webhooks.entrega). Never raises.
    """
    try:
        pessoas = destinatarios(webhook.organizacao, "webhook_desativado")
        servico = NotificationService(preferencias={d.usuario.pk: d.preferencia for d in pessoas})
        with servico.conexao():
            return sum(servico.notificar_webhook_desativado(d.usuario, webhook, motivo) for d in pessoas)
    except Exception:
        logger.exception("notificações: falha ao avisar que o webhook %s foi desativado", webhook.pk)
        return 0
