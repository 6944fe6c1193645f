"""The NSU sequences' cursors: one per (CNPJ/CPF, service, ambiente), shared, leased, and when a call may go.

- Shared: every organization holding a valid certificate of the CNPJ follows the same sequence
  (NT 2014.002 §3.11.4), so the cursor belongs to the CNPJ and points at the certificate now using it.
- Leased: one run at a time per sequence. `reservar` takes the cursor by a conditional UPDATE (no lock
  held across the SOAP call), `renovar` extends the lease between pages, `liberar` gives it back. A run
  that outlived its lease may find the cursor taken over: `salvar_cursor` writes only while this run
  still holds it and raises `ReservaPerdida` otherwise, so a late run never writes its stale ultNSU over
  the new owner's.
- SEFAZ's waits: `permitida_em` is the earliest moment the next distNSU may go (an hour after a last
  page or a possibly lost answer, 65 minutes after a 656, the backoff after failures).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from core.models import CertificadoDigital, CursorDistribuicao, Organizacao
from core.tenancy import todas_as_organizacoes

ESPERA_SEM_NOVIDADES = timedelta(minutes=61)
BLOQUEIO_CONSUMO_INDEVIDO = timedelta(minutes=65)
BACKOFF_MINUTOS = (15, 30, 60, 120, 240)
RESERVA = timedelta(minutes=10)


class ReservaPerdida(Exception):
    """This run's lease on the cursor expired and another run took the sequence over: stop, write nothing."""


def cursores_devidos(agora: datetime | None = None):
    """Certificates with automatic capture whose schedule says it is time (for `consultas_sefaz`)."""
    agora = agora or timezone.now()
    return (
        todas_as_organizacoes(CertificadoDigital)
        .filter(consulta_automatica=True, problema="", validade_fim__gt=agora)
        .select_related("organizacao")
        .order_by("id")
    )


def esta_na_hora(certificado: CertificadoDigital, agora: datetime | None = None) -> bool:
    """Due when some service's cursor has no wait pending and its interval has passed."""
    from core.certificados import opcoes_efetivas

    agora, opcoes = agora or timezone.now(), opcoes_efetivas(certificado)
    cursores = {
        c.servico: c
        for c in CursorDistribuicao.objects.filter(
            documento=certificado.documento, ambiente=opcoes.ambiente, servico__in=opcoes.servicos
        )
    }
    for servico in opcoes.servicos:
        cursor = cursores.get(servico)
        if cursor is None:
            return True
        permitida = permitida_em(cursor)
        intervalo_passou = cursor.ultima_consulta_em is None or (
            cursor.ult_nsu < cursor.max_nsu  # more documents waiting: continue at once
            or cursor.ultima_consulta_em + timedelta(minutes=opcoes.intervalo_minutos) <= agora
        )
        if (permitida is None or permitida <= agora) and intervalo_passou:
            return True
    return False


def permitida_em(cursor: CursorDistribuicao) -> datetime | None:
    """The earliest moment the next distNSU of this sequence may go; None: now."""
    perdida = cursor.chamada_em_andamento_em and cursor.chamada_em_andamento_em + ESPERA_SEM_NOVIDADES
    datas = [d for d in (cursor.proxima_consulta_em, cursor.bloqueado_ate, perdida) if d]
    return max(datas) if datas else None


def organizacoes_do_documento(documento: str, ambiente: int, primeira: Organizacao | None = None) -> list[Organizacao]:
    """The organizations holding a valid certificate of `documento` (CNPJ/CPF) in `ambiente`: they share
    its NSU sequences. `primeira` (the one running the query) comes first, whatever the others hold."""
    campo = "cnpj" if len(documento) == 14 else "cpf"
    ids = set(
        todas_as_organizacoes(CertificadoDigital)
        .filter(**{campo: documento}, ambiente=ambiente, validade_fim__gt=timezone.now())
        .values_list("organizacao_id", flat=True)
    )
    outras = list(Organizacao.objects.filter(pk__in=ids - {getattr(primeira, "pk", None)}).order_by("pk"))
    return [primeira, *outras] if primeira is not None else outras


def cursor_do_servico(certificado: CertificadoDigital, servico: str, ambiente: int) -> CursorDistribuicao:
    """The CNPJ's shared cursor of `servico` (created on first use), pointed at the certificate now using it."""
    existentes = CursorDistribuicao.objects.filter(documento=certificado.documento, servico=servico, ambiente=ambiente)
    cursor = existentes.first()
    if cursor is None:
        novo = CursorDistribuicao(certificado=certificado, documento=certificado.documento, servico=servico,
                                  ambiente=ambiente)  # fmt: skip
        CursorDistribuicao.objects.bulk_create([novo], ignore_conflicts=True)  # a concurrent run may win
        cursor = existentes.get()
    if cursor.certificado_id != certificado.pk:  # the sequence belongs to the CNPJ: follow its newest certificate
        existentes.filter(pk=cursor.pk).update(certificado=certificado)
        cursor.certificado = certificado
    return cursor


def adiar(cursor, agora: datetime) -> None:
    """The next failure's backoff (15 minutes, doubling up to 4 hours)."""
    cursor.falhas_seguidas += 1
    minutos = BACKOFF_MINUTOS[min(cursor.falhas_seguidas, len(BACKOFF_MINUTOS)) - 1]
    # Replaces the hour set before the call when SEFAZ surely did not move (108/109/999, HTTP errors, a
    # refused connection): a retry repeats the same ultNSU. A possibly lost answer keeps the hour
    # (`respostas.registrar_falha`).
    cursor.proxima_consulta_em = agora + timedelta(minutes=minutos)


# --- the lease ----------------------------------------------------------------------------------------

# The cursor's own state, all a run ever writes back; never the lease (reservado_*) nor the certificate.
CAMPOS_DO_CURSOR = (
    "ult_nsu", "max_nsu", "proxima_consulta_em", "bloqueado_ate", "chamada_em_andamento_em", "ultimo_cstat",
    "ultima_consulta_em", "falhas_seguidas", "consultas_avulsas", "lacunas",
)  # fmt: skip


def reservar(cursor, execucao_id: str) -> bool:
    """Take the sequence for this run, if free or its lease expired; the cursor is reloaded on success."""
    agora = timezone.now()
    livre = Q(reservado_ate__isnull=True) | Q(reservado_ate__lte=agora) | Q(reservado_por=execucao_id)
    # A conditional UPDATE is atomic on the row (PostgreSQL locks it, SQLite the database): of two runs, of
    # one organization or of two sharing the CNPJ, exactly one gets the sequence.
    reservado = CursorDistribuicao.objects.filter(livre, pk=cursor.pk).update(
        reservado_por=execucao_id, reservado_ate=agora + RESERVA
    )
    if reservado:
        cursor.refresh_from_db()  # the state another run may have left
    return bool(reservado)


def renovar(cursor, execucao_id: str) -> None:
    """Another RESERVA for this run; `ReservaPerdida` if the sequence is no longer its own."""
    if not _da_execucao(cursor, execucao_id).update(reservado_ate=timezone.now() + RESERVA):
        raise ReservaPerdida(_perdida(cursor, execucao_id))


def liberar(cursor, execucao_id: str) -> None:
    _da_execucao(cursor, execucao_id).update(reservado_por="", reservado_ate=None)


def salvar_cursor(cursor, execucao_id: str) -> None:
    """Write the cursor's state while this run still holds the sequence; `ReservaPerdida` (nothing written) if not.

    Inside the transaction of an answer the UPDATE locks the row until the commit, so the documents and
    the new ultNSU are stored together or, the lease lost, rolled back together.
    """
    campos = {campo: getattr(cursor, campo) for campo in CAMPOS_DO_CURSOR}
    if not _da_execucao(cursor, execucao_id).update(**campos, atualizado_em=timezone.now()):
        raise ReservaPerdida(_perdida(cursor, execucao_id))


def conferir_reserva(cursor, execucao_id: str) -> None:
    """Lock the cursor's row for the rest of the transaction if this run holds it; `ReservaPerdida` if not.

    Called first in the transaction that stores an answer, so a run that lost the sequence imports
    nothing, and the run that took it over waits for the commit instead of reading a half-stored page.
    """
    if not _da_execucao(cursor, execucao_id).select_for_update().exists():
        raise ReservaPerdida(_perdida(cursor, execucao_id))


def _da_execucao(cursor, execucao_id: str):
    return CursorDistribuicao.objects.filter(pk=cursor.pk, reservado_por=execucao_id)


def _perdida(cursor, execucao_id: str) -> str:
    return (f"a reserva da sequência {cursor.servico} {cursor.documento} pela consulta {execucao_id} expirou "
            "e outra consulta a assumiu")  # fmt: skip
