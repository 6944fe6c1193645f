"""Creating organizations and their members."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.text import slugify
from rest_framework.authtoken.models import Token

from .models import Membro, Organizacao


class OrganizacaoInvalida(ValueError):
    pass


@dataclass(frozen=True)
class NovaOrganizacao:
    organizacao: Organizacao
    usuario: object
    token: str


def criar_organizacao(*, nome: str, email: str, senha: str | None = None, slug: str | None = None) -> NovaOrganizacao:
    """An organization, its first user (as administrator) and that user's API token, atomically."""
    nome = nome.strip()
    email = email.strip().lower()
    if not nome:
        raise OrganizacaoInvalida("nome da organização é obrigatório")
    if "@" not in email:
        raise OrganizacaoInvalida(f"e-mail inválido: {email!r}")
    slug = slugify(slug or nome)[:80]
    if not slug:
        raise OrganizacaoInvalida(f"não foi possível gerar um slug a partir de {nome!r}")
    Usuario = get_user_model()
    with transaction.atomic():
        if Organizacao.objects.filter(slug=slug).exists():
            raise OrganizacaoInvalida(f"já existe uma organização com o slug {slug!r}")
        if Usuario.objects.filter(username=email).exists():
            raise OrganizacaoInvalida(f"o usuário {email} já existe (cada usuário pertence a uma organização)")
        organizacao = Organizacao.objects.create(nome=nome, slug=slug)
        usuario = Usuario(username=email, email=email, is_staff=True)
        if senha:
            usuario.set_password(senha)
        else:
            usuario.set_unusable_password()
        usuario.save()
        Membro.objects.create(usuario=usuario, organizacao=organizacao, papel=Membro.Papel.ADMINISTRADOR)
        token = Token.objects.create(user=usuario)
    return NovaOrganizacao(organizacao, usuario, token.key)
