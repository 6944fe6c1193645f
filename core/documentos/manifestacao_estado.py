"""The recipient's manifestation of an NF-e: its deadline, and the state that counts.

Deadline: every manifestation within 180 days of the NF-e's authorization (Ajuste SINIEF 07/05, cláusula
décima quinta-C, as amended by Ajustes SINIEF 44/20 and 43/23; NT 2020.001 v1.50, in production since
2024-08-01). The authorization time is the protocol's dhRecbto; without a protocol, dhEmi.

State (NT 2020.001 v1.50): each conclusive manifestation (confirmação 210200, desconhecimento 210220,
operação não realizada 210240) may be registered up to twice per NF-e (nSeqEvento 1 and 2), and only the
last conclusive one registered counts. Ciência (210210) is a single event and not conclusive: it is the
state only while no conclusive one exists. The state is derived from the NF-e's linked events, never set
by hand, so importing the events in any order gives the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from core.models import CertificadoDigital, EstadoManifestacao, EventoDocumento, NFe, Origem, Situacao
from core.tenancy import escopo

from .dados import TipoDocumentoParte
from .validacao import CSTAT_EVENTO_REGISTRADO

PRAZO_DA_MANIFESTACAO = timedelta(days=180)
CIENCIA = "210210"
CONCLUSIVAS = {"210200": "confirmacao", "210220": "desconhecimento", "210240": "nao_realizada"}
TIPOS_DE_MANIFESTACAO = {CIENCIA: "ciencia", **CONCLUSIVAS}
# nSeqEvento allowed per tpEvento (NT 2020.001 v1.50): two for each conclusive one, one ciência.
MAX_SEQUENCIA = {CIENCIA: 1, **{codigo: 2 for codigo in CONCLUSIVAS}}
CAMPOS_DO_ESTADO = ["manifestacao", "manifestacao_em", "manifestacao_protocolo"]


def prazo_da_manifestacao(modelo: str, autorizada_em: datetime | None) -> datetime | None:
    """When the conclusive manifestation is due; None for NFC-e (modelo 65 has no manifestation)."""
    if modelo != "55" or autorizada_em is None:
        return None
    return autorizada_em + PRAZO_DA_MANIFESTACAO


@dataclass(frozen=True)
class Estado:
    manifestacao: str
    manifestacao_em: datetime | None
    manifestacao_protocolo: str


NENHUM = Estado(EstadoManifestacao.NENHUMA, None, "")


def registrado(evento: EventoDocumento) -> bool:
    """SEFAZ registered it: its retEvento says so, or it is a summary SEFAZ itself distributed (a resEvento
    has no cStat, and the distribution only carries registered events). A bare signed evento proves nothing."""
    if evento.codigo_status:
        return evento.codigo_status in CSTAT_EVENTO_REGISTRADO
    return evento.origem == Origem.SEFAZ


def do_destinatario(evento: EventoDocumento, destinatario: str) -> bool:
    """Only the NF-e's recipient manifests (NT 2020.001: the author is the destinatário, by CNPJ base or CPF).
    An NF-e known only by its summary names no recipient: SEFAZ, which checked the author, is trusted then."""
    destinatario, autor = (destinatario or "").upper(), (evento.autor_documento or "").upper()
    if len(destinatario) not in (11, 14):
        return True
    if len(destinatario) == 14 and len(autor) == 14:
        return autor[:8] == destinatario[:8]
    return autor == destinatario


def estado_dos_eventos(eventos, destinatario: str = "") -> Estado:
    """The state that counts: the latest conclusive event (by dhEvento, then nSeqEvento); else the ciência.

    Counted: events SEFAZ registered whose author is the NF-e's `destinatario` (anyone else's, even validly
    signed, is kept as received but changes nothing)."""
    validos = [
        e for e in eventos
        if e.tipo_evento in TIPOS_DE_MANIFESTACAO and registrado(e) and do_destinatario(e, destinatario)
    ]  # fmt: skip
    conclusivos = [e for e in validos if e.tipo_evento in CONCLUSIVAS] or [e for e in validos if e.tipo_evento == CIENCIA]
    if not conclusivos:
        return NENHUM
    ultimo = max(conclusivos, key=lambda e: (e.data_evento, e.sequencia))
    return Estado(TIPOS_DE_MANIFESTACAO[ultimo.tipo_evento], ultimo.data_evento, ultimo.protocolo)


def recalcular_manifestacoes(organizacao, nfes) -> list[NFe]:
    """Recompute the state of `nfes` (saved rows) from their linked events; the NF-e whose state changed.

    Two queries whatever the number of NF-e: the events, then one UPDATE of the changed rows. The
    objects passed in are updated too, so a payload built from them afterwards shows the new state.
    """
    nfes = {nfe.pk: nfe for nfe in nfes if nfe.pk is not None}
    if not nfes:
        return []
    eventos: dict[int, list[EventoDocumento]] = {}
    linhas = escopo(EventoDocumento, organizacao).filter(nfe_id__in=list(nfes), tipo_evento__in=list(TIPOS_DE_MANIFESTACAO))
    campos = ("nfe_id", "tipo_evento", "sequencia", "data_evento", "protocolo", "codigo_status", "origem", "autor_documento")
    for evento in linhas.only(*campos):
        eventos.setdefault(evento.nfe_id, []).append(evento)
    mudaram = []
    for pk, nfe in nfes.items():
        estado = estado_dos_eventos(eventos.get(pk, []), nfe.destinatario_documento)
        if estado != Estado(nfe.manifestacao, nfe.manifestacao_em, nfe.manifestacao_protocolo):
            nfe.manifestacao, nfe.manifestacao_em, nfe.manifestacao_protocolo = (
                estado.manifestacao, estado.manifestacao_em, estado.manifestacao_protocolo
            )
            mudaram.append(nfe)
    if mudaram:
        escopo(NFe, organizacao).bulk_update(mudaram, CAMPOS_DO_ESTADO, batch_size=500)
    return mudaram


def pendentes_de_manifestacao(organizacao, agora: datetime | None = None) -> QuerySet:
    """The organization's NF-e still awaiting a conclusive manifestation whose deadline has not passed.

    Pending: modelo 55, authorized (or a summary), no conclusive manifestation (none, or only the ciência),
    deadline ahead, and addressed to the organization: its destinatário has the CNPJ base or is the CPF of
    one of the organization's certificates, or it is a summary (SEFAZ distributes a resNFe only to the
    recipient). An NF-e the organization issued, or received as a carrier, is not its to manifest.
    """
    return escopo(NFe, organizacao).filter(condicao_pendente(organizacao, agora))


def condicao_pendente(organizacao, agora: datetime | None = None) -> Q:
    """`pendentes_de_manifestacao` as a condition, for a queryset already scoped to `organizacao`."""
    return _do_destinatario(organizacao) & Q(
        modelo="55", situacao__in=[Situacao.AUTORIZADA, Situacao.RESUMO],
        manifestacao__in=[EstadoManifestacao.NENHUMA, EstadoManifestacao.CIENCIA],
        prazo_manifestacao__gt=agora or timezone.now(),
    )  # fmt: skip


def destinada_a(organizacao, nfe: NFe) -> bool:
    """Whether the manifestation of `nfe` is `organizacao`'s to make: an NF-e (modelo 55) addressed to one of
    its certificates, or a summary (the rule of `pendentes_de_manifestacao`, without the state and deadline)."""
    if nfe.modelo != "55":
        return False
    return escopo(NFe, organizacao).filter(pk=nfe.pk).filter(_do_destinatario(organizacao)).exists()


def _do_destinatario(organizacao) -> Q:
    destinatario = Q(completa=False)
    for cnpj, cpf in escopo(CertificadoDigital, organizacao).values_list("cnpj", "cpf").distinct():
        if cnpj:
            raiz = Q(destinatario_documento__startswith=cnpj[:8], destinatario_tipo_documento=TipoDocumentoParte.CNPJ)
            destinatario |= raiz
        if cpf:
            destinatario |= Q(destinatario_documento=cpf, destinatario_tipo_documento=TipoDocumentoParte.CPF)
    return destinatario


def dias_restantes(prazo: datetime | None, agora: datetime | None = None) -> int | None:
    """Whole days until `prazo` (0 on its last day, negative once it passed); None without a deadline."""
    if prazo is None:
        return None
    agora = agora or timezone.now()
    return (timezone.localtime(prazo).date() - timezone.localtime(agora).date()).days


def resumo_da_manifestacao(nfe: NFe, agora: datetime | None = None) -> dict:
    """The `manifestacao` object of the API and of event payloads (no query: NF-e columns only)."""
    return {
        "situacao": nfe.manifestacao or "nenhuma",
        "nome": EstadoManifestacao(nfe.manifestacao).label,
        "data": _local(nfe.manifestacao_em),
        "protocolo": nfe.manifestacao_protocolo,
        "prazo": _local(nfe.prazo_manifestacao),
        "dias_restantes": dias_restantes(nfe.prazo_manifestacao, agora),
    }


def _local(momento: datetime | None) -> datetime | None:
    # The same instant reads the same whether it came from the XML (-03:00) or from the database (UTC).
    return None if momento is None else timezone.localtime(momento)


def historico_da_manifestacao(eventos) -> list[dict]:
    """Each manifestation event of the NF-e (the events already loaded), oldest first."""
    manifestacoes = [e for e in eventos if e.tipo_evento in TIPOS_DE_MANIFESTACAO]
    return [
        {"tipo": TIPOS_DE_MANIFESTACAO[e.tipo_evento], "tipo_evento": e.tipo_evento, "data": e.data_evento,
         "sequencia": e.sequencia, "protocolo": e.protocolo, "registrada": registrado(e)}
        for e in sorted(manifestacoes, key=lambda e: (e.data_evento, e.sequencia))
    ]  # fmt: skip
