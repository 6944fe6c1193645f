"""Periodic tasks run by cron: `python manage.py run_scheduled_tasks [--task=NOME] [--dry-run]`.

Without --task every task runs once, in a fixed order. The logic lives in core/tarefas/; this command
parses the arguments, prints each task's progress and summary, stops between tasks on SIGTERM and
exits with 1 when any task failed (0 when all ran or were skipped because already running elsewhere).
"""

import signal

from django.core.management.base import BaseCommand, CommandError

from core.tarefas import TAREFAS, executar_tarefas


class Command(BaseCommand):
    help = "Roda as tarefas periódicas (para o cron): todas, ou só a de --task."

    def add_arguments(self, parser):
        parser.add_argument("--task", help=f"Uma de: {', '.join(TAREFAS)}. Sem ela, roda todas nessa ordem.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Só diz o que cada tarefa faria, sem fazer (nem travar) nada."
        )

    def on_sigterm(self, *args):
        self.shutdown = True

    def handle(self, *args, task=None, dry_run=False, **options):
        if task is not None and task not in TAREFAS:
            raise CommandError(f"Tarefa desconhecida: {task!r}. Válidas: {', '.join(TAREFAS)}.")
        self.shutdown = False
        anterior = signal.signal(signal.SIGTERM, self.on_sigterm)
        try:
            execucoes = executar_tarefas(
                None if task is None else [task],
                simular=dry_run,
                escrever=self.stdout.write,
                relatar=self.relatar,
                parar=lambda: self.shutdown,
            )
        finally:
            signal.signal(signal.SIGTERM, anterior)
        falhas = [execucao.tarefa for execucao in execucoes if execucao.falhou]
        if falhas:
            # CommandError: manage.py prints it to stderr and exits with `returncode`; call_command raises it.
            raise CommandError(f"{len(falhas)} tarefa(s) falharam: {', '.join(falhas)}.", returncode=1)

    def relatar(self, execucao):
        (self.stderr if execucao.falhou else self.stdout).write(execucao.resumo)
