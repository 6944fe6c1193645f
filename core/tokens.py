"""API tokens: issue, check, record use and revoke. The API, the admin and the commands all call these.

A key is `fsc_` followed by 40 random URL-safe characters; only its SHA-256 is stored (`TokenDeAPI.hash`),
so it is shown once, when issued. Keys of the old DRF tokens (40 hex characters) keep working: migration
0015 stored their hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .erros import EntradaInvalida
from .models import Membro, Organizacao, TokenDeAPI
from .tenancy import escopo

PREFIXO_DA_CHAVE = "fsc_"  # recognizable in logs, config files and secret scanners
TAMANHO_DO_PREFIXO = 8  # what lists show: "fsc_" and 4 random characters
# The last use is written at most this often per token: a write per request would double the cost
# of a read-only API call, and "used in the last minute" is as precise as anyone needs.
INTERVALO_DO_ULTIMO_USO = timedelta(seconds=60)


class TokenInvalido(EntradaInvalida):
    """Input refused when issuing a token; `campo` names the field at fault."""


@dataclass(frozen=True)
class NovoToken:
    token: TokenDeAPI
    chave: str  # the only time the key exists outside the client


def gerar_chave() -> str:
    return PREFIXO_DA_CHAVE + secrets.token_urlsafe(30)  # 30 bytes: 40 characters, 240 bits


def hash_da_chave(chave: str) -> str:
    return hashlib.sha256(chave.encode()).hexdigest()


def validar_token(*, organizacao: Organizacao, usuario, nome: str, expira_em: datetime | None) -> str:
    """The rules of a new token (the name it will have is returned); TokenInvalido names the field at fault."""
    nome = (nome or "").strip()
    if not nome:
        raise TokenInvalido("nome", "Informe um nome para o token.")
    if expira_em is not None and expira_em <= timezone.now():
        raise TokenInvalido("expira_em", "A data de expiração precisa estar no futuro.")
    if not Membro.objects.filter(usuario_id=usuario.pk, organizacao=organizacao).exists():
        raise TokenInvalido("usuario", "O usuário não é membro desta organização.")
    return nome


def criar_token(
    *,
    organizacao: Organizacao,
    usuario,
    nome: str,
    expira_em: datetime | None = None,
    criado_por=None,
    chave: str | None = None,
) -> NovoToken:
    """Issues a token acting as `usuario`, who must be a member of `organizacao`; returns the key once."""
    nome = validar_token(organizacao=organizacao, usuario=usuario, nome=nome, expira_em=expira_em)
    chave = chave or gerar_chave()
    token = escopo(TokenDeAPI, organizacao).create(
        organizacao=organizacao, usuario=usuario, nome=nome[:100], prefixo=chave[:TAMANHO_DO_PREFIXO],
        hash=hash_da_chave(chave), expira_em=expira_em, criado_por=criado_por,
    )  # fmt: skip
    return NovoToken(token, chave)


def usuario_da_organizacao(organizacao: Organizacao, usuario_id: int):
    """The member `usuario_id` of `organizacao`; unknown ids and other organizations' users read alike."""
    membro = Membro.objects.select_related("usuario").filter(usuario_id=usuario_id, organizacao=organizacao).first()
    if membro is None:
        raise TokenInvalido("usuario", "O usuário não é membro desta organização.")
    return membro.usuario


def revogar_token(token: TokenDeAPI) -> TokenDeAPI:
    """Revokes at once (the next request with the key is a 401); revoking again keeps the first date."""
    agora = timezone.now()
    escopo(TokenDeAPI, token.organizacao).filter(pk=token.pk, revogado_em__isnull=True).update(revogado_em=agora)
    token.refresh_from_db(fields=["revogado_em"])
    return token


def motivo_da_recusa(token: TokenDeAPI, agora: datetime | None = None) -> str | None:
    """Why a known token may not be used now (None: it may). The membership was loaded with it."""
    agora = agora or timezone.now()
    if token.revogado_em is not None:
        return "Token revogado."
    if token.expira_em is not None and token.expira_em <= agora:
        return f"Token expirado em {timezone.localtime(token.expira_em).isoformat(timespec='seconds')}."
    if not token.usuario.is_active:
        return "Usuário inativo ou removido."
    membro = getattr(token.usuario, "membro", None)  # loaded by core.tenancy.token_de_api
    if membro is None or membro.organizacao_id != token.organizacao_id:
        # The user left (or moved to another organization): the token must not follow them.
        return "O usuário do token não pertence mais à organização do token."
    return None


def registrar_uso(token: TokenDeAPI, agora: datetime | None = None) -> bool:
    """Records the use when the stored one is unset or over a minute old: one UPDATE then, else nothing.

    Decided from the value loaded with the token, so most requests cost no query; the condition in the
    UPDATE keeps concurrent requests of other processes from writing it more than once a minute.
    """
    agora = agora or timezone.now()
    limite = agora - INTERVALO_DO_ULTIMO_USO
    if token.ultimo_uso_em is not None and token.ultimo_uso_em > limite:
        return False
    escopo(TokenDeAPI, token.organizacao).filter(
        Q(ultimo_uso_em__isnull=True) | Q(ultimo_uso_em__lte=limite), pk=token.pk
    ).update(ultimo_uso_em=agora)
    token.ultimo_uso_em = agora
    return True


def chave_da_demo() -> str:
    """The demo organization's key, derived from SECRET_KEY: `carregar_demo` prints the same one every run
    (the key itself is not stored, so it could not be shown again otherwise)."""
    digest = hmac.new(settings.SECRET_KEY.encode(), b"fiscal: token da demo", hashlib.sha256).digest()
    return PREFIXO_DA_CHAVE + base64.urlsafe_b64encode(digest).decode()[:40]

