"""Health check for load balancers and monitors: `GET /saude/`.

200 {"status": "ok", "banco": "ok", "cache": "ok"}, or 503 with "erro" on the part that failed.

It lives outside /api/ on purpose: no token, no rate limit and no APIRequestLog row (the middlewares
in core/middleware.py skip every other path), so a probe every few seconds costs one `SELECT 1` and
one cache write, nothing else. The reason for a failure goes to the log, never into the response:
the endpoint is public.
"""

from __future__ import annotations

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

SEGUNDOS_DA_CHAVE = 30


def verificar_banco() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def verificar_cache() -> None:
    # One round trip that needs a live, writable cache. A key of its own per probe: concurrent probes
    # from several processes never see each other's value, and the key expires by itself.
    if not cache.add(f"fiscal:saude:{uuid.uuid4().hex}", 1, timeout=SEGUNDOS_DA_CHAVE):
        raise RuntimeError("o cache recusou a gravação")


def estado() -> dict[str, str]:
    """{"status", "banco", "cache"}: "ok" or "erro" for each part, and "ok" overall only if all are."""
    partes = {"banco": _resultado("banco", verificar_banco), "cache": _resultado("cache", verificar_cache)}
    return {"status": "ok" if all(v == "ok" for v in partes.values()) else "erro", **partes}


def _resultado(nome: str, verificar) -> str:
    try:
        verificar()
    except Exception as erro:  # any failure of a dependency is what this endpoint reports
        logger.warning("verificação de saúde: %s com problema: %s: %s", nome, type(erro).__name__, erro)
        return "erro"
    return "ok"


@never_cache
@require_safe
def saude(request):
    corpo = estado()
    return JsonResponse(corpo, status=200 if corpo["status"] == "ok" else 503)
