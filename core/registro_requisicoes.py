"""The API request log: one `APIRequestLog` row per /api/ request, written in batches by a background thread.

The row takes DRF's verdict on who called when the view ran (DRF copies `user` and `auth` onto the
HttpRequest; `api.permissoes` puts `organizacao` there) and the rate limiter's when it did not (a 429,
an unknown URL).
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
from functools import lru_cache

from django.conf import settings
from django.db import connection, transaction

from core.ip_do_cliente import ip_do_cliente
from core.limite import contadores
from core.models import APIRequestLog

logger = logging.getLogger(__name__)


def linha(request, status: int, duracao_ms: float, criado_em) -> dict:
    """The log row of a request answered with `status`."""
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
    database (`contadores.limpar_janelas_encerradas`); where no writer thread runs (APIREQUESTLOG_ATIVO=false,
    APIREQUESTLOG_LOTE=1) the daily `limpeza_logs` does.
    """

    def __init__(self):
        self._fila: collections.deque = collections.deque(maxlen=100_000)
        self._acordar = threading.Event()
        self._parar = False
        self._escritor: threading.Thread | None = None
        self._trava = threading.Lock()

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
                contadores.limpar_janelas_encerradas()
                if not (self._fila and self.descarregar()):
                    connection.close()
            except Exception:  # the thread must outlive any surprise, or rows would pile up unwritten
                logger.exception("falha na thread que grava o registro de requisições à API")
        connection.close()

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
    return f"INSERT INTO {tabela} VALUES {', '.join([linha] * linhas)}"  # noqa: S608 (table name and placeholders only)


registro = RegistroDeRequisicoes()
atexit.register(registro.parar)
os.register_at_fork(after_in_child=registro._depois_do_fork)
