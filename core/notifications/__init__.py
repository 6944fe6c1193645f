"""E-mail notifications (issue 4): what each member of an organization hears, and when.

Design (issue 14: e-mail is a consumer of the event outbox, like webhooks)
- Queue: every e-mail is first an `EnvioEmail` row (core/models/emails.py), one per (event or digest,
  recipient, kind), written in the transaction of what it tells (fila.py). The events' rows come from
  a consumer of `registrar_eventos` (core/eventos/consumidores.py); the notices that are not one event
  (daily summary, capture problem, SEFAZ run) queue their rows themselves. Unique constraints make a
  second row for the same thing impossible.
- Bulk imports: `notificacoes_agrupadas(organizacao)` (agrupamento.py) wraps one import (an upload, one
  run of `importar_xml` with its worker processes, a SEFAZ run). Its events carry the import's lote
  and queue nothing of their own; when the block ends, each recipient gets, for the kinds they want,
  individual rows when there are at most FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL items, or one digest row.
- Sending (envio.py): the background worker (`webhook_worker`) and the cron task `enviar_emails` claim
  due rows with a lease, render them from the stored rows (the digest from the import's events) and
  send them with Django's e-mail backend outside any transaction; SMTP failures are retried on
  EMAIL_RETRY_SCHEDULE. Nothing is sent inside a request or an import.
- `NotificationService` (servico.py) has one method per e-mail; each renders
  `templates/emails/<kind>.html` and `.txt` (one base layout). It skips inactive users, users without an
  address, notifications the user turned off (`PreferenciaNotificacao`; no row = defaults) and objects
  of another organization (the row is then `pulado`).
- Items are the event summaries (`core.eventos.documentos`), so an e-mail and a webhook tell the same
  facts.
"""

from .agrupamento import notificacoes_agrupadas
from .preferencias import atualizar_preferencias, destinatarios, preferencias_de
from .servico import NotificationService

__all__ = [
    "NotificationService",
    "atualizar_preferencias",
    "destinatarios",
    "notificacoes_agrupadas",
    "preferencias_de",
]
