"""Webhook signatures, Standard Webhooks scheme (https://www.standardwebhooks.com/).

Headers: `webhook-id` (the event id, the same on every retry), `webhook-timestamp` (unix seconds) and
`webhook-signature`: space-separated `v1,<base64 HMAC-SHA256>` entries, one per active secret, over the
bytes `"{id}.{timestamp}." + body`. Several entries let a secret be rotated with an overlap: receivers
holding either the old or the new secret accept the message. The body signed must be the exact bytes
sent, so everything here takes bytes, never a dict to be serialized again.

A secret is `whsec_` + base64 of 32 random bytes; the HMAC key is those 32 bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

PREFIXO_SEGREDO = "whsec_"
BYTES_SEGREDO = 32
TOLERANCIA_PADRAO_SEGUNDOS = 300


class AssinaturaWebhookInvalida(ValueError):
    pass


class SegredoWebhookInvalido(ValueError):
    pass


def gerar_segredo() -> str:
    return PREFIXO_SEGREDO + base64.b64encode(secrets.token_bytes(BYTES_SEGREDO)).decode("ascii")


def cabecalhos_assinados(
    evento_id: str, corpo: bytes, segredos: list[str], momento: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for `corpo`, signed with each secret in the order given."""
    _validar_id(evento_id)
    if not segredos:
        raise SegredoWebhookInvalido("nenhum segredo ativo para assinar o webhook")
    timestamp = str(int(time.time() if momento is None else momento))
    conteudo = _conteudo_assinado(evento_id, timestamp, _como_bytes(corpo))
    assinaturas = [f"v1,{base64.b64encode(_hmac(s, conteudo)).decode('ascii')}" for s in segredos]
    return {
        "webhook-id": evento_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": " ".join(assinaturas),
    }


def verificar(
    corpo: bytes,
    cabecalhos: Mapping[str, str],
    segredo: str,
    tolerancia_segundos: int = TOLERANCIA_PADRAO_SEGUNDOS,
) -> None:
    """Raise AssinaturaWebhookInvalida unless a `v1` entry matches `segredo` within the tolerance."""
    minusculos = {str(k).lower(): v for k, v in cabecalhos.items()}
    evento_id = _cabecalho(minusculos, "webhook-id")
    timestamp = _cabecalho(minusculos, "webhook-timestamp")
    assinatura = _cabecalho(minusculos, "webhook-signature")
    _verificar_momento(timestamp, tolerancia_segundos)
    esperado = _hmac(segredo, _conteudo_assinado(evento_id, timestamp, _como_bytes(corpo)))
    for entrada in assinatura.split():
        versao, _, valor = entrada.partition(",")
        if versao == "v1" and hmac.compare_digest(esperado, _base64_ou_vazio(valor)):
            return
    raise AssinaturaWebhookInvalida("nenhuma assinatura v1 confere com o segredo")


def _conteudo_assinado(evento_id: str, timestamp: str, corpo: bytes) -> bytes:
    return f"{evento_id}.{timestamp}.".encode() + corpo


def _hmac(segredo: str, conteudo: bytes) -> bytes:
    return hmac.new(_chave(segredo), conteudo, hashlib.sha256).digest()


def _chave(segredo: str) -> bytes:
    # The prefix is optional, as in the reference libraries, so a secret pasted without it still works.
    codificado = segredo.removeprefix(PREFIXO_SEGREDO) if isinstance(segredo, str) else ""
    try:
        chave = base64.b64decode(codificado, validate=True)
    except (binascii.Error, ValueError):
        chave = b""
    if not chave:
        # The secret itself is never part of the message.
        raise SegredoWebhookInvalido("segredo de webhook inválido: esperado 'whsec_' seguido de base64")
    return chave


def _validar_id(evento_id: str) -> None:
    # It becomes an HTTP header: no spaces or control characters (header injection).
    valido = isinstance(evento_id, str) and evento_id.isascii() and evento_id.isprintable()
    if not valido or not evento_id or " " in evento_id:
        raise ValueError("id do evento inválido para webhook-id")


def _como_bytes(corpo: bytes) -> bytes:
    if isinstance(corpo, (bytes, bytearray, memoryview)):
        return bytes(corpo)
    raise TypeError(f"o corpo do webhook deve ser bytes (exatamente o enviado), recebeu {type(corpo).__name__}")


def _cabecalho(cabecalhos: dict[str, str], nome: str) -> str:
    valor = cabecalhos.get(nome)
    if not valor:
        raise AssinaturaWebhookInvalida(f"cabeçalho {nome} ausente")
    return str(valor)


def _verificar_momento(timestamp: str, tolerancia_segundos: int) -> None:
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise AssinaturaWebhookInvalida("cabeçalho webhook-timestamp inválido")
    diferenca = int(time.time()) - int(timestamp)
    if diferenca > tolerancia_segundos:
        raise AssinaturaWebhookInvalida(f"webhook-timestamp antigo demais ({diferenca} s)")
    if -diferenca > tolerancia_segundos:
        raise AssinaturaWebhookInvalida(f"webhook-timestamp no futuro ({-diferenca} s)")


def _base64_ou_vazio(valor: str) -> bytes:
    try:
        return base64.b64decode(valor, validate=True)
    except (binascii.Error, ValueError):
        return b""
