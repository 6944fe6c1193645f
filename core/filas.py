"""Claiming due rows of an outbox queue (webhook deliveries, e-mails) for one worker.

Both queues have the same shape: `status` (pending / in progress / ...), `proxima_tentativa_em` for a
pending row, `lease_expira_em` for a row in progress (a worker that died mid-send leaves it behind) and
`atualizado_em`. A claim marks up to `limite` due rows "in progress" with a fresh lease, in one short
transaction, and returns their ids; the caller then loads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connections, router, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.tenancy import todas_as_organizacoes


@dataclass(frozen=True)
class Reivindicacao:
    ids: list[int]
    lease: datetime  # the rows still carrying it are this claim's


def devida(pendente: str, em_andamento: str, agora: datetime) -> Q:
    """Pending and due, or in progress under a lease that expired (its worker died mid-send)."""
    return Q(status=pendente, proxima_tentativa_em__lte=agora) | Q(status=em_andamento, lease_expira_em__lte=agora)


def reivindicar(
    fila: QuerySet, limite: int, *, pendente: str, em_andamento: str, lease_segundos: float, ids: list[int] | None = None
) -> Reivindicacao:
    """Claim up to `limite` due rows of `fila` (optionally only among `ids`)."""
    agora = timezone.now()
    lease = agora + timedelta(seconds=lease_segundos)
    banco = router.db_for_write(fila.model)
    # PostgreSQL: concurrent workers skip each other's locked rows instead of queueing behind them.
    # SQLite has no row locks, but its write transactions run one at a time (BEGIN IMMEDIATE), so
    # the guarded UPDATE below is a compare-and-swap that no other worker can interleave with.
    travar = connections[banco].vendor == "postgresql"
    if ids is not None:
        fila = fila.filter(pk__in=ids)
    with transaction.atomic(using=banco):
        escolhidas = _candidatas(fila, agora, limite, pendente, em_andamento, travar=travar)
        if escolhidas:
            todas_as_organizacoes(fila.model).filter(devida(pendente, em_andamento, agora), pk__in=escolhidas).update(
                status=em_andamento, lease_expira_em=lease, atualizado_em=agora
            )
    return Reivindicacao(escolhidas, lease)


def _candidatas(fila, agora, limite, pendente, em_andamento, *, travar: bool) -> list[int]:
    """Expired leases first, then due pending rows, oldest first.

    Two index range scans that stop after `limite` rows, rather than one OR, with which the database
    read and sorted every due row to return the first few: each claim got slower as the backlog grew.
    No tie-break on id for the same reason: one import queues thousands of rows with the same
    `proxima_tentativa_em`, and PostgreSQL would sort them all.
    """
    consultas = (
        fila.filter(status=em_andamento, lease_expira_em__lte=agora).order_by("lease_expira_em"),
        fila.filter(status=pendente, proxima_tentativa_em__lte=agora).order_by("proxima_tentativa_em"),
    )
    escolhidas: list[int] = []
    for consulta in consultas:
        if travar:
            consulta = consulta.select_for_update(skip_locked=True)
        escolhidas += consulta.values_list("pk", flat=True)[: limite - len(escolhidas)]
        if len(escolhidas) >= limite:
            break
    return escolhidas
