"""E-mail notifications (issue 4): what each member of an organization hears, and when.

Design
- `NotificationService` (servico.py) has one method per e-mail; each renders
  `templates/emails/<kind>.html` and `.txt` (one base layout) and sends one `EmailMultiAlternatives`
  through Django's e-mail backend. It skips inactive users, users without an address, notifications
  the user turned off (`PreferenciaNotificacao`; no row = defaults) and objects of another
  organization. A failing backend is logged (user id only, never addresses or secrets) and the method
  returns False: nothing here ever raises into an import or a request.
- When: the document signals are already sent after commit (core/signals.py); the receivers
  (receptores.py, connected in CoreConfig.ready) only hand an item to `agrupamento.registrar`. Outside
  an import block that sends at once (one e-mail per recipient); nothing is ever sent inside a
  transaction.
- Bulk imports: `notificacoes_agrupadas(organizacao)` wraps one import (an upload request, one run of
  `importar_xml`, later one SEFAZ run). Items are buffered thread-locally as counts plus the first
  few summaries of each kind (bounded memory), and on exit each recipient gets, for the kinds they
  want, individual e-mails when there are at most FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL items, or one
  digest (counts of NF-e, CT-e, updated, errors and the first documents/errors listed). Updates
  (summary -> full XML, cancellations) have no e-mail of their own: they are counted in digests. A
  block that ends inside a transaction sends on its commit and nothing on rollback.
- Parallel folder imports: worker processes run inside `notificacoes_suprimidas()`; the parent,
  inside the block, rebuilds the items from the `Evento` rows the workers stored (ids are
  time-ordered ULIDs, so "after a mark taken before forking", filtered by the keys of its own
  results) plus the failed results, and sends one digest like any other import.
- Items are the event summaries (`core.eventos.documentos`), so an e-mail and a webhook tell the same
  facts, and a document known only from a stored event reads like one imported in this process.
"""

from .agrupamento import notificacoes_agrupadas, notificacoes_suprimidas
from .avisos import avisar_webhook_desativado
from .preferencias import atualizar_preferencias, destinatarios, preferencias_de
from .servico import NotificationService

__all__ = [
    "NotificationService",
    "atualizar_preferencias",
    "avisar_webhook_desativado",
    "destinatarios",
    "notificacoes_agrupadas",
    "notificacoes_suprimidas",
    "preferencias_de",
]
