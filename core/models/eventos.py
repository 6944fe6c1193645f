"""The event log: every change worth telling integrators about, stored with the change itself."""

from django.db import models
from django.db.models import Q

from .base import DaOrganizacao


class Evento(DaOrganizacao):
    """One domain event (`nfe_importada`, ...), written in the same transaction as its cause.

    `id` is "evt_" + a ULID: unique, and sortable by creation time, which the pull feed pages on.
    """

    id = models.CharField(primary_key=True, max_length=30, editable=False)
    tipo = models.CharField(max_length=40)
    criado_em = models.DateTimeField()
    payload = models.JSONField()
    # The import run (an upload, a folder import, a SEFAZ run) that wrote it, when it was one: the
    # e-mail digest of that run is built from its events (core.notifications.fila). Not public.
    # NULL, not "": most events have no run, and the partial index covers only the rows that do.
    lote = models.CharField(max_length=40, null=True, blank=True, editable=False)  # noqa: DJ001

    class Meta:
        verbose_name = "evento"
        verbose_name_plural = "eventos"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["organizacao", "id"], name="evento_feed_idx"),
            models.Index(fields=["organizacao", "tipo", "id"], name="evento_tipo_idx"),
            # Only events of an import are indexed: the other inserts pay nothing for it.
            models.Index(fields=["organizacao", "lote", "id"], name="evento_lote_idx", condition=Q(lote__isnull=False)),
        ]

    def __str__(self):
        return f"{self.id} {self.tipo}"
