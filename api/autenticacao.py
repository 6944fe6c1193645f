"""Token authentication that loads the user's organization in the same query."""

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


class TokenComOrganizacao(TokenAuthentication):
    """DRF's token auth, joining user -> membro -> organização: the permission check then costs no query."""

    def authenticate_credentials(self, key):
        modelo = self.get_model()
        token = modelo.objects.select_related("user__membro__organizacao").filter(key=key).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Token inválido.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("Usuário inativo ou removido.")
        return token.user, token
