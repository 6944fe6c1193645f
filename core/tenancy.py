"""The one way to read or write tenant-owned rows.

Every query of a model that belongs to an organization goes through `escopo()`. Forgetting the
organization is then a TypeError at the call site instead of a silent cross-tenant leak, and
`tests/test_tenancy.py` fails if code reaches for `Model.objects` of a tenant model directly.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from .escrita_em_massa import inserir_tabelas
from .models import DaOrganizacao, Membro, Organizacao


class SemOrganizacao(LookupError):
    """The user or token is not a member of any organization."""


def escopo(modelo: type[DaOrganizacao], organizacao: Organizacao) -> QuerySet:
    """All rows of `modelo` that belong to `organizacao`, and only those."""
    if not (isinstance(modelo, type) and issubclass(modelo, DaOrganizacao)):
        raise TypeError(f"{modelo!r} não pertence a uma organização")
    if not isinstance(organizacao, Organizacao) or organizacao.pk is None:
        raise TypeError(f"organização inválida para consultar {modelo.__name__}: {organizacao!r}")
    return modelo._default_manager.filter(organizacao=organizacao)


def organizacao_do_usuario(usuario) -> Organizacao:
    """The organization a user works in; raises SemOrganizacao for users without one."""
    if usuario is None or not usuario.is_authenticated:
        raise SemOrganizacao("usuário não autenticado")
    relacao = get_user_model().membro.related
    if relacao.is_cached(usuario):  # loaded with the user (API token auth): no query
        membro = relacao.get_cached_value(usuario)
        if membro is None:
            raise SemOrganizacao(f"usuário {usuario.pk} não pertence a nenhuma organização")
        return membro.organizacao
    try:
        return Membro.objects.select_related("organizacao").get(usuario=usuario).organizacao
    except Membro.DoesNotExist:
        raise SemOrganizacao(f"usuário {usuario.pk} não pertence a nenhuma organização") from None


def papel_do_usuario(usuario) -> str | None:
    """The user's `Membro.papel` in their organization (None without one); free after token auth."""
    if usuario is None or not usuario.is_authenticated:
        return None
    relacao = get_user_model().membro.related
    if relacao.is_cached(usuario):
        membro = relacao.get_cached_value(usuario)
        return membro.papel if membro is not None else None
    return Membro.objects.filter(usuario=usuario).values_list("papel", flat=True).first()


def token_de_api(chave: str):
    """The API token `chave` (a `TokenDeAPI`, found by its hash) with its organization, user, membership and
    the membership's organization, in one query; None if unknown. Revoked and expired tokens are returned
    too: `core.tokens.motivo_da_recusa` says why they are refused.

    `api.autenticacao.TokenComOrganizacao` authenticates with it, and `core.limite.identidade` resolves the
    caller with it before the view runs (and hands the result on, so a request queries once).
    """
    from .models import TokenDeAPI
    from .tokens import hash_da_chave

    relacionados = ("organizacao", "usuario__membro__organizacao")
    return TokenDeAPI._default_manager.select_related(*relacionados).filter(hash=hash_da_chave(chave)).first()


def inserir(
    modelo: type[DaOrganizacao], organizacao: Organizacao, objetos: list, *, ignorar_conflitos=False, em_massa=False
) -> list:
    """Bulk-insert rows, refusing any that would land in another organization.

    With `ignorar_conflitos`, rows clashing with a unique constraint are skipped (and get no pk).
    With `em_massa`, the rows go through core.escrita_em_massa (COPY on PostgreSQL, a multi-row INSERT of
    values converted once per column on SQLite) instead of the ORM's bulk_create: the same rows, much less
    Python per row; for the import's batches and their events. It cannot ignore conflicts.
    """
    if em_massa and not ignorar_conflitos:
        inserir_em_massa(organizacao, [(modelo, objetos)])
        return objetos
    _da_organizacao(modelo, organizacao, objetos)
    return modelo._default_manager.bulk_create(objetos, batch_size=500, ignore_conflicts=ignorar_conflitos)


def inserir_em_massa(organizacao: Organizacao, grupos: list[tuple[type[DaOrganizacao], list]]) -> None:
    """Insert the new rows of several models of `organizacao`, in order, with core.escrita_em_massa (on
    PostgreSQL: one query reserves every id, then one COPY per model), refusing rows of another organization."""
    for modelo, objetos in grupos:
        _da_organizacao(modelo, organizacao, objetos)
    inserir_tabelas(grupos)


def _da_organizacao(modelo, organizacao: Organizacao, objetos: list) -> None:
    for objeto in objetos:
        if objeto.organizacao_id != organizacao.pk:
            raise ValueError(f"{modelo.__name__} da organização {objeto.organizacao_id} inserido em {organizacao.pk}")


def todas_as_organizacoes(modelo: type[DaOrganizacao]) -> QuerySet:
    """Rows of every organization, for system workers only (the webhook delivery queue).

    Never use this in request code: a worker claims due rows across tenants and then works on each
    row within its own organization (`escopo(Model, row.organizacao)`).
    """
    if not (isinstance(modelo, type) and issubclass(modelo, DaOrganizacao)):
        raise TypeError(f"{modelo!r} não pertence a uma organização")
    return modelo._default_manager.all()
