"""Immediate delivery: the rows a commit queued are sent at once by a small pool of threads.

One pool per process, `WEBHOOK_IMMEDIATE_THREADS` threads started on first use, and a bounded queue:
a commit hands over its delivery ids and returns; when the queue is full, or the pool is closing, the
rows simply wait for the worker (they are pending and due). The pool never makes a request or an
import wait for a receiver.

A process that ends must not strand what it claimed (issue 14, point 2). `encerrar()` stops taking new
work and lets the threads go on with what was queued for up to `WEBHOOK_SHUTDOWN_SECONDS`. Then no new
row starts: the rows claimed and not started go back to the queue at once (pending and due, so a worker
takes them now, not when the lease expires), and the requests already sent are waited for (each bounded
by its webhook's timeout) and recorded as soon as their response arrives. It runs at interpreter exit
(atexit; SIGTERM becomes a normal exit in a command's main thread), from gunicorn's `worker_exit` hook
(deploy/gunicorn.conf.py), and explicitly where a command or a child process ends without atexit
(importar_xml, the import's worker processes).
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

THREADS_PADRAO = 4
ENCERRAMENTO_PADRAO_SEGUNDOS = 10.0
# Ids per unit of work: a big import commit spreads over the threads, and a thread stuck on a slow
# receiver holds only a few claimed rows behind it.
IDS_POR_TAREFA = 10
TAREFAS_POR_THREAD = 250  # the queue's bound: beyond it the worker delivers
# The longest a request already sent can take: the largest webhook timeout (30 s) plus the connection's.
ESPERA_POR_RESPOSTA_SEGUNDOS = 30 + 5 + 1


@dataclass
class _Turno:
    """One run of the pool, from its first task to its `encerrar()`; threads of an old turn stop on their own."""

    threads: list[threading.Thread] = field(default_factory=list)
    tarefas: deque = field(default_factory=deque)
    fechando: bool = False  # no new tasks; the queued ones are still done
    parando: bool = False  # no new row starts; what is claimed and not started goes back
    reservadas: dict = field(default_factory=dict)  # thread -> claimed rows not started yet


class EntregaImediata:
    def __init__(self):
        self._trava = threading.Condition()
        self._turno: _Turno | None = None
        self._saindo = False  # the interpreter is exiting: nothing starts again

    # --- Submitting -------------------------------------------------------------------------------

    def submeter(self, ids: list[int] | None) -> bool:
        """Queue `ids` (None: whatever is due) for delivery now; False when they were left for the worker."""
        tarefas = [None] if ids is None else [ids[i : i + IDS_POR_TAREFA] for i in range(0, len(ids), IDS_POR_TAREFA)]
        with self._trava:
            if self._saindo:
                return False
            turno = self._turno or self._iniciar()
            if turno.fechando or len(turno.tarefas) + len(tarefas) > self.threads() * TAREFAS_POR_THREAD:
                logger.info("webhooks: fila imediata cheia ou encerrando; %s tarefa(s) ficam para o worker", len(tarefas))
                return False
            turno.tarefas.extend(tarefas)
            self._trava.notify(len(tarefas))
        return True

    @staticmethod
    def threads() -> int:
        return int(getattr(settings, "WEBHOOK_IMMEDIATE_THREADS", THREADS_PADRAO))

    def _iniciar(self) -> _Turno:
        from .rede import reservar_conexoes

        turno = self._turno = _Turno()
        reservar_conexoes("entrega_imediata", self.threads())  # one kept-alive connection per thread: no "pool is full"
        for n in range(self.threads()):
            thread = threading.Thread(target=self._trabalhar, args=(turno,), name=f"webhooks-imediatos-{n}", daemon=True)
            turno.threads.append(thread)
            thread.start()
        _preparar_saida()
        return turno

    # --- The threads ------------------------------------------------------------------------------

    def _trabalhar(self, turno: _Turno) -> None:
        from .entrega import entregar_pendentes

        try:
            while (tarefa := self._proxima(turno)) is not _NADA:
                try:
                    limite = len(tarefa) if tarefa else 100
                    entregar_pendentes(limite=limite, ids=tarefa, vigia=_Vigia(self, turno))
                except Exception:
                    logger.exception("webhooks: entrega imediata falhou")  # the worker retries those rows
                finally:
                    with self._trava:
                        turno.reservadas.pop(threading.current_thread(), None)
                        ociosa = not turno.tarefas
                    if ociosa:
                        connections.close_all()  # this thread's own connections, while it has nothing to do
        finally:
            connections.close_all()

    def _proxima(self, turno: _Turno):
        with self._trava:
            while not turno.tarefas and not turno.fechando and not turno.parando:
                self._trava.wait()
            if turno.parando or not turno.tarefas:
                return _NADA
            return turno.tarefas.popleft()

    def comecar(self, turno: _Turno, restantes: list) -> bool:
        """Whether the thread may send `restantes[0]` now; notes the rows claimed behind it."""
        with self._trava:
            if turno.parando:
                return False
            turno.reservadas[threading.current_thread()] = restantes[1:]
            return True

    # --- Closing ----------------------------------------------------------------------------------

    def encerrar(self, prazo: float | None = None) -> None:
        """Finish the queued deliveries within `prazo` seconds, release the rest, and stop the threads.

        The pool starts again on the next `submeter()` (a long-lived process that only wanted its
        deliveries done, like an import's worker process between two blocks), except at exit.
        """
        with self._trava:
            turno = self._turno
            if turno is None:
                return
            turno.fechando = True  # submeter() refuses from now on
            self._trava.notify_all()
        prazo = _prazo_de_encerramento() if prazo is None else prazo
        _esperar(turno.threads, prazo)
        with self._trava:
            turno.parando = True
            descartadas = len(turno.tarefas)
            turno.tarefas.clear()
            reservadas = [log for logs in turno.reservadas.values() for log in logs]
            turno.reservadas.clear()
            self._trava.notify_all()
        _liberar(reservadas)  # before waiting for the requests in flight: a worker may take these now
        if descartadas or reservadas:
            logger.warning(
                "webhooks: encerrando após %g s; %s tarefa(s) e %s entrega(s) reivindicada(s) ficam para o worker",
                prazo, descartadas, len(reservadas),
            )  # fmt: skip
        # A request already sent is waited for (its own timeout bounds it) and recorded: sent again,
        # it would reach the receiver twice.
        _esperar(turno.threads, ESPERA_POR_RESPOSTA_SEGUNDOS)
        if em_voo := sum(thread.is_alive() for thread in turno.threads):
            logger.warning("webhooks: %s envio(s) ainda sem resposta ao encerrar seguem com o lease", em_voo)
        # Only now, not on the way in: a SIGTERM that interrupts this (SystemExit) leaves the turn in
        # place for the atexit call to finish.
        with self._trava:
            if self._turno is turno:
                self._turno = None

    def ao_sair(self) -> None:
        with self._trava:
            self._saindo = True
        self.encerrar()

    def apos_fork(self) -> None:
        # The child has none of the parent's threads, and the lock may have been held at the fork.
        self._trava = threading.Condition()
        self._turno = None


_NADA = object()


class _Vigia:
    """What `entregar_pendentes()` asks before each row, in a pool thread."""

    def __init__(self, pool: EntregaImediata, turno: _Turno):
        self.pool, self.turno = pool, turno

    def comecar(self, restantes: list) -> bool:
        return self.pool.comecar(self.turno, restantes)


def _esperar(threads: list[threading.Thread], segundos: float) -> None:
    fim = time.monotonic() + segundos
    for thread in threads:
        thread.join(max(0.0, fim - time.monotonic()))


def _liberar(logs: list) -> None:
    if logs:
        from .entrega import devolver

        devolver(logs)


def _prazo_de_encerramento() -> float:
    return float(getattr(settings, "WEBHOOK_SHUTDOWN_SECONDS", ENCERRAMENTO_PADRAO_SEGUNDOS))


entrega_imediata = EntregaImediata()
_saida_preparada = False


def encerrar_entrega_imediata(prazo: float | None = None) -> None:
    """Deliver what this process queued (up to `prazo`, default WEBHOOK_SHUTDOWN_SECONDS) and release the rest."""
    entrega_imediata.encerrar(prazo)


def _preparar_saida() -> None:
    """atexit, and SIGTERM as a normal exit in a plain command (once per process, on first use)."""
    global _saida_preparada
    if _saida_preparada:
        return
    _saida_preparada = True
    atexit.register(entrega_imediata.ao_sair)
    # Only the main thread may set handlers, and only the default one is replaced: gunicorn and the
    # webhook worker install their own and keep them (gunicorn drains through its worker_exit hook).
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _sair_no_sigterm)


def _sair_no_sigterm(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM kills at once
    raise SystemExit(128 + signum)  # unwinds the command (open transactions roll back), then atexit drains


def _apos_fork() -> None:
    global _saida_preparada
    _saida_preparada = False
    entrega_imediata.apos_fork()


os.register_at_fork(after_in_child=_apos_fork)
