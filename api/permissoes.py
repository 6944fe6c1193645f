"""Who may call the API: authenticated members of an organization, and only for that organization."""

from rest_framework.permissions import BasePermission

from core.models import Membro
from core.tenancy import SemOrganizacao, organizacao_do_usuario, papel_do_usuario


class MembroDaOrganizacao(BasePermission):
    """Authenticated and a member of some organization; the view then scopes everything to it."""

    message = "Usuário não pertence a nenhuma organização."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        try:
            request.organizacao = organizacao_do_usuario(request.user)
        except SemOrganizacao:
            return False
        request._request.organizacao = request.organizacao  # for the request log (core/middleware.py)
        return True


class AdministradorDaOrganizacao(MembroDaOrganizacao):
    """A member whose `Membro.papel` is `administrador`: manages webhooks, certificates, tokens, members
    and the organization's settings. Plain members read, import and manifest (README, "Papéis")."""

    message = "Somente administradores da organização podem fazer isto."

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        return papel_do_usuario(request.user) == Membro.Papel.ADMINISTRADOR
