"""Long-running webhook delivery: `python manage.py webhook_worker --loop`.

Shape of healthchecks' `sendalerts`: `handle_one()` delivers one due row and says whether there was
one; the loop sleeps `--intervalo` seconds when the queue is empty; SIGTERM finishes the current
delivery and stops. Several workers may run at once (rows are claimed, see core/webhooks/entrega.py).
"""

import signal
import time

from django.core.management.base import BaseCommand

from core.webhooks.entrega import entregar_um, fechar_conexoes_velhas


class Command(BaseCommand):
    help = "Entrega os webhooks pendentes (uma vez, ou continuamente com --loop)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Continua rodando e esperando novas entregas.")
        parser.add_argument("--intervalo", type=float, default=2.0, help="Segundos de espera com a fila vazia.")

    def on_sigterm(self, *args):
        self.shutdown = True

    def handle_one(self) -> bool:
        try:
            entregou = entregar_um()
        finally:
            fechar_conexoes_velhas()
        self.entregas += entregou
        return entregou

    def handle(self, *args, loop=False, intervalo=2.0, **options):
        self.shutdown, self.entregas = False, 0
        anterior = signal.signal(signal.SIGTERM, self.on_sigterm)
        try:
            while not self.shutdown:
                while not self.shutdown and self.handle_one():
                    pass
                if not loop:
                    break
                self._esperar(intervalo)
        finally:
            signal.signal(signal.SIGTERM, anterior)
        return f"webhook_worker: {self.entregas} entrega(s) processada(s)."

    def _esperar(self, segundos: float) -> None:
        fim = time.monotonic() + segundos
        while not self.shutdown and time.monotonic() < fim:  # small steps so SIGTERM is noticed at once
            time.sleep(min(0.2, max(0.0, fim - time.monotonic())))
