"""The rate limit's counters: one atomic increment per request in a fixed window per clock minute.

An INCR in Redis (or memcached) when RATE_LIMIT_CACHE is one, otherwise an UPSERT in the database,
because the other caches are either per process (local memory: gunicorn's workers would each admit the
limit) or not atomic (file, database cache: get then set). With Redis a request does not touch the
database at all; in the database it costs one UPSERT and nothing else: the ended windows are deleted
off the request path (`janelas_encerradas`).
"""

from __future__ import annotations

import math
import time
import weakref
from functools import lru_cache

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.memcached import BaseMemcachedCache
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.db.models import QuerySet

from core.models import ContadorDeRequisicoes

JANELA_SEGUNDOS = 60
_janela_limpa: dict[str, int | None] = {"fim": None}  # the window whose ended predecessors went last


def relogio() -> float:
    """Unix time; the rate-limit windows are aligned to it (tests freeze it)."""
    return time.time()


def fim_da_janela(agora: float) -> int:
    """Unix second at which the window holding `agora` ends (windows are aligned to the clock's minutes)."""
    return (int(agora // JANELA_SEGUNDOS) + 1) * JANELA_SEGUNDOS


def chave_do_contador(contador: str, fim_da_janela: int) -> str:
    return f"rl:{fim_da_janela}:{contador}"


def contar(contador: str, fim_da_janela: int) -> int:
    """This request's number in its window; the key outlives the window by a minute (clock skew)."""
    cache = caches[settings.RATE_LIMIT_CACHE]
    chave = chave_do_contador(contador, fim_da_janela)
    if not conta_no_cache(cache):
        return contar_no_banco(chave, fim_da_janela)
    validade = math.ceil(fim_da_janela - relogio()) + JANELA_SEGUNDOS
    cliente = cliente_redis(cache)
    if cliente is not None:
        chave = cache.make_and_validate_key(chave)
        contagem = cliente.incr(chave)
        if contagem == 1:  # the window's first request; had this process died just before, the key
            cliente.expire(chave, validade)  # would linger unused (its window is in its name)
        return contagem
    try:
        return cache.incr(chave)
    except ValueError:  # first request of the window
        pass
    if cache.add(chave, 1, timeout=validade):
        return 1
    return cache.incr(chave)  # another process created it between our incr and add


def conta_no_cache(cache) -> bool:
    """Whether the cache's own increment is shared by every process and atomic: Redis and memcached."""
    return isinstance(cache, (RedisCache, BaseMemcachedCache))


def contar_no_banco(chave: str, fim_da_janela: int) -> int:
    """This request's number in its window, counted by one UPSERT that every process shares.

    One statement, so two processes can never read the same count (PostgreSQL locks the row; SQLite
    takes its write lock, waiting up to the connection's timeout). Runs in autocommit: the middleware
    sits outside any request transaction. Nothing else: the ended windows are deleted elsewhere
    (`janelas_encerradas`).
    """
    with connection.cursor() as cursor:
        cursor.execute(_sql_do_contador(connection.vendor), [chave, fim_da_janela])
        return cursor.fetchone()[0]


def janelas_encerradas(agora: float) -> QuerySet:
    """The database counters of the windows that ended over a minute before `agora` (Unix seconds).

    The window that just ended stays: a process whose clock lags a little may still be counting in it.
    Deleted by each process's request log writer thread once a window (`limpar_janelas_encerradas`) and
    by the daily `limpeza_logs`, never by a request: a DELETE at the first request of a minute made that
    request's cost depend on the clock.
    """
    return ContadorDeRequisicoes.objects.filter(fim_da_janela__lt=fim_da_janela(agora) - JANELA_SEGUNDOS)


def limpar_janelas_encerradas() -> int:
    """Delete the ended windows, at most once a window per process and only when counting in the database.

    Called by the request log's writer thread (core.registro_requisicoes), the process's one background
    thread, every time it wakes. One DELETE of about a minute of callers on the fim_da_janela index, no
    row loaded (nothing refers to them); two processes doing it at once only delete nothing the second time.
    """
    agora = relogio()
    if fim_da_janela(agora) == _janela_limpa["fim"] or conta_no_cache(caches[settings.RATE_LIMIT_CACHE]):
        return 0
    _janela_limpa["fim"] = fim_da_janela(agora)
    return janelas_encerradas(agora).delete()[0]


@lru_cache(maxsize=4)
def _sql_do_contador(vendor: str) -> str:
    # Same text for SQLite (3.35+, for RETURNING) and PostgreSQL; the vendor is only the cache key.
    tabela = connection.ops.quote_name(ContadorDeRequisicoes._meta.db_table)
    return (
        f"INSERT INTO {tabela} (chave, fim_da_janela, contagem) VALUES (%s, %s, 1) "  # noqa: S608 (quoted table name)
        f"ON CONFLICT (chave) DO UPDATE SET contagem = {tabela}.contagem + 1 RETURNING contagem"
    )


_clientes_redis: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cliente_redis(cache):
    """One redis client per Django RedisCache, or None for other caches.

    Django's RedisCache builds a new redis client for every call (~0.3 ms with redis-py 8) and its
    `incr()` is two round trips (EXISTS, then INCR); with this client a request costs one INCR.
    """
    if not isinstance(cache, RedisCache):
        return None
    cliente = _clientes_redis.get(cache)
    if cliente is None:
        cliente = _clientes_redis[cache] = cache._cache.get_client(write=True)
    return cliente
