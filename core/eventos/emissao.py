"""Emitting domain events: the one function every part of the code calls.

An event is a row written in the caller's transaction (the outbox): if the change commits, its
event exists; if it rolls back, the event never did. Delivery (webhooks, e-mail) reads these rows
after the commit, so nothing here does I/O.
"""

from __future__ import annotations

import json
import os
import threading
import time

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from core.models import Evento, Organizacao
from core.tenancy import inserir
from core.webhooks.entrega import enfileirar_entregas

from .catalogo import tipo_de_evento

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


_ultimo = [0, 0]  # (milliseconds, random part) of the last id made in this process
_trava = threading.Lock()


def novo_id_de_evento() -> str:
    """"evt_" + a monotonic ULID (48-bit milliseconds + 80 random bits, Crockford base32).

    Within one process ids strictly increase, even inside the same millisecond (the random part is
    incremented), so the events of one import batch keep their order in the feed.
    """
    with _trava:
        agora = time.time_ns() // 1_000_000
        if agora <= _ultimo[0]:
            _ultimo[1] += 1
        else:
            _ultimo[:] = [agora, int.from_bytes(os.urandom(10), "big") >> 1]  # headroom for increments
        valor = _ultimo[0] << 80 | _ultimo[1]
    return _id_do_valor(valor)


def menor_id_de_evento(instante) -> str:
    """The smallest event id of the millisecond `instante`: ids below it were made before it.

    The cleanup bounds its walk over old events with it (`core/tarefas/limpeza.py`).
    """
    return _id_do_valor(int(instante.timestamp() * 1000) << 80)


def _id_do_valor(valor: int) -> str:
    caracteres = []
    for _ in range(26):
        valor, resto = divmod(valor, 32)
        caracteres.append(_CROCKFORD[resto])
    return "evt_" + "".join(reversed(caracteres))


def novo_evento(evento: str, dados: dict, organizacao: Organizacao) -> Evento:
    """The unsaved Evento row with its public payload {"id", "evento", "criado_em", "dados"}."""
    tipo_de_evento(evento)
    identificador, criado_em = novo_id_de_evento(), timezone.now()
    payload = {"id": identificador, "evento": evento, "criado_em": criado_em, "dados": dados}
    # Round-trip through the encoder now, so the stored payload is exactly what will be sent.
    payload = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    return Evento(id=identificador, organizacao=organizacao, tipo=evento, criado_em=criado_em, payload=payload)


def disparar_webhook(evento: str, dados: dict, organizacao: Organizacao) -> Evento:
    """Record `evento` for `organizacao` in the current transaction; delivery happens after commit."""
    return registrar_eventos(organizacao, [(evento, dados)])[0]


def registrar_eventos(organizacao: Organizacao, eventos: list[tuple[str, dict]]) -> list[Evento]:
    """Many events in one insert (an import batch emits one per document)."""
    linhas = inserir(Evento, organizacao, [novo_evento(evento, dados, organizacao) for evento, dados in eventos])
    # Same transaction: the deliveries exist if and only if the events do (issue 4, outbox).
    enfileirar_entregas(linhas)
    return linhas
