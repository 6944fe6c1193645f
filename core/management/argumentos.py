"""Arguments the management commands share."""

from django.core.management.base import CommandError

from core.models import Organizacao


def organizacao_pelo_slug(slug: str) -> Organizacao:
    """The organization named on the command line, or a CommandError that says how to find the slug."""
    organizacao = Organizacao.objects.filter(slug=slug).first()
    if organizacao is None:
        raise CommandError(f"organização {slug!r} não encontrada (use o slug, ex.: criar_organizacao)")
    return organizacao
