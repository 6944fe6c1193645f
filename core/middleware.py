"""API middleware: a log row and `X-Response-Time` for every /api/ request, and a per-minute rate limit.

Order in settings.MIDDLEWARE: `APIRequestLoggingMiddleware` first, so its time covers the whole stack
and the 429s are logged too; `RateLimitMiddleware` right after `AuthenticationMiddleware`, so a session
user is known. Paths outside /api/ (admin, static) pass through both untouched.

Who is calling. DRF authenticates inside the view, so at middleware level a token request still looks
anonymous. The rate limiter resolves the token itself with the query `TokenComOrganizacao` makes (token
+ user + membership + organization) and leaves the result on the request, where `TokenComOrganizacao`
picks it up instead of querying again: a request costs no extra query. The result is remembered per
process for RATE_LIMIT_CACHE_SEGUNDOS, so a client over its limit is refused without looking it up
again (with Redis, without touching the database at all; with the default cache the count itself is one
UPSERT in the database, see `contar_no_banco`, and nothing else: the ended windows are deleted off the
request path, see `janelas_encerradas`). The log row takes DRF's verdict when the view ran (DRF copies `user` and `auth` onto the
HttpRequest; `api.permissoes` puts `organizacao` there) and the limiter's when it did not (a 429, an
unknown URL).
"""

from __future__ import annotations

import atexit
import collections
import ipaddress
import logging
import math
import os
import threading
import time
import weakref
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.cache.backends.memcached import BaseMemcachedCache
from django.core.cache.backends.redis import RedisCache
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import JsonResponse
from django.utils import timezone

from .aviso_espacado import AvisoEspacado
from .models import APIRequestLog, ContadorDeRequisicoes, Membro
from .tenancy import SemOrganizacao, organizacao_do_usuario, token_de_api
from .tokens import motivo_da_recusa

logger = logging.getLogger(__name__)

PREFIXO = "/api/"
JANELA_SEGUNDOS = 60
MAXIMO_DE_TOKENS_LEMBRADOS = 10_000
AVISO_DE_CACHE_A_CADA_SEGUNDOS = 60


def relogio() -> float:
    """Unix time; the rate-limit windows are aligned to it (tests freeze it)."""
    return time.time()


# --- Client IP --------------------------------------------------------------------------------------


def ip_do_cliente(request) -> str | None:
    """REMOTE_ADDR, unless it is a trusted proxy: then the right-most X-Forwarded-For address that is not.

    Each proxy appends the address it received the request from, so only entries added by proxies we
    trust are facts; anything to the left of the first untrusted one may be made up by the client.
    """
    remoto = _endereco(request.META.get("REMOTE_ADDR", ""))
    redes = _redes_confiaveis(tuple(settings.FISCAL_PROXIES_CONFIAVEIS))
    if remoto is None or not _confiavel(remoto, redes):
        return str(remoto) if remoto else None
    cliente = remoto
    for valor in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        endereco = _endereco(valor)
        if endereco is None:  # garbage from a trusted hop: believe nothing further left
            break
        cliente = endereco
        if not _confiavel(endereco, redes):
            break
    return str(cliente)


@lru_cache(maxsize=4096)  # the same few addresses (clients, proxies) over and over
def _endereco(valor: str):
    try:
        endereco = ipaddress.ip_address(valor.strip())
    except ValueError:
        return None
    return getattr(endereco, "ipv4_mapped", None) or endereco


@lru_cache(maxsize=8)
def _redes_confiaveis(valores: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(valor, strict=False) for valor in valores)


def _confiavel(endereco, redes) -> bool:
    return any(endereco in rede for rede in redes)


# --- Rate limit -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identidade:
    """Whose counter a request increments: a user's ("u:<id>") or, anonymous, an IP's ("ip:<addr>")."""

    contador: str
    usuario_id: int | None = None
    organizacao_id: int | None = None
    limite_da_organizacao: int | None = None

    @property
    def limite(self) -> int:
        if self.limite_da_organizacao is not None:
            return self.limite_da_organizacao
        return settings.RATE_LIMIT_PER_MINUTE


_tokens_lembrados: dict[str, tuple[float, Identidade | None]] = {}
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
        agora = relogio()
        fim = fim_da_janela(agora)
        limite = identidade.limite
        try:
            contagem = contar(identidade.contador, fim)
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


def identificar(request) -> Identidade:
    """The counter a request belongs to: its token's user, its session's user, or its IP."""
    chave = _token_do_cabecalho(request)
    if chave is not None:
        identidade = _identidade_do_token(request, chave)
    else:
        usuario = getattr(request, "user", None)
        identidade = _identidade_da_sessao(usuario) if usuario is not None and usuario.is_authenticated else None
    # An invalid token counts against its IP: fresh random tokens must not each get a fresh allowance.
    return identidade or Identidade(f"ip:{_rede_do_cliente(ip_do_cliente(request))}")


@lru_cache(maxsize=4096)
def _rede_do_cliente(ip: str | None) -> str:
    """An IPv4 address, or the /64 of an IPv6 one: one host holds a whole /64 and may rotate within it."""
    if ip is None:
        return "desconhecido"
    if ":" not in ip:
        return ip
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def _token_do_cabecalho(request) -> str | None:
    partes = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(partes) == 2 and partes[0].lower() == "token":
        return partes[1]
    return None


def _identidade_do_token(request, chave: str) -> Identidade | None:
    agora = time.monotonic()
    lembrada = _tokens_lembrados.get(chave)
    if lembrada is not None and lembrada[0] > agora:
        return lembrada[1]
    token = token_de_api(chave)
    request.token_api_buscado = (chave, token)  # TokenComOrganizacao uses it instead of querying again
    identidade = None
    if token is not None and motivo_da_recusa(token) is None:  # a revoked or expired token counts as anonymous
        identidade = _identidade_do_usuario(token.usuario)
    if len(_tokens_lembrados) >= MAXIMO_DE_TOKENS_LEMBRADOS:
        _tokens_lembrados.clear()  # a flood of made-up tokens must not grow memory without bound
    _tokens_lembrados[chave] = (agora + settings.RATE_LIMIT_CACHE_SEGUNDOS, identidade)
    return identidade


def _identidade_da_sessao(usuario) -> Identidade:
    # Load the membership once and leave it cached on the user, where organizacao_do_usuario (called
    # by the API permission) finds it without a second query.
    membro = Membro.objects.select_related("organizacao").filter(usuario_id=usuario.pk).first()
    get_user_model().membro.related.set_cached_value(usuario, membro)
    return _identidade_do_usuario(usuario)


def _identidade_do_usuario(usuario) -> Identidade:
    try:
        organizacao = organizacao_do_usuario(usuario)  # cached on the user: no query
    except SemOrganizacao:
        return Identidade(f"u:{usuario.pk}", usuario.pk)
    return Identidade(f"u:{usuario.pk}", usuario.pk, organizacao.pk, organizacao.limite_requisicoes_por_minuto)


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
    Deleted by each process's request log writer thread once a window (`RegistroDeRequisicoes`) and by
    the daily `limpeza_logs`, never by a request: a DELETE at the first request of a minute made that
    request's cost depend on the clock.
    """
    return ContadorDeRequisicoes.objects.filter(fim_da_janela__lt=fim_da_janela(agora) - JANELA_SEGUNDOS)


@lru_cache(maxsize=4)
def _sql_do_contador(vendor: str) -> str:
    # Same text for SQLite (3.35+, for RETURNING) and PostgreSQL; the vendor is only the cache key.
    tabela = connection.ops.quote_name(ContadorDeRequisicoes._meta.db_table)
    return (
        f"INSERT INTO {tabela} (chave, fim_da_janela, contagem) VALUES (%s, %s, 1) "
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
    """Drop what this process remembers of tokens (tests; an organization's new limit at once)."""
    _tokens_lembrados.clear()
    _aviso_de_cache.esquecer()


# --- Request log ------------------------------------------------------------------------------------


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
            registro.adicionar(_linha(request, resposta.status_code, duracao_ms, criado_em))
        except Exception:
            logger.exception("falha ao registrar a requisição %s %s", request.method, request.path)
        return resposta


def _linha(request, status: int, duracao_ms: float, criado_em) -> dict:
    usuario_id, organizacao_id = _usuario_e_organizacao(request)
    return {
        "metodo": request.method[:10],
        # Never the query string: it may carry secrets. No NUL either: PostgreSQL refuses it in text, and
        # one such row would cost the whole batch.
        "caminho": request.path.replace("\x00", "")[:500],
        "status": status,
        "duracao_ms": round(duracao_ms),
        "ip": ip_do_cliente(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", "").replace("\x00", "")[:300],
        "usuario_id": usuario_id,
        "organizacao_id": organizacao_id,
        "criado_em": criado_em,
    }


def _usuario_e_organizacao(request) -> tuple[int | None, int | None]:
    identidade = getattr(request, "identidade_api", None)
    if identidade is not None and not hasattr(request, "auth"):  # DRF never ran: the limiter knows
        return identidade.usuario_id, identidade.organizacao_id
    usuario = getattr(request, "user", None)
    if usuario is None or not usuario.is_authenticated:
        return None, None
    organizacao = getattr(request, "organizacao", None)
    if organizacao is not None:
        return usuario.pk, organizacao.pk
    if identidade is not None and identidade.usuario_id == usuario.pk:
        return usuario.pk, identidade.organizacao_id
    return usuario.pk, None


class RegistroDeRequisicoes:
    """A per-process buffer of log rows, written by one daemon thread in batches.

    The thread writes when APIREQUESTLOG_LOTE rows are waiting or every APIREQUESTLOG_INTERVALO_SEGUNDOS,
    and whatever is left is written at exit. With APIREQUESTLOG_LOTE=1 each row is written at once in the
    request's own thread (tests). A batch the database refuses is logged and dropped, and the buffer is
    bounded, so a database outage costs log rows, never memory or requests. A process killed with
    SIGKILL loses the rows still waiting (at most one batch or one interval).

    Being the process's one background thread, it also deletes the rate limiter's ended windows from the
    database, once a window (`limpar_contadores`); where no writer thread runs (APIREQUESTLOG_ATIVO=false,
    APIREQUESTLOG_LOTE=1) the daily `limpeza_logs` does.
    """

    def __init__(self):
        self._fila: collections.deque = collections.deque(maxlen=100_000)
        self._acordar = threading.Event()
        self._parar = False
        self._escritor: threading.Thread | None = None
        self._trava = threading.Lock()
        self._janela_limpa: int | None = None  # the window whose ended predecessors this thread last deleted

    def adicionar(self, linha: dict) -> None:
        lote = settings.APIREQUESTLOG_LOTE
        if lote <= 1:
            gravar([linha])
            return
        self._fila.append(linha)
        if self._escritor is None:
            self._iniciar()
        if len(self._fila) >= lote:
            self._acordar.set()

    def pendentes(self) -> int:
        return len(self._fila)

    def descarregar(self) -> int:
        """Write every waiting row now, in the caller's thread; the number written."""
        linhas = []
        while True:
            try:
                linhas.append(self._fila.popleft())
            except IndexError:
                break
        return gravar(linhas) if linhas else 0

    def parar(self) -> None:
        """Stop the writer thread and write what is left (at exit)."""
        with self._trava:
            escritor, self._escritor, self._parar = self._escritor, None, True
        if escritor is not None:
            self._acordar.set()
            escritor.join(timeout=10)
        self._parar = False
        self.descarregar()

    def _iniciar(self) -> None:
        with self._trava:
            if self._escritor is None:
                self._escritor = threading.Thread(target=self._laco, name="apirequestlog", daemon=True)
                self._escritor.start()

    def _laco(self) -> None:
        # This thread's own database connection stays open while rows keep coming (connecting costs
        # ~3-10 ms on PostgreSQL); it is closed after a failed write and after an idle interval.
        while not self._parar:
            self._acordar.wait(settings.APIREQUESTLOG_INTERVALO_SEGUNDOS)
            self._acordar.clear()
            try:
                self.limpar_contadores()
                if not (self._fila and self.descarregar()):
                    connection.close()
            except Exception:  # the thread must outlive any surprise, or rows would pile up unwritten
                logger.exception("falha na thread que grava o registro de requisições à API")
        connection.close()

    def limpar_contadores(self) -> int:
        """Delete the rate limiter's ended windows, once a window and only when it counts in the database."""
        agora = relogio()
        if fim_da_janela(agora) == self._janela_limpa or conta_no_cache(caches[settings.RATE_LIMIT_CACHE]):
            return 0
        self._janela_limpa = fim_da_janela(agora)
        # One DELETE of a minute of callers on the fim_da_janela index; no row loads (nothing refers to them).
        return janelas_encerradas(agora).delete()[0]

    def _depois_do_fork(self) -> None:
        # The child inherits the parent's waiting rows (the parent writes them) but not its thread.
        self.__init__()


COLUNAS = ("metodo", "caminho", "status", "duracao_ms", "ip", "user_agent", "usuario_id", "organizacao_id", "criado_em")
LINHAS_POR_INSERT = 100  # 900 parameters: under SQLite's historical limit of 999


def gravar(linhas: list[dict]) -> int:
    """Insert log rows in one transaction; a database error is logged, never raised.

    Not `bulk_create`: the ORM spends ~100 µs per row preparing values, and in a busy process that
    time is taken from the requests, which share the GIL with the writer thread. PostgreSQL gets COPY
    (~5 µs of CPU per row; a multi-row INSERT costs ~40 µs, `executemany` a round trip per row), SQLite
    multi-row INSERTs (~10-15 µs). Measured on the 2-core development machine, batches of 200-1000.
    """
    ops = connection.ops
    try:
        valores = [
            (*(linha[c] for c in COLUNAS[:8]), ops.adapt_datetimefield_value(linha["criado_em"])) for linha in linhas
        ]
        # A savepoint when called inside a transaction (tests), so a failure cannot poison it.
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with connection.wrap_database_errors, cursor.cursor.copy(_sql(connection.vendor, 0)) as copia:
                    for linha in valores:
                        copia.write_row(linha)
            else:
                for inicio in range(0, len(valores), LINHAS_POR_INSERT):
                    lote = valores[inicio : inicio + LINHAS_POR_INSERT]
                    cursor.execute(_sql(connection.vendor, len(lote)), [v for linha in lote for v in linha])
    except Exception:
        logger.exception("não foi possível gravar %d registro(s) de requisições à API", len(linhas))
        return 0
    return len(linhas)


@lru_cache(maxsize=16)
def _sql(vendor: str, linhas: int) -> str:
    """COPY ... FROM STDIN (linhas=0), or an INSERT of `linhas` rows."""
    meta = APIRequestLog._meta
    nome = connection.ops.quote_name
    tabela = f"{nome(meta.db_table)} ({', '.join(nome(meta.get_field(c).column) for c in COLUNAS)})"
    if not linhas:
        return f"COPY {tabela} FROM STDIN"
    linha = f"({', '.join(['%s'] * len(COLUNAS))})"
    return f"INSERT INTO {tabela} VALUES {', '.join([linha] * linhas)}"


registro = RegistroDeRequisicoes()
atexit.register(registro.parar)
os.register_at_fork(after_in_child=registro._depois_do_fork)
