"""One import, one digest: `notificacoes_agrupadas(organizacao)` wraps an import run.

An upload, one run of `importar_xml` (its worker processes included) or a SEFAZ run opens a lote
(core/eventos/lotes.py): the events it records carry the lote's id and queue no e-mail of their own.
When the block ends, one INSERT queues, per recipient, the few items as individual e-mails (at
most FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL) or one digest row, rendered from the stored events when it
is sent (core/notifications/fila.py). Nothing is buffered in memory: the events are the record. The
first batch that commits also writes the import's mark (fila.py), which the end deletes: a process that
dies before its end leaves the mark, and the sender queues the e-mails of what committed a few minutes on.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

from core.eventos.lotes import em_lote, lote_atual, novo_lote
from core.models import Organizacao

from .fila import enfileirar_resumo_de_importacao

logger = logging.getLogger(__name__)


@contextmanager
def notificacoes_agrupadas(organizacao: Organizacao, lote: str | None = None):
    """Label the events of `organizacao` recorded inside the block as one import; queue its e-mails at the end.

    Nested blocks of the same organization share the outermost one, and so does a block opened with the
    `lote` of a running import (the worker processes of a parallel folder import): only the block that
    opened the lote queues its e-mails. A block that ends inside a transaction queues them in it, so a
    rollback takes them away with the documents. Yields the lote id.
    """
    atual = lote_atual(organizacao.pk)
    if atual is not None:
        yield atual
        return
    if lote is not None:
        with em_lote(organizacao.pk, lote):
            yield lote
        return
    lote = novo_lote()
    try:
        with em_lote(organizacao.pk, lote):
            yield lote
    finally:
        _enfileirar(organizacao, lote)


def _enfileirar(organizacao: Organizacao, lote: str) -> None:
    # Also after an exception: the batches that committed before it are told. An e-mail never fails an import.
    try:
        enfileirar_resumo_de_importacao(organizacao, lote)  # one INSERT: in the caller's transaction, if any
    except Exception:
        logger.exception("notificações: falha ao enfileirar os e-mails da importação %s da organização %s",
                         lote, organizacao.pk)  # fmt: skip
