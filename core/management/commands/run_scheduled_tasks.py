"""Periodic tasks run by cron: `python manage.py run_scheduled_tasks --task=entregar_webhooks`.

Each task is a function returning a one-line summary; add new ones to TAREFAS.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from core.webhooks.entrega import LOTE_PADRAO, entregar_pendentes, fechar_conexoes_velhas

# Cron runs this every minute: stop taking new work before the next run starts.
ORCAMENTO_SEGUNDOS = 50


def entregar_webhooks() -> str:
    prazo, total = time.monotonic() + ORCAMENTO_SEGUNDOS, 0
    while time.monotonic() < prazo:
        try:
            entregues = entregar_pendentes(limite=LOTE_PADRAO)
        finally:
            fechar_conexoes_velhas()
        if not entregues:
            break
        total += entregues
    return f"entregar_webhooks: {total} entrega(s) processada(s)."


def consultas_sefaz() -> str:
    """Every certificate with automatic capture whose time has come (SEFAZ's waits always apply)."""
    from core.sefaz.agenda import consultar_devidos

    return consultar_devidos()


def certificados_vencendo() -> str:
    from core.certificados.vencimento import avisar_certificados_vencendo

    return f"certificados_vencendo: {avisar_certificados_vencendo()} aviso(s) emitido(s)."


TAREFAS = {
    "entregar_webhooks": entregar_webhooks,
    "consultas_sefaz": consultas_sefaz,
    "certificados_vencendo": certificados_vencendo,
}


class Command(BaseCommand):
    help = "Roda uma tarefa periódica (para o cron)."

    def add_arguments(self, parser):
        parser.add_argument("--task", required=True, help=f"Uma de: {', '.join(sorted(TAREFAS))}.")

    def handle(self, *args, task, **options):
        if task not in TAREFAS:
            raise CommandError(f"Tarefa desconhecida: {task!r}. Válidas: {', '.join(sorted(TAREFAS))}.")
        return TAREFAS[task]()
