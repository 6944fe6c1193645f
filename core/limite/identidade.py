"""Who is calling, for the rate limit: the counter a request increments and the limit that applies.

DRF authenticates inside the view, so at middleware level a token request still looks anonymous. The
limiter resolves the token itself with the query `TokenComOrganizacao` makes (token + user + membership
+ organization) and leaves the result on the request, where `TokenComOrganizacao` picks it up instead
of querying again: a request costs no extra query. The result is remembered per process for
RATE_LIMIT_CACHE_SEGUNDOS, so a client over its limit is refused without looking it up again.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import get_user_model

from core.ip_do_cliente import ip_do_cliente
from core.models import Membro
from core.tenancy import SemOrganizacao, organizacao_do_usuario, token_de_api
from core.tokens import motivo_da_recusa

MAXIMO_DE_TOKENS_LEMBRADOS = 10_000


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


def esquecer_tokens() -> None:
    """Drop what this process remembers of tokens (an organization's new limit applies at once)."""
    _tokens_lembrados.clear()
