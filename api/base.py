"""What every API view shares: the caller's organization and querysets scoped to it."""

from core.tenancy import escopo


class DaOrganizacaoMixin:
    """Views over tenant models: `get_queryset()` never sees another organization's rows.

    `request.organizacao` is set by `api.permissoes.MembroDaOrganizacao`, which runs before any
    handler, so a view cannot reach its queryset without it.
    """

    model = None

    @property
    def organizacao(self):
        return self.request.organizacao

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular introspecting, no request user
            return self.model._default_manager.none()
        return escopo(self.model, self.organizacao)
