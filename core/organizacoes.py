"""Creating organizations and their members."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from .models import Membro, Organizacao
from .tokens import criar_token


class OrganizacaoInvalida(ValueError):
    pass


@dataclass(frozen=True)
class NovaOrganizacao:
    organizacao: Organizacao
    usuario: object
    token: str


def criar_organizacao(
    *, nome: str, email: str, senha: str | None = None, slug: str | None = None, chave_do_token: str | None = None
) -> NovaOrganizacao:
    """An organization, its first user (as administrator) and that user's API token, atomically.

    The token's key is returned once (only its hash is stored); `chave_do_token` is for the demo only."""
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
    if senha:
        _validar_senha(senha, Usuario(username=email, email=email))
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
        usuario.groups.add(grupo_de_membros())
        Membro.objects.create(usuario=usuario, organizacao=organizacao, papel=Membro.Papel.ADMINISTRADOR)
        token = criar_token(organizacao=organizacao, usuario=usuario, nome="Token inicial", chave=chave_do_token)
    return NovaOrganizacao(organizacao, usuario, token.chave)


def _validar_senha(senha: str, usuario) -> None:
    """Django's password validators (AUTH_PASSWORD_VALIDATORS), all their messages in one error."""
    try:
        validate_password(senha, user=usuario)
    except ValidationError as erro:
        raise OrganizacaoInvalida("senha recusada: " + " ".join(erro.messages)) from None


GRUPO_MEMBROS = "Membros de organização"
MODELOS_VISIVEIS = [
    "organizacao", "nfe", "nfeitem", "cte", "outrodocumento", "eventodocumento", "importlog",
    "certificadodigital", "configuracaoconsulta", "cursordistribuicao", "consultasefaz",
    "manifestacao", "tentativademanifestacao", "membro",
    "webhook", "webhooklog", "evento", "apirequestlog", "relatorioenviado", "preferencianotificacao",
    "envioemail",
]  # fmt: skip
# Beyond viewing: certificates, capture defaults, webhooks (and their "testar" / "reenviar falhas"),
# members' roles and e-mail choices. The group is every member's; the admin then lets only an
# `administrador` use the management ones (core/admin/base.py, README "Papéis"), and a `membro` only
# their own e-mail choices. Scheduled-task runs and locks stay with superusers.
PERMISSOES_DE_GESTAO = [
    "add_certificadodigital", "change_certificadodigital", "delete_certificadodigital",
    "change_configuracaoconsulta", "change_webhook", "change_membro", "delete_membro",
    "add_preferencianotificacao", "change_preferencianotificacao",
]  # fmt: skip


def grupo_de_membros() -> Group:
    """The admin permissions every member has: view their organization's data (the admin scopes it),
    and manage its certificates, capture defaults, webhooks and notification choices.

    The group is shared and rewritten on every call: on each new organization and after every
    `migrate` (core/apps.py), so an upgraded installation's members get new permissions at once."""
    grupo, _ = Group.objects.get_or_create(name=GRUPO_MEMBROS)
    permissoes = Permission.objects.filter(
        content_type__app_label="core",
        codename__in=[f"view_{m}" for m in MODELOS_VISIVEIS] + PERMISSOES_DE_GESTAO,
    )
    grupo.permissions.set(permissoes)
    return grupo


class SemAdministrador(OrganizacaoInvalida):
    """The change would leave the organization with nobody to manage it."""


def alterar_papel(membro: Membro, papel: str) -> Membro:
    """Make `membro` an `administrador` or a plain `membro`; never the organization's last administrador."""
    with transaction.atomic():
        if papel != Membro.Papel.ADMINISTRADOR:
            _exigir_outro_administrador(membro)
        Membro.objects.filter(pk=membro.pk).update(papel=papel)
    membro.papel = papel
    return membro


def remover_membro(membro: Membro) -> None:
    """Take `membro` out of the organization (the user stays, with access to nothing); never the last administrador."""
    with transaction.atomic():
        _exigir_outro_administrador(membro)
        Membro.objects.filter(pk=membro.pk).delete()


def ultimo_administrador(membro: Membro) -> bool:
    outros = Membro.objects.filter(organizacao_id=membro.organizacao_id, papel=Membro.Papel.ADMINISTRADOR)
    return membro.papel == Membro.Papel.ADMINISTRADOR and not outros.exclude(pk=membro.pk).exists()


def _exigir_outro_administrador(membro: Membro) -> None:
    # The organization's row lock serializes its role changes: two administradores demoting each other
    # at once cannot both pass the check.
    Organizacao.objects.select_for_update().filter(pk=membro.organizacao_id).first()
    membro.papel = Membro.objects.filter(pk=membro.pk).values_list("papel", flat=True).first() or membro.papel
    if ultimo_administrador(membro):
        raise SemAdministrador("a organização ficaria sem administrador: promova outro membro antes")
