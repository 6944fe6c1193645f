"""The one outbound HTTP client for webhook delivery.

Everything that sends a webhook goes through `enviar()`; everything that accepts a webhook URL checks
it with `validar_url()`. Rules (issue 4, "SSRF guard"):

- only http/https, no credentials in the URL, HTTPS unless DEBUG or private networks are allowed;
- the host is resolved here, every address must be public, and the connection goes to the checked IP
  (the hostname is never resolved a second time, so DNS rebinding cannot swap the target), while the
  Host header, SNI and certificate verification keep using the hostname;
- redirects are never followed, timeouts always apply, at most `LIMITE_LEITURA` bytes are read.

urllib3 is used directly rather than a `requests.Session`: it reads no environment variable (proxies,
`REQUESTS_CA_BUNDLE`, which requests honours over `Session.verify`), keeps no cookie jar shared between receivers, and its pools
are keyed by (IP, port, TLS hostname), which is exactly "connect to the checked IP".
"""

from __future__ import annotations

import codecs
import ipaddress
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import SplitResult, urlsplit

import certifi
import urllib3
from django.conf import settings
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from core.models.webhooks import ClasseDeFalha

logger = logging.getLogger(__name__)

USER_AGENT = "fiscal-webhooks/1.0"
TIMEOUT_CONEXAO = 5.0  # seconds; capped by the caller's timeout
LIMITE_LEITURA = 64 * 1024  # bytes read from a response at most
LIMITE_TRECHO = 4 * 1024  # bytes of the body kept in `Resposta.trecho`
MAX_ENDERECOS = 3  # addresses tried per delivery, so a host with 50 dead A records cannot hold a worker

IP = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADADOS = ipaddress.ip_address("169.254.169.254")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Special-purpose ranges that Python 3.11's `ipaddress` does not flag as private.
_RESERVADAS = [ipaddress.ip_network(r) for r in ("192.0.0.0/24", "198.18.0.0/15", "64:ff9b:1::/48")]
# Headers the caller may not set: the client owns framing, the target and its identity.
_CABECALHOS_PROPRIOS = {"host", "user-agent", "content-length", "transfer-encoding", "connection"}

# Threads that may send at once without having said so: a gunicorn worker's request threads (a test
# delivery, a re-send; GUNICORN_THREADS defaults to 4), the cron task, a one-thread worker.
CONEXOES_AVULSAS = 4
# Shared by every thread (urllib3 pools are thread-safe); LRU-bounded, so it cannot grow without limit.
# `maxsize` is the connections kept per receiver: it grows with `reservar_conexoes()`.
_pools = urllib3.PoolManager(num_pools=50, maxsize=CONEXOES_AVULSAS, retries=False)
_reservas: dict[object, int] = {}
_trava_reservas = threading.Lock()


def reservar_conexoes(dono: object, threads: int) -> None:
    """Keep one connection per receiver for each of `dono`'s `threads` (the immediate pool, a worker).

    Sized to the threads that send, so a connection coming back is kept rather than dropped with
    urllib3's "Connection pool is full" warning (and a new handshake next time). Pools built before
    a change are cleared: their connections in use are closed when returned, not logged as overflow.
    """
    with _trava_reservas:
        _reservas[dono] = threads
        tamanho = CONEXOES_AVULSAS + sum(_reservas.values())
        if _pools.connection_pool_kw.get("maxsize") != tamanho:
            _pools.connection_pool_kw["maxsize"] = tamanho
            _pools.clear()


def conexoes_por_receptor() -> int:
    return _pools.connection_pool_kw["maxsize"]


class URLRecusada(ValueError):
    """The URL may not receive webhooks; the message (pt-BR) says why."""


class HostNaoResolvido(URLRecusada):
    """The host does not resolve (possibly a passing DNS failure)."""


class FalhaDeEnvio(Exception):
    """The request did not produce an HTTP response; `classe` says why (a `ClasseDeFalha` value)."""

    def __init__(self, motivo: str, *, classe: ClasseDeFalha):
        super().__init__(motivo)
        self.motivo = motivo
        self.classe = classe


@dataclass(frozen=True)
class Resposta:
    status: int
    duracao_ms: int
    trecho: str
    cabecalhos: dict = field(default_factory=dict)
    retry_after_segundos: int | None = None


# --- URL validation -------------------------------------------------------------------------------


def validar_url(
    url: str, *, permitir_redes_privadas: bool | None = None, exigir_https: bool | None = None
) -> list[IP]:
    """Return every address the URL's host resolves to, or raise `URLRecusada`."""
    _partes, host, _porta = _analisar(url, exigir_https=exigir_https, permitir=permitir_redes_privadas)
    return _resolver(host, permitir_redes_privadas)


def _permitir_privadas(valor: bool | None) -> bool:
    if valor is None:
        return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_NETWORKS", False))
    return valor


def _analisar(url: str, *, exigir_https: bool | None, permitir: bool | None) -> tuple[SplitResult, str, int]:
    """Check the URL's form; return its parts, the ASCII hostname and the port."""
    partes = urlsplit(url.strip())
    if partes.scheme not in ("http", "https"):
        recebido = partes.scheme or "nenhum"
        raise URLRecusada(f"URL recusada: o esquema deve ser http ou https (recebido: {recebido}).")
    if partes.username is not None or partes.password is not None:
        raise URLRecusada("URL recusada: credenciais na URL não são permitidas; use cabeçalhos customizados.")
    try:
        porta = partes.port
    except ValueError:  # not a number, or above 65535
        raise URLRecusada("URL recusada: porta inválida.") from None
    if porta == 0:
        raise URLRecusada("URL recusada: porta inválida.")
    porta = porta or (443 if partes.scheme == "https" else 80)
    if not partes.hostname:
        raise URLRecusada("URL recusada: falta o host.")
    try:
        host = partes.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise URLRecusada(f"URL recusada: host inválido ({partes.hostname}).") from None
    if exigir_https is None:
        exigir_https = not (getattr(settings, "DEBUG", False) or _permitir_privadas(permitir))
    if exigir_https and partes.scheme != "https":
        raise URLRecusada("URL recusada: HTTPS é obrigatório.")
    return partes, host, porta


def _resolver(host: str, permitir: bool | None) -> list[IP]:
    enderecos = _resolver_host(host)
    if not _permitir_privadas(permitir):
        for ip in enderecos:
            motivo = motivo_nao_publico(ip)
            if motivo and _ip_literal(host) is not None:
                raise URLRecusada(f"URL recusada: {ip} é um endereço {motivo}.")
            if motivo:
                raise URLRecusada(f"URL recusada: o host {host} resolve para {ip}, endereço {motivo}.")
    return enderecos


def _resolver_host(host: str) -> list[IP]:
    literal = _ip_literal(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostNaoResolvido(f"URL recusada: o host {host} não resolve ({exc}).") from None
    enderecos = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not enderecos:
        raise HostNaoResolvido(f"URL recusada: o host {host} não resolve.")
    return enderecos


def _ip_literal(host: str) -> IP | None:
    """An IP written in the host, including the inet_aton forms `127.1`, `0x7f000001`, `2130706433`."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    partes = host.split(".")
    if not 1 <= len(partes) <= 4:
        return None
    try:
        numeros = [_numero_inet_aton(p) for p in partes]
    except ValueError:
        return None  # a name, not a number
    *altos, ultimo = numeros
    if any(not 0 <= n <= 255 for n in altos) or not 0 <= ultimo < 256 ** (5 - len(partes)):
        return None
    valor = ultimo
    for i, n in enumerate(altos):
        valor += n << (8 * (3 - i))
    return ipaddress.IPv4Address(valor)


def _numero_inet_aton(parte: str) -> int:
    if parte[:2].lower() == "0x":
        return int(parte[2:], 16)
    if parte[:1] == "0" and len(parte) > 1:
        return int(parte[1:], 8)
    return int(parte)


def motivo_nao_publico(ip: IP) -> str | None:
    """Why `ip` may not receive webhooks (pt-BR), or None when it is a public unicast address."""
    if ip.version == 6:
        embutido = ip.ipv4_mapped or ip.sixtofour
        if embutido is None and ip in _NAT64:
            embutido = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embutido is not None:
            motivo = motivo_nao_publico(embutido)
            return f"{motivo} (IPv4 embutido {embutido})" if motivo else None
    if ip == _METADADOS:
        return "de metadados de nuvem"
    if ip.is_loopback:
        return "de loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.version == 4 and ip in _CGNAT:
        return "CGNAT (100.64.0.0/10)"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "não especificado"
    if ip.is_private:
        return "privado"
    if ip.is_reserved or not ip.is_global or any(ip in r for r in _RESERVADAS if r.version == ip.version):
        return "reservado"
    return None


# --- Sending --------------------------------------------------------------------------------------


def enviar(url: str, corpo: bytes, cabecalhos: dict, *, timeout: float) -> Resposta:
    """POST `corpo` to `url`; return the response (any status, 3xx included) or raise.

    Raises `URLRecusada` when the URL may not be used and `FalhaDeEnvio` when no response came back.
    """
    partes, host, porta = _analisar(url, exigir_https=None, permitir=None)
    try:
        enderecos = _resolver(host, None)
    except HostNaoResolvido as exc:
        logger.warning("webhook %s: DNS falhou", url_segura(url))
        raise FalhaDeEnvio(str(exc), classe=ClasseDeFalha.REDE) from None
    headers = _montar_cabecalhos(cabecalhos, partes, host, porta)
    caminho = (partes.path or "/") + (f"?{partes.query}" if partes.query else "")
    inicio = time.monotonic()
    tempo = urllib3.Timeout(connect=min(TIMEOUT_CONEXAO, timeout), read=timeout)
    falha = None
    for ip in enderecos[:MAX_ENDERECOS]:
        pool = _pool(partes.scheme, ip, porta, host)
        try:
            resp = pool.urlopen(
                "POST", caminho, body=corpo, headers=headers, timeout=tempo,
                redirect=False, retries=False, preload_content=False, assert_same_host=False,
            )
        except (NewConnectionError, ConnectTimeoutError) as exc:
            # Nothing was sent: the next address (if any) may be tried safely.
            falha = _classificar(exc, ip, porta, timeout)
            continue
        except (HTTPError, OSError) as exc:
            falha = _classificar(exc, ip, porta, timeout)
            break
        except ValueError:  # http.client refuses a header with CR/LF; its message quotes the value
            # Refused before sending, like a URL the rules refuse: the webhook's configuration must change.
            falha = FalhaDeEnvio("cabeçalho customizado inválido (nome ou valor malformado)", classe=ClasseDeFalha.RECUSADA)
            break
        resposta = _ler_resposta(resp, inicio, prazo=inicio + tempo.connect_timeout + timeout)
        logger.info("webhook %s -> %s em %d ms", url_segura(url), resposta.status, resposta.duracao_ms)
        return resposta
    logger.warning("webhook %s falhou: %s", url_segura(url), falha.motivo)
    raise falha


def _pool(esquema: str, ip: IP, porta: int, host: str):
    if esquema == "http":
        return _pools.connection_from_host(str(ip), porta, "http")
    # The socket goes to the checked IP; SNI and certificate checks use the hostname. The CA bundle is
    # explicit so SSL_CERT_FILE and friends cannot change what is trusted.
    nome = None if _ip_literal(host) is not None else host
    pool_kwargs = {
        "cert_reqs": "CERT_REQUIRED",
        "ca_certs": getattr(settings, "WEBHOOK_CA_BUNDLE", None) or certifi.where(),
        "server_hostname": nome,
        "assert_hostname": nome,
    }
    return _pools.connection_from_host(str(ip), porta, "https", pool_kwargs=pool_kwargs)


def _montar_cabecalhos(cabecalhos: dict, partes: SplitResult, host: str, porta: int) -> dict:
    headers = {k: v for k, v in cabecalhos.items() if k.lower() not in _CABECALHOS_PROPRIOS}
    nome = f"[{host}]" if ":" in host else host
    padrao = 443 if partes.scheme == "https" else 80
    headers["Host"] = nome if porta == padrao else f"{nome}:{porta}"
    headers["User-Agent"] = USER_AGENT
    return headers


def _ler_resposta(resp, inicio: float, *, prazo: float) -> Resposta:
    corpo = _ler_corpo(resp, prazo)
    return Resposta(
        status=resp.status,
        duracao_ms=int((time.monotonic() - inicio) * 1000),
        trecho=_trecho(corpo),
        cabecalhos={k.lower(): resp.headers[k] for k in resp.headers},
        retry_after_segundos=_retry_after(resp.headers.get("Retry-After")),
    )


def _ler_corpo(resp, prazo: float) -> bytes:
    """Read at most LIMITE_LEITURA bytes, and stop at the deadline (a receiver dribbling its body)."""
    partes, total, completo = [], 0, False
    try:
        while total < LIMITE_LEITURA and time.monotonic() < prazo:
            bloco = resp.read(min(16 * 1024, LIMITE_LEITURA - total))
            if not bloco:
                completo = True
                break
            partes.append(bloco)
            total += len(bloco)
    except (HTTPError, OSError) as exc:
        # The status line already arrived: the receiver answered, so the answer stands.
        logger.debug("webhook: corpo da resposta interrompido (%s)", type(exc).__name__)
    finally:
        if not completo:
            resp.close()  # unread bytes left on the socket: never reuse this connection
        resp.release_conn()
    return b"".join(partes)


def _trecho(corpo: bytes) -> str:
    # An incremental decoder drops a multi-byte character cut at the limit instead of mangling it.
    return codecs.getincrementaldecoder("utf-8")(errors="replace").decode(corpo[:LIMITE_TRECHO])


def _retry_after(valor: str | None) -> int | None:
    if not valor:
        return None
    valor = valor.strip()
    if valor.isdigit():
        return int(valor)
    try:
        data = parsedate_to_datetime(valor)
    except (TypeError, ValueError):
        return None
    if data.tzinfo is None:
        return None
    return max(0, round(data.timestamp() - time.time()))


def _classificar(exc: Exception, ip: IP, porta: int, timeout: float) -> FalhaDeEnvio:
    """The failure and its class. Every class is retried by the caller (as Stripe and Svix do): an
    expired certificate gets renewed, a restarted receiver comes back."""
    destino = f"[{ip}]:{porta}" if ip.version == 6 else f"{ip}:{porta}"
    if isinstance(exc, ReadTimeoutError):
        return FalhaDeEnvio(f"o receptor não respondeu em {timeout:g} s", classe=ClasseDeFalha.TEMPO_ESGOTADO)
    if isinstance(exc, NewConnectionError):  # before ConnectTimeoutError: urllib3 makes it a subclass of it
        motivo = f"não foi possível conectar em {destino} (conexão recusada ou destino inacessível)"
        return FalhaDeEnvio(motivo, classe=ClasseDeFalha.REDE)
    if isinstance(exc, ConnectTimeoutError):
        return FalhaDeEnvio(f"tempo esgotado ao conectar em {destino}", classe=ClasseDeFalha.TEMPO_ESGOTADO)
    if isinstance(exc, SSLError):
        return FalhaDeEnvio(f"falha TLS com {destino}: {_motivo_tls(exc)}", classe=ClasseDeFalha.TLS)
    if isinstance(exc, ProtocolError):
        return FalhaDeEnvio(f"conexão com {destino} interrompida pelo receptor", classe=ClasseDeFalha.REDE)
    return FalhaDeEnvio(f"falha de rede com {destino} ({type(exc).__name__})", classe=ClasseDeFalha.REDE)


def _motivo_tls(exc: SSLError) -> str:
    causa = exc.args[0] if exc.args else exc
    return getattr(causa, "verify_message", None) or getattr(causa, "reason", None) or str(causa)


def url_segura(url: str) -> str:
    """scheme://host:port/path: what may be logged (no credentials, query string or fragment)."""
    try:
        partes = urlsplit(url)
        host = partes.hostname or ""
        porta = f":{partes.port}" if partes.port else ""
    except ValueError:
        return "<url inválida>"
    host = f"[{host}]" if ":" in host else host
    return f"{partes.scheme}://{host}{porta}{partes.path}"
