"""Domain signals, sent only after the transaction that caused them commits.

Receivers (webhooks, e-mail) hand work to the outbox; they never do I/O inline. Every signal is sent
with `organizacao=` so a receiver can never mix tenants up.

- nfe_importada_signal(sender=NFe, instance, organizacao)
- cte_importado_signal(sender=CTe, instance, organizacao)
- documento_atualizado_signal(sender=NFe|CTe, instance, organizacao, motivo, campos)
    motivo: "xml_completo" (summary upgraded to the full XML), "protocolo" (protocol added to a bare
    document), "cancelada" (a cancellation event or summary), "evento" (any other event linked)
- import_log_signal(sender=ImportLog, instance, organizacao): an import attempt failed
"""

import logging
from functools import partial

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

nfe_importada_signal = Signal()
cte_importado_signal = Signal()
documento_atualizado_signal = Signal()
import_log_signal = Signal()


def enviar_apos_commit(signal: Signal, sender, **kwargs) -> None:
    """Queue `signal` for after the current transaction commits (at once when there is none)."""
    transaction.on_commit(partial(_enviar, signal, sender, kwargs))


def _enviar(signal: Signal, sender, kwargs: dict) -> None:
    # A failing receiver must not stop the other receivers nor the other queued signals: the
    # change is already committed, so log and carry on.
    for receiver, resultado in signal.send_robust(sender=sender, **kwargs):
        if isinstance(resultado, Exception):
            logger.error("receiver %r falhou: %s", receiver, resultado, exc_info=resultado)
