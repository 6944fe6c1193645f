"""A database lock per scheduled task, so two cron runs (on one machine or many) never overlap.

Acquired by INSERTing the task's `TravaDeTarefa` row (its primary key is the task name, so only one
insert can win), or, when the row is there but expired, by a conditional UPDATE that only one runner
can win (`expira_em <= now`). Both are single autocommit statements: no transaction stays open while
the task runs. The holder deletes its own row at the end (`dono` guards against deleting a lock that
expired and was taken over meanwhile). A holder that crashed leaves the row behind; it blocks the task
only until `expira_em`, the task's maximum duration.

Expiry compares the clocks of the machines that run cron (keep them on NTP): a skew of a few seconds
is nothing next to durations of minutes.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.models import TravaDeTarefa


@dataclass(frozen=True)
class Ocupada:
    """Who holds the task now (for the "já está em execução" message)."""

    nome: str
    dono: str
    desde: datetime
    expira_em: datetime

    def mensagem(self) -> str:
        desde = timezone.localtime(self.desde).strftime("%d/%m/%Y %H:%M:%S")
        return f"tarefa {self.nome} já está em execução (desde {desde}, por {self.dono})"


def novo_dono() -> str:
    """host:pid plus a few random characters, unique even for two runs in one process (tests, threads)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def adquirir(nome: str, *, dono: str, duracao: timedelta, agora: datetime | None = None) -> Ocupada | None:
    """Take the lock of `nome` for `duracao`; None when taken, else who holds it."""
    agora = agora or timezone.now()
    for _ in range(3):  # the holder may release between our insert and our read: try again
        if _inserir(nome, dono, agora, duracao) or _tomar_expirada(nome, dono, agora, duracao):
            return None
        atual = TravaDeTarefa.objects.filter(nome=nome).first()
        if atual is not None:
            return Ocupada(nome, atual.dono, atual.adquirida_em, atual.expira_em)
    return Ocupada(nome, "?", agora, agora)  # released and re-taken twice in a row: surely busy


def liberar(nome: str, *, dono: str) -> bool:
    """Release the lock if we still hold it (it may have expired and been taken over)."""
    return TravaDeTarefa.objects.filter(nome=nome, dono=dono).delete()[0] > 0


def _inserir(nome: str, dono: str, agora: datetime, duracao: timedelta) -> bool:
    try:
        # A savepoint: inside an outer transaction (tests) the failed INSERT must not poison it.
        with transaction.atomic():
            TravaDeTarefa.objects.create(nome=nome, dono=dono, adquirida_em=agora, expira_em=agora + duracao)
    except IntegrityError:
        return False
    return True


def _tomar_expirada(nome: str, dono: str, agora: datetime, duracao: timedelta) -> bool:
    # Compare-and-swap: of two runners seeing the same expired row, only one UPDATE matches.
    tomadas = TravaDeTarefa.objects.filter(nome=nome, expira_em__lte=agora).update(
        dono=dono, adquirida_em=agora, expira_em=agora + duracao
    )
    return tomadas == 1
