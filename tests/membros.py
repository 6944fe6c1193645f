"""A second person in an organization, with a role: the tests of who may do what share it."""

from django.contrib.auth import get_user_model

from core.models import Membro
from core.organizacoes import grupo_de_membros


def novo_membro(organizacao, email: str, papel: str = Membro.Papel.MEMBRO):
    """A staff user of `organizacao` with `papel`, in the members' admin group (as the owner is)."""
    usuario = get_user_model().objects.create_user(email, email, "senha-forte-123", is_staff=True)
    usuario.groups.add(grupo_de_membros())
    Membro.objects.create(usuario=usuario, organizacao=organizacao, papel=papel)
    return usuario
