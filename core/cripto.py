"""Encryption at rest for secrets kept in the database (certificate PFX and password, webhook secrets).

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with keys from the `FIELD_ENCRYPTION_KEY`
setting: one key, or a comma-separated list. The first key encrypts; every key decrypts. That is the
rotation story: put a new key first, keep the old ones after it, re-encrypt the stored values with
`recifrar` (`python manage.py recifrar_segredos` walks the tables), then drop the old key.

Without `FIELD_ENCRYPTION_KEY` nothing is encrypted with a guessable key in production: it fails loudly.
Only in development (`DEBUG` or `FISCAL_CHAVE_DE_DESENVOLVIMENTO=True`) a fixed key is derived from
`SECRET_KEY`, with a warning. Neither keys nor plaintext ever go into messages or logs.
"""

from __future__ import annotations

import base64
import json
import logging
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

logger = logging.getLogger(__name__)

COMO_GERAR = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'

# Changing this label changes the development key and orphans every value encrypted with it.
_INFO_CHAVE_DE_DESENVOLVIMENTO = b"fiscal:FIELD_ENCRYPTION_KEY:desenvolvimento"


class CifraInvalida(ValueError):
    """A token that none of the configured keys can open (unknown key, or corrupted data)."""


def cifrar(valor: str | bytes) -> str:
    """The Fernet token (ASCII text) of `valor`; text is encoded as UTF-8."""
    if isinstance(valor, str):
        valor = valor.encode("utf-8")
    elif not isinstance(valor, (bytes, bytearray, memoryview)):
        raise TypeError(f"cifrar espera str ou bytes, recebeu {type(valor).__name__}")
    return _multifernet().encrypt(bytes(valor)).decode("ascii")


def decifrar(token: str | bytes) -> bytes:
    try:
        return _multifernet().decrypt(_como_bytes(token))
    except InvalidToken:
        raise CifraInvalida(_MENSAGEM_TOKEN_INVALIDO) from None


def decifrar_texto(token: str | bytes) -> str:
    return decifrar(token).decode("utf-8")


def recifrar(token: str | bytes) -> str:
    """The same value encrypted with the current (first) key, for key rotation."""
    try:
        return _multifernet().rotate(_como_bytes(token)).decode("ascii")
    except InvalidToken:
        raise CifraInvalida(_MENSAGEM_TOKEN_INVALIDO) from None


def na_chave_atual(token: str | bytes) -> bool:
    """True when the current (first) key opens `token`, i.e. `recifrar` has nothing left to do for it."""
    try:
        _montar(_chaves_configuradas()[:1]).decrypt(_como_bytes(token))
    except InvalidToken:
        return False
    return True


def verificar_configuracao() -> None:
    """Raise ImproperlyConfigured now if the keys are missing or invalid (for start-up checks)."""
    _multifernet()


_MENSAGEM_TOKEN_INVALIDO = (
    "não foi possível decifrar o valor: foi cifrado com uma chave que não está em "
    "FIELD_ENCRYPTION_KEY, ou está corrompido"
)


def _como_bytes(token: str | bytes) -> bytes:
    if isinstance(token, str):
        return token.encode("ascii", errors="replace")
    return bytes(token)


def _multifernet() -> MultiFernet:
    return _montar(_chaves_configuradas())


def _chaves_configuradas() -> tuple[str, ...]:
    bruto = getattr(settings, "FIELD_ENCRYPTION_KEY", None) or ""
    if isinstance(bruto, bytes):
        bruto = bruto.decode("ascii", errors="replace")
    partes = bruto.split(",") if isinstance(bruto, str) else list(bruto)
    chaves = tuple(p.strip() for p in partes if p and p.strip())
    if chaves:
        return chaves
    if getattr(settings, "DEBUG", False) or getattr(settings, "FISCAL_CHAVE_DE_DESENVOLVIMENTO", False):
        return (_chave_de_desenvolvimento(settings.SECRET_KEY),)
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEY não está configurada: é a chave que cifra certificados, senhas e "
        f"segredos de webhook no banco. Gere uma com {COMO_GERAR} e defina-a no ambiente."
    )


@lru_cache(maxsize=8)
def _montar(chaves: tuple[str, ...]) -> MultiFernet:
    fernets = []
    for posicao, chave in enumerate(chaves, start=1):
        try:
            fernets.append(Fernet(chave))
        except (ValueError, TypeError):
            # The key itself is never echoed: only its position in the list.
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEY inválida: a chave nº {posicao} não é uma chave Fernet "
                f"(32 bytes em base64 url-safe). Gere uma com {COMO_GERAR}"
            ) from None
    return MultiFernet(fernets)


@lru_cache(maxsize=4)
def _chave_de_desenvolvimento(secret_key: str) -> str:
    # Cached, so the warning is logged once per process, not on every encryption.
    logger.warning(
        "FIELD_ENCRYPTION_KEY não configurada: usando uma chave de desenvolvimento derivada de "
        "SECRET_KEY. Não use em produção."
    )
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO_CHAVE_DE_DESENVOLVIMENTO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode("utf-8"))).decode("ascii")


class TextoSecreto(str):
    """A decrypted value: a plain str, except that repr() hides it (tracebacks, debug pages, `%r`)."""

    def __repr__(self) -> str:
        return "TextoSecreto('********')"


class BytesSecretos(bytes):
    def __repr__(self) -> str:
        return "BytesSecretos(b'********')"


class CampoCifrado(models.TextField):
    """A text column holding a Fernet token; Python sees the plaintext.

    `binario=True` keeps bytes (a PFX file) instead of text. Fernet tokens are randomized, so the
    column cannot be searched: only `isnull` lookups are allowed, anything else is an error rather
    than a query that silently matches nothing.
    """

    description = "Texto cifrado em repouso (Fernet)"

    def __init__(self, *args, binario: bool = False, **kwargs):
        self.binario = binario
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        nome, caminho, args, kwargs = super().deconstruct()
        if self.binario:
            kwargs["binario"] = True
        return nome, caminho, args, kwargs

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        if self.binario:
            return BytesSecretos(decifrar(value))
        return TextoSecreto(decifrar_texto(value))

    def to_python(self, value):
        # Plaintext in, plaintext out: decryption happens only in from_db_value.
        if value is None or self.binario:
            return value
        return super().to_python(value)

    def get_prep_value(self, value):
        if value is None:
            return None
        if self.binario:
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise TypeError(f"CampoCifrado(binario=True) espera bytes, recebeu {type(value).__name__}")
            return cifrar(bytes(value))
        return cifrar(self.to_python(value))

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name):
        return None


class CampoJSONCifrado(CampoCifrado):
    """A JSON object encrypted at rest as one Fernet token; Python sees the dict.

    For values that carry credentials of someone else's system (a webhook's extra headers, such as
    `Authorization: Bearer ...`). String values come back as TextoSecreto, so a traceback or a `%r`
    never shows them. Only `isnull` lookups, as for any CampoCifrado.
    """

    description = "JSON cifrado em repouso (Fernet)"

    def from_db_value(self, value, expression, connection):
        texto = super().from_db_value(value, expression, connection)
        return None if texto is None else _segredos_no_json(json.loads(str(texto)))

    def to_python(self, value):
        if value is None or isinstance(value, (dict, list)):
            return value
        return json.loads(value)

    def get_prep_value(self, value):
        if value is None:
            return None
        return cifrar(json.dumps(self.to_python(value), ensure_ascii=False, separators=(",", ":")))

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj), ensure_ascii=False)


def _segredos_no_json(valor):
    if isinstance(valor, dict):
        return {chave: _segredos_no_json(v) for chave, v in valor.items()}
    if isinstance(valor, list):
        return [_segredos_no_json(v) for v in valor]
    return TextoSecreto(valor) if isinstance(valor, str) else valor
