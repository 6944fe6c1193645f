"""What every tenant-owned row has in common."""

from django.db import models

from .organizacao import Organizacao


class DaOrganizacao(models.Model):
    """Abstract base of every domain row: it belongs to exactly one organization.

    Query these models through `core.tenancy.escopo(Model, organizacao)`; a test walks the source and
    fails on a bare `Model.objects` of a tenant model outside the allowed places.
    """

    # No single-column index: every table that is queried by organization has composite indexes
    # that start with it, and each extra index is paid on every insert of a bulk import.
    organizacao = models.ForeignKey(Organizacao, verbose_name="organização", on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        abstract = True
