"""The import pipeline: one entry point for upload, the folder command and SEFAZ alike.

    resultados = importar(organizacao=org, entradas=[Entrada("nota.xml", dados)], origem=Origem.UPLOAD)

Each input may be one XML or a ZIP of XMLs. Documents are prepared (parsed, validated, signature
verified) outside any transaction, then written in batches (`gravacao.gravar`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings

from core.notifications import notificacoes_agrupadas

from .entrada import EntradaInvalida, Limites, expandir
from .gravacao import Resultado, gravar
from .preparacao import Falha, preparar


@dataclass(frozen=True)
class Entrada:
    nome: str
    conteudo: bytes
    nsu: int | None = None
    erro: str = ""  # the caller could not even read it (permissions, size): logged as an error
    tamanho: int | None = None  # of a file refused for size, whose bytes are not in `conteudo`
    sha256: str = ""  # of that file, streamed from disk ("" when it was too big to hash)


def importar(
    *,
    organizacao,
    entradas: Iterable[Entrada],
    origem: str,
    usuario=None,
    limites: Limites | None = None,
    tamanho_lote: int | None = None,
) -> Iterator[Resultado]:
    """Import every document in `entradas`, yielding one Resultado per document, batch by batch.

    One call is one import for the e-mail notifications: its members get a digest when it brings
    many documents (core.notifications), sent when the import ends.
    """
    limites = limites or Limites.das_configuracoes()
    tamanho_lote = tamanho_lote or settings.FISCAL_IMPORT_BATCH_SIZE
    with notificacoes_agrupadas(organizacao):
        yield from _em_lotes(organizacao, entradas, origem, usuario, limites, tamanho_lote)


def _em_lotes(organizacao, entradas, origem, usuario, limites, tamanho_lote) -> Iterator[Resultado]:
    lote = []
    for entrada in entradas:
        if entrada.erro:
            lote.append(Falha(entrada.nome, entrada.erro, nsu=entrada.nsu))
            continue
        for arquivo in expandir(entrada.nome, entrada.conteudo, limites):
            if isinstance(arquivo, EntradaInvalida):
                lote.append(Falha(arquivo.nome or entrada.nome, arquivo.motivo, nsu=entrada.nsu))
            else:
                lote.append(preparar(arquivo.nome, arquivo.conteudo, entrada.nsu))
            if len(lote) >= tamanho_lote:
                yield from gravar(organizacao, lote, origem=origem, usuario=usuario)
                lote = []
    yield from gravar(organizacao, lote, origem=origem, usuario=usuario)


def importar_bytes(*, organizacao, nome: str, conteudo: bytes, origem: str, usuario=None, nsu=None) -> list[Resultado]:
    """Import one file (XML or ZIP) and return what happened to each document in it."""
    entradas = [Entrada(nome, conteudo, nsu)]
    return list(importar(organizacao=organizacao, entradas=entradas, origem=origem, usuario=usuario))
