"""Which import run the events being recorded belong to (a leaf module: no project imports).

An import (an upload, a folder import, a SEFAZ run) opens a `lote` for its organization; the events
recorded while it is open carry its id (`Evento.lote`), and its e-mail digest is built from them.
This is only a label in a context variable (a dict {organization id: lote}, replaced, never mutated):
nothing is buffered here, and a process that dies leaves the events stored and labelled.
The worker processes of a parallel folder import open the parent's lote by id.
"""

from __future__ import annotations

import contextvars
import uuid
from contextlib import contextmanager

_lotes: contextvars.ContextVar[dict[int, str]] = contextvars.ContextVar("fiscal_lotes_de_eventos", default={})  # noqa: B039


def novo_lote() -> str:
    return f"lote_{uuid.uuid4().hex}"


def lote_atual(organizacao_id: int) -> str | None:
    """The open lote of the organization in this context, if any."""
    return _lotes.get().get(organizacao_id)


@contextmanager
def em_lote(organizacao_id: int, lote: str):
    """Label the events of `organizacao_id` recorded inside the block with `lote`."""
    token = _lotes.set({**_lotes.get(), organizacao_id: lote})
    try:
        yield lote
    finally:
        try:
            _lotes.reset(token)
        except ValueError:
            # A generator closed from another context (garbage collection): drop only our label.
            _lotes.set({k: v for k, v in _lotes.get().items() if k != organizacao_id})
