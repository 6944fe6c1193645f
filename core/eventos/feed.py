"""The pull feed: events after a cursor, oldest first, for integrators catching up without webhooks."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core.models import Evento, Organizacao
from core.tenancy import escopo


def eventos_apos(*, organizacao: Organizacao, apos: str = "", tipos: list[str] | None = None, limite: int = 100) -> list[dict]:
    """Payloads of the events after the cursor `apos` (an event id), at most `limite`.

    Ids sort by creation time, but a transaction that started earlier can commit later. The feed
    therefore holds back the last few seconds (FISCAL_EVENTOS_ATRASO_SEGUNDOS, longer than any import
    transaction), so a consumer that saved a cursor never skips an event committed late.
    """
    limite_visivel = timezone.now() - timedelta(seconds=settings.FISCAL_EVENTOS_ATRASO_SEGUNDOS)
    eventos = escopo(Evento, organizacao).filter(criado_em__lte=limite_visivel)
    if apos:
        eventos = eventos.filter(id__gt=apos)
    if tipos:
        eventos = eventos.filter(tipo__in=tipos)
    return list(eventos.order_by("id").values_list("payload", flat=True)[:limite])
