"""Scheduled tasks (issue 6): what `python manage.py run_scheduled_tasks [--task=NOME]` runs from cron.

- catalogo.py: the eight tasks (`consultas_sefaz`, `certificados_vencendo`, `prazos_manifestacao`,
  `entregar_webhooks`, `enviar_emails`, `enviar_relatorios`, `compactar_agregados`, `limpeza_logs`), the order a
  run without --task follows, each one's lock duration and suggested schedule. A task is a function `(*, simular, escrever) -> str`.
- trava.py: a lock per task in the database (`TravaDeTarefa`), so it holds across machines: taken by
  INSERT or by a conditional UPDATE of an expired row, released at the end, never inside a long
  transaction. A second run of a running task says so and ends with exit code 0.
- execucao.py: runs tasks one after the other; a failure is recorded and the next task runs anyway;
  every run (success, failure, skipped, simulated) becomes an `ExecucaoDeTarefa` row and a log line.
- limpeza.py: `limpeza_logs`, batched deletes by key ranges, then VACUUM/ANALYZE.
- relatorios.py: `enviar_relatorios`, the daily summary e-mail, queued at most once per member and day.

The command (core/management/commands/run_scheduled_tasks.py) only parses arguments, prints and
turns failures into exit code 1.
"""

from .catalogo import TAREFAS, Tarefa
from .execucao import Execucao, TarefaDesconhecida, executar_tarefa, executar_tarefas

__all__ = ["TAREFAS", "Execucao", "Tarefa", "TarefaDesconhecida", "executar_tarefa", "executar_tarefas"]
