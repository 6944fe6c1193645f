"""Domain signals, sent only after the transaction that caused them commits.

Webhooks and e-mail do not listen to them: both are consumers of the event outbox
(core/eventos/consumidores.py), whose rows are written in the change's own transaction. The signals
remain for extensions; a receiver must only hand work on, never do I/O inline. Every signal is sent
with `organizacao=` so a receiver can never mix tenants up.

- nfe_importada_signal(sender=NFe, instance, organizacao)
- cte_importado_signal(sender=CTe, instance, organizacao)
- documento_importado_signal(sender=OutroDocumento, instance, organizacao): a DF-e kind stored in part
  (GTV-e, CT-e Simplificado)
- documento_atualizado_signal(sender=NFe|CTe, instance, organizacao, motivo, campos)
    motivo: "xml_completo" (summary upgraded to the full XML), "protocolo" (protocol added to a bare
    document), "cancelada" (a cancellation event or summary), "evento" (any other event linked)
- import_log_signal(sender=ImportLog, instance, organizacao): an import attempt failed

Each of these signals also raises a public event (`EVENTO_DO_SINAL`). The events are NOT written by an
after-commit receiver: a crash between the commit and the receiver would lose them. `eventos_dos_sinais()`
turns the signals of a change into events, and the code that makes the change records them with
`core.eventos.emissao.registrar_eventos` in its own transaction (see core/documentos/gravacao.py).
"""

import logging
from functools import partial

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

nfe_importada_signal = Signal()
cte_importado_signal = Signal()
documento_importado_signal = Signal()
documento_atualizado_signal = Signal()
import_log_signal = Signal()

EVENTO_DO_SINAL = {
    nfe_importada_signal: "nfe_importada",
    cte_importado_signal: "cte_importado",
    documento_importado_signal: "documento_importado",
    documento_atualizado_signal: "documento_atualizado",
    import_log_signal: "erro_importacao",
}


def eventos_dos_sinais(sinais: list[tuple[Signal, object, dict]]) -> list[tuple[str, dict]]:
    """The (event name, dados) pairs that the given (signal, instance, extra kwargs) raise, in order."""
    from core.eventos.documentos import dados_do_documento, dados_do_erro

    eventos = []
    for sinal, instancia, extra in sinais:
        dados = dados_do_erro(instancia) if sinal is import_log_signal else dados_do_documento(instancia)
        eventos.append((EVENTO_DO_SINAL[sinal], {**dados, **extra}))
    return eventos


def enviar_apos_commit(signal: Signal, sender, **kwargs) -> None:
    """Queue `signal` for after the current transaction commits (at once when there is none)."""
    transaction.on_commit(partial(_enviar, signal, sender, kwargs))


def _enviar(signal: Signal, sender, kwargs: dict) -> None:
    # A failing receiver must not stop the other receivers nor the other queued signals: the
    # change is already committed, so log and carry on.
    for receiver, resultado in signal.send_robust(sender=sender, **kwargs):
        if isinstance(resultado, Exception):
            logger.error("receiver %r falhou: %s", receiver, resultado, exc_info=resultado)
