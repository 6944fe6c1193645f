"""Token authentication: a hashed `TokenDeAPI`, loaded with its user, membership and organization in one query."""

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from core.tenancy import token_de_api
from core.tokens import motivo_da_recusa, registrar_uso


class TokenComOrganizacao(TokenAuthentication):
    """`Authorization: Token <chave>`, the key looked up by its SHA-256 (`core.tenancy.token_de_api`),
    joining user -> membro -> organização: the permission check then costs no query.

    `core.middleware.RateLimitMiddleware` often has looked the same token up already (it must know the
    caller before the view runs); that result is reused, so a request still costs one query. Revoked and
    expired tokens are refused with the reason; the last use is written at most once a minute.
    """

    def authenticate(self, request):
        self.ja_buscado = getattr(request._request, "token_api_buscado", None)
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        ja_buscado = getattr(self, "ja_buscado", None)
        if ja_buscado is not None and ja_buscado[0] == key:
            token = ja_buscado[1]
        else:
            token = token_de_api(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Token inválido.")
        motivo = motivo_da_recusa(token)
        if motivo is not None:
            raise exceptions.AuthenticationFailed(motivo)
        registrar_uso(token)
        return token.usuario, token
