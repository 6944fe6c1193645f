"""Running the import pipeline again on the bytes an attempt kept (ImportLog.xml).

    resultados = reprocessar(log, usuario=request.user)

The API (POST /api/importacoes/{id}/reprocessar/), the admin action and `manage.py reprocessar_importacoes`
all end here. A run never touches the old rows: it writes new ImportLog rows whose `reprocessado_de` is the
first attempt of the file (a reprocess of a reprocess points at the same original), sharing the kept bytes
instead of copying them. It is idempotent: a document stored meanwhile answers "duplicado" and is linked;
a file that fails again gets an error row that says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.models import ImportLog
from core.notifications import notificacoes_agrupadas
from core.tenancy import escopo, todas_as_organizacoes

from .gravacao import Resultado
from .importacao import Entrada, importar


class ReprocessamentoImpossivel(ValueError):
    """The attempt has no bytes to run again (or they no longer match their SHA-256); the message says which."""


@dataclass
class Reprocessamento:
    """One attempt run again: the new results, or why it could not run."""

    log: ImportLog
    resultados: list[Resultado] = field(default_factory=list)
    erro: str = ""


def reprocessar(log: ImportLog, *, usuario=None) -> list[Resultado]:
    """Import the bytes `log` kept again, as a new attempt pointing at the file's first one."""
    conteudo = bytes_guardados(log)
    original = log.reprocessado_de or log
    entrada = Entrada(log.arquivo, conteudo, log.nsu)
    return list(
        importar(organizacao=log.organizacao, entradas=[entrada], origem=log.origem, usuario=usuario,
                 reprocessado_de=original)  # fmt: skip
    )


def reprocessar_varios(organizacao, logs: Iterable[ImportLog], *, usuario=None) -> Iterator[Reprocessamento]:
    """Reprocess `logs` of one organization, as one import for the e-mails (a digest, not one per file)."""
    with notificacoes_agrupadas(organizacao):
        for log in logs:
            try:
                yield Reprocessamento(log, reprocessar(log, usuario=usuario))
            except ReprocessamentoImpossivel as erro:
                yield Reprocessamento(log, erro=str(erro))


def bytes_guardados(log: ImportLog) -> bytes:
    """The bytes the attempt received, verified against their SHA-256."""
    if log.xml_id is None:
        raise ReprocessamentoImpossivel(motivo_sem_arquivo(log))
    try:
        return log.xml.bytes_originais()
    except ValueError as erro:
        raise ReprocessamentoImpossivel(f"importação {log.pk}: o arquivo guardado está corrompido ({erro})") from erro


def motivo_sem_arquivo(log: ImportLog) -> str:
    if log.tamanho is not None:
        return (f"importação {log.pk}: o arquivo ({log.tamanho} bytes, SHA-256 {log.sha256 or 'desconhecido'}) "
                "não foi guardado por passar do limite de tamanho; envie-o de novo")  # fmt: skip
    return f"importação {log.pk}: o arquivo não foi guardado (tentativa anterior ao registro dos arquivos)"


def reprocessaveis(
    *, organizacao=None, status: str | None = None, desde: date | None = None, motivo: str = ""
) -> QuerySet:
    """The last attempt of each file that matches the filters, oldest file first.

    A file is judged by its last run (an error reprocessed with success is no longer an error), so
    running the command twice does not run the same file twice. `desde` is when the file first came;
    `motivo` is a piece of the message (case-insensitive). Attempts without kept bytes are included: the
    caller reports them.
    """
    logs = escopo(ImportLog, organizacao) if organizacao is not None else todas_as_organizacoes(ImportLog)
    posterior = todas_as_organizacoes(ImportLog).filter(
        reprocessado_de=Coalesce(OuterRef("reprocessado_de"), OuterRef("pk")), pk__gt=OuterRef("pk")
    )
    logs = logs.filter(~Exists(posterior))
    if status:
        logs = logs.filter(status=status)
    if motivo:
        logs = logs.filter(mensagem__icontains=motivo)
    if desde:
        inicio = timezone.make_aware(datetime.combine(desde, time.min))
        logs = logs.filter(Q(reprocessado_de__isnull=True, criado_em__gte=inicio) | Q(reprocessado_de__criado_em__gte=inicio))
    return logs.order_by("organizacao_id", "pk")
