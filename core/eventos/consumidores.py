"""The consumers of the event outbox, called by `registrar_eventos` in the events' own transaction.

Each consumer writes its delivery rows (webhook attempts, e-mails) next to the events, so a committed
event always has them and a rolled-back one never did. They are named here by dotted path and
imported on first use: `core.eventos.emissao` imports no consumer, and a consumer may record events
itself (disabling a webhook records `webhook_desativado`) without an import cycle.
"""

from __future__ import annotations

from django.utils.module_loading import import_string

CONSUMIDORES = (
    "core.webhooks.entrega.enfileirar_entregas",
    "core.notifications.fila.enfileirar_emails_dos_eventos",
)


def consumir(eventos: list) -> None:
    """Hand freshly inserted Evento rows to every consumer, in order, in the current transaction."""
    for caminho in CONSUMIDORES:
        import_string(caminho)(eventos)
