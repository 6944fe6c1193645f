"""Re-check the signatures of documents stored before the signer rules existed.

Until this release a mathematically valid signature was enough to be stored as `valida`: a self-signed
certificate, a signer of another company or a wrapped file passed. Each stored document and event is run
through today's `preparar` again, from its kept XML:
- still accepted: `assinatura` becomes what the check says today (`valida` or `cadeia_desconhecida`);
- refused today: `assinatura` becomes `invalida` and an `ImportLog` error row says why (the document is
  kept: it is the record of what was received, and deleting it is a person's decision).
Idempotent: a second run changes nothing and logs nothing new.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import transaction

from core.models import CTe, EstadoAssinatura, EventoDocumento, ImportLog, NFe, Organizacao, OutroDocumento
from core.tenancy import escopo, inserir

from .preparacao import Preparado, preparar

MODELOS = (NFe, CTe, OutroDocumento, EventoDocumento)
PREFIXO = "reconferência da assinatura"
LOTE = 200


@dataclass(frozen=True)
class Reverificado:
    modelo: str
    chave: str
    antes: str
    depois: str
    motivo: str = ""


def reverificar(
    organizacoes=None, *, progresso: Callable[[Reverificado], None] | None = None
) -> Counter:
    """Re-check every signed document of `organizacoes` (all by default); return counts by new state."""
    contagem: Counter = Counter()
    for organizacao in organizacoes if organizacoes is not None else Organizacao.objects.order_by("pk"):
        for modelo in MODELOS:
            for lote in _em_lotes(modelo, organizacao):
                for mudanca in _reverificar_lote(organizacao, modelo, lote):
                    contagem[mudanca.depois] += 1
                    if progresso:
                        progresso(mudanca)
    return contagem


def _em_lotes(modelo, organizacao) -> Iterator[list]:
    linhas = (
        escopo(modelo, organizacao)
        .exclude(assinatura__in=[EstadoAssinatura.AUSENTE, EstadoAssinatura.INVALIDA])
        .select_related("arquivo")
        .order_by("pk")
    )
    ultimo = 0
    while True:
        lote = list(linhas.filter(pk__gt=ultimo)[:LOTE])
        if not lote:
            return
        ultimo = lote[-1].pk
        yield lote


def _reverificar_lote(organizacao, modelo, lote) -> list[Reverificado]:
    # Verification happens outside the transaction; only the writes are inside it.
    decisoes = [(linha, _estado_de_hoje(linha)) for linha in lote]
    mudancas, logs, por_estado = [], [], defaultdict(list)
    for linha, (estado, motivo) in decisoes:
        if estado == linha.assinatura:
            continue
        mudancas.append(Reverificado(modelo.__name__, linha.chave, linha.assinatura, estado, motivo))
        por_estado[estado].append(linha.pk)
        if estado == EstadoAssinatura.INVALIDA:
            logs.append(
                ImportLog(
                    organizacao=organizacao, arquivo=f"{linha.chave}.xml"[-500:], chave=linha.chave,
                    status=ImportLog.Status.ERRO, mensagem=f"{PREFIXO}: {motivo}", origem=linha.origem,
                    nsu=linha.nsu, xml=linha.arquivo,
                )  # fmt: skip
            )
    with transaction.atomic():  # one UPDATE per new state, not one per row
        for estado, pks in por_estado.items():
            escopo(modelo, organizacao).filter(pk__in=pks).update(assinatura=estado)
        inserir(ImportLog, organizacao, logs)
    return mudancas


def _estado_de_hoje(linha) -> tuple[str, str]:
    try:
        conteudo = linha.arquivo.bytes_originais()
    except ValueError as erro:  # the kept bytes no longer match their SHA-256
        return EstadoAssinatura.INVALIDA, str(erro)
    resultado = preparar(f"{linha.chave}.xml", conteudo)
    if not isinstance(resultado, Preparado):
        return EstadoAssinatura.INVALIDA, resultado.mensagem
    if resultado.assinatura is None:  # an unsigned summary kept as the record
        return EstadoAssinatura.AUSENTE, ""
    return resultado.assinatura.estado, resultado.assinatura.motivo_cadeia
