"""Who may call the API: authenticated members of an active organization, and only for that organization.

The table of who may do what is in README.md, "Papéis": every member reads, imports, reprocesses,
manifests, starts a SEFAZ capture and edits their own e-mail choices; only an `administrador` changes
webhooks, certificates, capture defaults and tokens. A deactivated organization gets a 403 everywhere.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from core.models import Membro
from core.tenancy import SemOrganizacao, organizacao_do_usuario, papel_do_usuario

SEM_ORGANIZACAO = "Usuário não pertence a nenhuma organização."
ORGANIZACAO_INATIVA = (
    "Organização inativa: o acesso à API, a captura na SEFAZ e as entregas de webhooks estão suspensos. "
    "Para reativá-la, contate o suporte."
)
SO_ADMINISTRADORES = "Somente administradores da organização podem fazer isto."


class MembroDaOrganizacao(BasePermission):
    """Authenticated and a member of an active organization; the view then scopes everything to it."""

    message = SEM_ORGANIZACAO

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        try:
            request.organizacao = organizacao_do_usuario(request.user)
        except SemOrganizacao:
            return False
        request._request.organizacao = request.organizacao  # for the request log (core/registro_requisicoes.py)
        if not request.organizacao.ativa:
            self.message = ORGANIZACAO_INATIVA  # DRF reads the instance's message for the 403
            return False
        return True


class AdministradorDaOrganizacao(MembroDaOrganizacao):
    """A member whose `Membro.papel` is `administrador`: manages webhooks, certificates, tokens, members
    and the organization's settings. Plain members read, import and manifest (README, "Papéis")."""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        self.message = SO_ADMINISTRADORES
        return papel_do_usuario(request.user) == Membro.Papel.ADMINISTRADOR


class AdministradorParaAlterar(AdministradorDaOrganizacao):
    """Any member reads (GET, HEAD, OPTIONS); changing anything takes an administrador.

    A view names the unsafe actions any member may still run in `acoes_de_membro` (a SEFAZ capture
    only reads from SEFAZ into the organization, like an import).
    """

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS or getattr(view, "action", None) in getattr(view, "acoes_de_membro", ()):
            return MembroDaOrganizacao.has_permission(self, request, view)
        return super().has_permission(request, view)
