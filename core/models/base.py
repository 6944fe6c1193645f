"""What every tenant-owned row has in common."""

from django.db import models

from .organizacao import Organizacao


class DaOrganizacao(models.Model):
    """Abstract base of every domain row: it belongs to exactly one organization.

    Query these models through `core.tenancy.escopo(Model, organizacao)`; a test walks the source and
    fails on a bare `Model.objects` of a tenant model outside the allowed places.
    """

    organizacao = models.ForeignKey(Organizacao, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True
