"""Periodic tasks run by cron: `python manage.py run_scheduled_tasks --task=entregar_webhooks`.

Each task is a function returning a one-line summary; add new ones to TAREFAS.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from core.webhooks.entrega import entregar_pendentes, fechar_conexoes_velhas

# Cron runs this every minute: stop taking new work before the next run starts.
ORCAMENTO_SEGUNDOS = 50


def entregar_webhooks() -> str:
    prazo, total = time.monotonic() + ORCAMENTO_SEGUNDOS, 0
    while time.monotonic() < prazo:
        try:
            entregues = entregar_pendentes(limite=10)
        finally:
            fechar_conexoes_velhas()
        if not entregues:
            break
        total += entregues
    return f"entregar_webhooks: {total} entrega(s) processada(s)."


TAREFAS = {
    "entregar_webhooks": entregar_webhooks,
}


class Command(BaseCommand):
    help = "Roda uma tarefa periódica (para o cron)."

    def add_arguments(self, parser):
        parser.add_argument("--task", required=True, help=f"Uma de: {', '.join(sorted(TAREFAS))}.")

    def handle(self, *args, task, **options):
        if task not in TAREFAS:
            raise CommandError(f"Tarefa desconhecida: {task!r}. Válidas: {', '.join(sorted(TAREFAS))}.")
        return TAREFAS[task]()
