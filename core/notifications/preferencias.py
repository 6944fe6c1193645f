"""Who gets which e-mail: members' preferences, defaults when a member never chose."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.models import Membro, Organizacao, PreferenciaNotificacao
from core.models.notificacoes import PADROES
from core.tenancy import escopo, organizacao_do_usuario

TIPOS = tuple(PADROES)


@dataclass(frozen=True)
class Destinatario:
    usuario: object
    preferencia: PreferenciaNotificacao

    def quer(self, tipo: str) -> bool:
        return self.preferencia.quer(tipo)


def pode_receber_email(usuario) -> bool:
    return bool(usuario is not None and usuario.is_active and (usuario.email or "").strip())


def padroes(organizacao: Organizacao, usuario) -> PreferenciaNotificacao:
    """The choices of a user who never chose (an unsaved row: nothing is written on read)."""
    return PreferenciaNotificacao(organizacao=organizacao, usuario=usuario)


def destinatarios(organizacao: Organizacao, tipo: str | None = None) -> list[Destinatario]:
    """Active members of `organizacao` with an e-mail address, each with their choices.

    Two queries whatever the number of members (members, then their saved preferences); with `tipo`,
    only the members who want that notification.
    """
    membros = (
        Membro.objects.filter(organizacao=organizacao, usuario__is_active=True)
        .exclude(usuario__email="")
        .select_related("usuario")
        .order_by("usuario_id")
    )
    usuarios = [m.usuario for m in membros if pode_receber_email(m.usuario)]
    salvas = {
        p.usuario_id: p
        for p in escopo(PreferenciaNotificacao, organizacao).filter(usuario_id__in=[u.pk for u in usuarios])
    }
    for preferencia in salvas.values():
        preferencia.organizacao = organizacao  # the templates name it: no query per member
    todos = [Destinatario(u, salvas.get(u.pk) or padroes(organizacao, u)) for u in usuarios]
    return [d for d in todos if tipo is None or d.quer(tipo)]


def preferencias_de(usuario, organizacao: Organizacao | None = None) -> PreferenciaNotificacao:
    """The user's saved choices, or the defaults (unsaved) when there is no row yet."""
    organizacao = organizacao or organizacao_do_usuario(usuario)
    salva = escopo(PreferenciaNotificacao, organizacao).filter(usuario=usuario).first()
    if salva is None:
        return padroes(organizacao, usuario)
    salva.organizacao = organizacao
    return salva


def atualizar_preferencias(*, usuario, organizacao: Organizacao, campos: dict[str, bool]) -> PreferenciaNotificacao:
    """Save some of the user's choices (the row is created on the first change)."""
    desconhecidos = set(campos) - set(TIPOS)
    if desconhecidos:
        raise ValueError(f"notificações desconhecidas: {sorted(desconhecidos)}")
    if not campos:
        return preferencias_de(usuario, organizacao)
    linhas = escopo(PreferenciaNotificacao, organizacao).filter(usuario=usuario)
    if linhas.update(**campos, atualizado_em=timezone.now()):
        return linhas.get()
    try:
        with transaction.atomic():
            nova = PreferenciaNotificacao(organizacao=organizacao, usuario=usuario, **campos)
            nova.save(force_insert=True)
            return nova
    except IntegrityError:
        # Two first changes at once: the other request created the row; apply ours on top.
        linhas.update(**campos, atualizado_em=timezone.now())
        return linhas.get()
