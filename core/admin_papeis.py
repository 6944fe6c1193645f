"""Who may change what in the admin (README, "Papéis"), on top of each model's Django permissions.

- A superuser: everything, always.
- Staff of a deactivated organization: every page of theirs read-only (no add, change, delete or
  actions), with a message on each page saying why.
- Staff whose `Membro.papel` is `membro`: read-only on the management pages (`so_administradores`:
  webhooks, certificates, capture defaults, members); an `administrador` manages them. Reading,
  reprocessing imports and one's own e-mail choices stay open to every member.
"""

from django.contrib import messages

from .models import Membro

AVISO_INATIVA = (
    "Organização inativa: estas páginas estão só para leitura, e a captura na SEFAZ e as entregas de "
    "webhooks estão suspensas. Para reativá-la, contate o suporte."
)


def membro_do_admin(request) -> Membro | None:
    """The staff user's membership, with its organization, looked up once per request (every permission
    check and get_queryset() of a page asks)."""
    if not hasattr(request, "_membro_do_admin"):
        usuario = request.user
        encontrado = None
        if usuario.is_authenticated:
            encontrado = Membro.objects.select_related("organizacao").filter(usuario_id=usuario.pk).first()
        request._membro_do_admin = encontrado
    return request._membro_do_admin


def e_administrador(request) -> bool:
    membro = membro_do_admin(request)
    return membro is not None and membro.papel == Membro.Papel.ADMINISTRADOR


def organizacao_inativa(request) -> bool:
    membro = membro_do_admin(request)
    return not request.user.is_superuser and membro is not None and not membro.organizacao.ativa


class PapelNoAdminMixin:
    """For every ModelAdmin of an organization's rows: the role and the organization's state may only take
    rights away from what the model's Django permissions give."""

    so_administradores = False  # a management page: changed by administradores only

    def pode_alterar(self, request) -> bool:
        if request.user.is_superuser:
            return True
        if organizacao_inativa(request):
            return False
        return not self.so_administradores or e_administrador(request)

    def has_add_permission(self, request, *args):
        return self.pode_alterar(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self.pode_alterar(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.pode_alterar(request) and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        # Every action here changes something or sends something (test, resend, reprocess).
        return super().get_actions(request) if self.pode_alterar(request) else {}

    def changelist_view(self, request, extra_context=None):
        return self._com_aviso(request, super().changelist_view(request, extra_context))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._com_aviso(request, super().changeform_view(request, object_id, form_url, extra_context))

    def _com_aviso(self, request, resposta):
        # Only on a page about to render (a TemplateResponse, rendered after this returns), never on a
        # redirect, so the message shows once, on the page it explains.
        if getattr(resposta, "is_rendered", True) is False and organizacao_inativa(request):
            messages.warning(request, AVISO_INATIVA)
        return resposta
