"""Emitting domain events: the one function every part of the code calls.

An event is a row written in the caller's transaction (the outbox): if the change commits, its
event exists; if it rolls back, the event never did. The consumers (core/eventos/consumidores.py:
webhooks, e-mail) write their delivery rows in the same transaction and deliver after the commit,
so nothing here does I/O. This module imports no consumer: they import it.
"""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from core.models import Evento, Organizacao
from core.tenancy import inserir

from .catalogo import tipo_de_evento
from .consumidores import consumir
from .ids import menor_id_de_evento, novo_id_de_evento
from .lotes import lote_atual

__all__ = ["disparar_webhook", "menor_id_de_evento", "novo_evento", "novo_id_de_evento", "registrar_eventos"]


def novo_evento(evento: str, dados: dict, organizacao: Organizacao) -> Evento:
    """The unsaved Evento row with its public payload {"id", "evento", "criado_em", "dados"}."""
    tipo_de_evento(evento)
    identificador, criado_em = novo_id_de_evento(), timezone.now()
    payload = {"id": identificador, "evento": evento, "criado_em": criado_em, "dados": dados}
    # Round-trip through the encoder now, so the stored payload is exactly what will be sent.
    payload = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    return Evento(id=identificador, organizacao=organizacao, tipo=evento, criado_em=criado_em, payload=payload,
                  lote=lote_atual(organizacao.pk))  # fmt: skip


def disparar_webhook(evento: str, dados: dict, organizacao: Organizacao) -> Evento:
    """Record `evento` for `organizacao` in the current transaction; delivery happens after commit."""
    return registrar_eventos(organizacao, [(evento, dados)])[0]


def registrar_eventos(organizacao: Organizacao, eventos: list[tuple[str, dict]]) -> list[Evento]:
    """Many events in one insert (an import batch emits one per document)."""
    linhas = [novo_evento(evento, dados, organizacao) for evento, dados in eventos]
    inserir(Evento, organizacao, linhas, em_massa=True)
    # Same transaction: the deliveries (webhooks, e-mails) exist if and only if the events do.
    consumir(linhas)
    return linhas
