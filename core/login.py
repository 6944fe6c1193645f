"""Admin login throttling: failed logins counted per account and per client IP in Django's cache.

After ADMIN_LOGIN_FALHAS_POR_CONTA failures for one username (from any address), or
ADMIN_LOGIN_FALHAS_POR_IP failures from one address (over any usernames), the login form refuses every
attempt, the right password included, until the current window of ADMIN_LOGIN_JANELA_SEGUNDOS ends.
Windows are aligned to the clock, as in the API rate limit, so a counter is one atomic increment of a
key whose window is in its name. A successful login clears its account's counter (not its IP's: one
good password must not reopen an address that is guessing others).

The counters are counted where the API rate limit counts (core.limite.contadores), so the limits are
exact across processes: an atomic INCR in RATE_LIMIT_CACHE when it is Redis or memcached, otherwise one
UPSERT in the database's `ContadorDeRequisicoes` table (the default local-memory cache is per process:
gunicorn's workers would each allow the limit). The rows are `login:...` keys with the login window's end,
deleted with the rate limit's ended windows once that window is over. If the counter's store fails,
logins are not throttled (fail open, as the API rate limit does) and a warning is logged at most once a
minute.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.cache import caches
from django.core.exceptions import ValidationError

from .aviso_espacado import AvisoEspacado
from .ip_do_cliente import ip_do_cliente
from .limite.contadores import conta_no_cache, contar_no_banco
from .models import ContadorDeRequisicoes

logger = logging.getLogger(__name__)

_aviso_de_cache = AvisoEspacado(logger)


def relogio() -> float:
    """Unix time; the windows are aligned to it (tests move it)."""
    return time.time()


class FormularioDeLogin(AdminAuthenticationForm):
    """The admin login form, refusing any attempt while the account or the client IP is locked."""

    def clean(self):
        contadores = contadores_de(self.cleaned_data.get("username"), ip_do_cliente(self.request))
        if bloqueado(contadores):
            raise ValidationError(mensagem_de_bloqueio(), code="bloqueado")
        try:
            dados = super().clean()
        except ValidationError:
            registrar_falha(contadores)
            raise
        zerar(contadores[:1])
        return dados


def contadores_de(usuario: str | None, ip: str | None) -> list[tuple[str, int]]:
    """(counter, limit) pairs, the account's first. The username is hashed: no e-mail in cache keys."""
    conta = hashlib.sha256((usuario or "").strip().lower().encode()).hexdigest()[:32]
    return [(f"conta:{conta}", settings.ADMIN_LOGIN_FALHAS_POR_CONTA), (f"ip:{ip}", settings.ADMIN_LOGIN_FALHAS_POR_IP)]


def bloqueado(contadores) -> bool:
    try:
        valores = _contagens([_chave(contador) for contador, _ in contadores])
    except Exception as erro:  # store down: better an unthrottled login than no login at all
        _avisar_falha_de_cache(erro)
        return False
    return any(valores.get(_chave(contador), 0) >= limite for contador, limite in contadores)


def registrar_falha(contadores) -> None:
    try:
        for contador, limite in contadores:
            if _contar(_chave(contador)) == limite:
                logger.warning("login do admin bloqueado até o fim da janela: %s falhou %d vezes",
                               contador, limite)  # fmt: skip
    except Exception as erro:
        _avisar_falha_de_cache(erro)


def zerar(contadores) -> None:
    chaves = [_chave(contador) for contador, _ in contadores]
    try:
        if conta_no_cache(_cache()):
            _cache().delete_many(chaves)
        else:
            ContadorDeRequisicoes.objects.filter(chave__in=chaves).delete()
    except Exception as erro:
        _avisar_falha_de_cache(erro)


def mensagem_de_bloqueio() -> str:
    minutos = max(1, math.ceil((_fim_da_janela() - relogio()) / 60))
    return (
        "Muitas tentativas de entrada sem sucesso. Por segurança, o acesso está bloqueado por até "
        f"{minutos} minutos; tente novamente mais tarde."
    )


def esquecer_avisos() -> None:
    """Forget when the last cache warning was logged (tests)."""
    _aviso_de_cache.esquecer()


def _cache():
    return caches[settings.RATE_LIMIT_CACHE]


def _fim_da_janela() -> int:
    janela = settings.ADMIN_LOGIN_JANELA_SEGUNDOS
    return (int(relogio() // janela) + 1) * janela


def _chave(contador: str) -> str:
    return f"login:{_fim_da_janela()}:{contador}"


def _contagens(chaves: list[str]) -> dict[str, int]:
    if conta_no_cache(_cache()):
        return _cache().get_many(chaves)
    return dict(ContadorDeRequisicoes.objects.filter(chave__in=chaves).values_list("chave", "contagem"))


def _contar(chave: str) -> int:
    """Atomic increment, shared by every process; a cache key outlives its window by a minute (clock
    skew between processes), a database row is deleted with the rate limit's ended windows."""
    cache = _cache()
    if not conta_no_cache(cache):
        return contar_no_banco(chave, _fim_da_janela())
    try:
        return cache.incr(chave)
    except ValueError:  # the window's first failure
        pass
    if cache.add(chave, 1, timeout=math.ceil(_fim_da_janela() - relogio()) + 60):
        return 1
    return cache.incr(chave)  # another process created it between our incr and add


def _avisar_falha_de_cache(erro: Exception) -> None:
    _aviso_de_cache.avisar(
        "limite de tentativas de login do admin desligado: %s não respondeu (%s: %s); logins liberados",
        _onde_conta(), type(erro).__name__, erro,
    )  # fmt: skip


def _onde_conta() -> str:
    alias = settings.RATE_LIMIT_CACHE
    return f"o cache {alias!r}" if conta_no_cache(caches[alias]) else "o banco (contadores de requisições)"
