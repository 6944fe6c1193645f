"""Token authentication that loads the user's organization in the same query."""

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from core.tenancy import token_de_api


class TokenComOrganizacao(TokenAuthentication):
    """DRF's token auth, joining user -> membro -> organização: the permission check then costs no query.

    `core.middleware.RateLimitMiddleware` often has looked the same token up already (it must know the
    caller before the view runs); that result is reused, so a request still costs one query.
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
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("Usuário inativo ou removido.")
        return token.user, token
