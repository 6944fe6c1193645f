"""The client's IP address behind trusted proxies: for the rate limit, the API request log and the login throttle."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings


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
