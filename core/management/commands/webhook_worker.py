"""Long-running webhook delivery and e-mail sending: `python manage.py webhook_worker --loop [--threads N]`.

Each unit of work delivers a batch of due webhook rows and then sends a batch of due e-mails (the
e-mail queue, core/notifications/envio.py), so one worker empties both outboxes.

Shape of healthchecks' `sendalerts`: `handle_one()` claims and delivers one batch of due rows and
says whether there was one; the loop sleeps `--intervalo` seconds when the queue is empty; SIGTERM
finishes the current batch and stops. Several workers may run at once, and so may several threads of
one worker: each claims its own rows (see core/webhooks/entrega.py). Threads pay off because a
delivery mostly waits on the receiver and the database; each thread has its own database connection.
"""

import signal
import threading
import time
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from core.notifications.envio import enviar_pendentes as enviar_emails_pendentes
from core.webhooks.entrega import LOTE_PADRAO, entregar_pendentes, fechar_conexoes_velhas, resumo_de_entregas
from core.webhooks.rede import reservar_conexoes


class Command(BaseCommand):
    help = "Entrega os webhooks pendentes e envia os e-mails da fila (uma vez, ou continuamente com --loop)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Continua rodando e esperando novas entregas.")
        parser.add_argument("--intervalo", type=float, default=2.0, help="Segundos de espera com a fila vazia.")
        parser.add_argument("--threads", type=int, default=1, help="Entregas em paralelo neste processo (padrão: 1).")
        parser.add_argument("--lote", type=int, default=LOTE_PADRAO, help="Entregas reivindicadas de cada vez.")

    def on_sigterm(self, *args):
        self.shutdown = True

    def handle_one(self) -> bool:
        contagem = Counter()
        try:
            tentadas = entregar_pendentes(limite=self.lote, contagem=contagem)
            emails = enviar_emails_pendentes(limite=self.lote)
        finally:
            fechar_conexoes_velhas()
        with self.trava:
            self.entregas.update(contagem)
            self.emails += emails
        return tentadas + emails > 0

    def handle(self, *args, loop=False, intervalo=2.0, threads=1, lote=LOTE_PADRAO, **options):
        if threads < 1 or lote < 1:
            raise CommandError("--threads e --lote devem ser pelo menos 1.")
        self.shutdown, self.entregas, self.emails, self.lote, self.trava = False, Counter(), 0, lote, threading.Lock()
        reservar_conexoes("webhook_worker", threads)
        anterior = signal.signal(signal.SIGTERM, self.on_sigterm)
        try:
            if threads == 1:
                self.trabalhar(loop, intervalo)  # in this thread: a caller's transaction stays visible
            else:
                self.trabalhar_em_threads(threads, loop, intervalo)
        finally:
            signal.signal(signal.SIGTERM, anterior)
        return f"webhook_worker: {resumo_de_entregas(self.entregas)}; {self.emails} e-mail(s) tentado(s)."

    def trabalhar(self, loop: bool, intervalo: float) -> None:
        while not self.shutdown:
            while not self.shutdown and self.handle_one():
                pass
            if not loop:
                break
            self._esperar(intervalo)

    def trabalhar_em_threads(self, quantas: int, loop: bool, intervalo: float) -> None:
        erros = []

        def thread():
            try:
                self.trabalhar(loop, intervalo)
            except BaseException as exc:
                erros.append(exc)
                self.shutdown = True  # the others finish their batch and stop: one failure stops the worker
            finally:
                connections.close_all()  # this thread's own connections

        threads = [threading.Thread(target=thread, name=f"webhook-worker-{n}") for n in range(quantas)]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.2)  # short waits keep the main thread free to run the SIGTERM handler
        if erros:
            raise erros[0]

    def _esperar(self, segundos: float) -> None:
        fim = time.monotonic() + segundos
        while not self.shutdown and time.monotonic() < fim:  # small steps so SIGTERM is noticed at once
            time.sleep(min(0.2, max(0.0, fim - time.monotonic())))

