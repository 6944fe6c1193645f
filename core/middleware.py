"""API middleware: a log row and `X-Response-Time` for every /api/ request, and a per-minute rate limit.

Order in settings.MIDDLEWARE: `APIRequestLoggingMiddleware` first, so its time covers the whole stack
and the 429s are logged too; `RateLimitMiddleware` right after `AuthenticationMiddleware`, so a session
user is known. Paths outside /api/ (admin, static) pass through both untouched.

Only the HTTP edge lives here; the work is elsewhere, one module per job:
- `core.limite.identidade`: who is calling (token, session or IP) and which limit applies;
- `core.limite.contadores`: the per-minute counters (Redis INCR or a database UPSERT) and their cleanup;
- `core.registro_requisicoes`: the log rows and the background thread that writes them in batches;
- `core.ip_do_cliente`: the client's address behind trusted proxies (both, and the admin login).
"""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone

from .aviso_espacado import AvisoEspacado
from .limite import contadores
from .limite.identidade import esquecer_tokens as _esquecer_identidades
from .limite.identidade import identificar
from .registro_requisicoes import linha, registro

logger = logging.getLogger(__name__)

PREFIXO = "/api/"
AVISO_DE_CACHE_A_CADA_SEGUNDOS = 60

_aviso_de_cache = AvisoEspacado(logger, AVISO_DE_CACHE_A_CADA_SEGUNDOS)


class RateLimitMiddleware:
    """At most N /api/ requests per user (or per IP, anonymous) per clock minute, across all processes.

    A fixed window per minute counted with one atomic increment: an INCR in Redis (or memcached) when
    RATE_LIMIT_CACHE is one, otherwise an UPSERT in the database, because the other caches are either
    per process (local memory: gunicorn's workers would each admit the limit) or not atomic (file,
    database cache: get then set). If the counter is unreachable the request passes (fail open) and a
    warning is logged, at most once a minute per process.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(PREFIXO):
            return self.get_response(request)
        identidade = identificar(request)
        request.identidade_api = identidade
        agora = contadores.relogio()  # looked up at call time: tests freeze it there
        fim = contadores.fim_da_janela(agora)
        limite = identidade.limite
        try:
            contagem = contadores.contar(identidade.contador, fim)
        except Exception as erro:  # cache down: better to serve unthrottled than not at all
            _avisar_falha_de_cache(erro)
            return self.get_response(request)
        if contagem > limite:
            resposta = _muitas_requisicoes(limite, math.ceil(fim - agora))
        else:
            resposta = self.get_response(request)
        resposta["X-RateLimit-Limit"] = str(limite)
        resposta["X-RateLimit-Remaining"] = str(max(0, limite - contagem))
        resposta["X-RateLimit-Reset"] = str(fim)
        return resposta


def _muitas_requisicoes(limite: int, segundos: int) -> JsonResponse:
    segundos = max(1, segundos)
    resposta = JsonResponse(
        {
            "erro": f"Muitas requisições: o limite é de {limite} por minuto.",
            "detalhes": {"limite_por_minuto": limite, "tentar_novamente_em_segundos": segundos},
        },
        status=429,
    )
    resposta["Retry-After"] = str(segundos)
    return resposta


def _avisar_falha_de_cache(erro: Exception) -> None:
    _aviso_de_cache.avisar(
        "rate limit desligado: o contador (cache %r ou banco) não respondeu (%s: %s); requisições liberadas",
        settings.RATE_LIMIT_CACHE, type(erro).__name__, erro,
    )  # fmt: skip


def esquecer_tokens() -> None:
    """Drop what this process's limiter remembers: tokens and the cache warning (tests; a new limit at once)."""
    _esquecer_identidades()
    _aviso_de_cache.esquecer()


class APIRequestLoggingMiddleware:
    """An `APIRequestLog` row and an `X-Response-Time` header for every /api/ request.

    The row is built after the response and handed to `registro`, which writes rows in batches from a
    background thread; nothing here can fail the request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(PREFIXO):
            return self.get_response(request)
        criado_em = timezone.now()
        inicio = time.perf_counter()
        resposta = self.get_response(request)
        duracao_ms = (time.perf_counter() - inicio) * 1000
        resposta["X-Response-Time"] = f"{duracao_ms:.1f}ms"
        if not settings.APIREQUESTLOG_ATIVO:
            return resposta
        try:
            registro.adicionar(linha(request, resposta.status_code, duracao_ms, criado_em))
        except Exception:
            logger.exception("falha ao registrar a requisição %s %s", request.method, request.path)
        return resposta
