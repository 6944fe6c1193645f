"""The import pipeline: one entry point for upload, the folder command and SEFAZ alike.

    resultados = importar(organizacao=org, entradas=[Entrada("nota.xml", dados)], origem=Origem.UPLOAD)

Each input may be one XML or a ZIP of XMLs. Documents are prepared (parsed, validated, signature
verified) outside any transaction, then written in batches (`gravacao.gravar`).

Every attempt (a file, each entry of a ZIP, each SEFAZ docZip) keeps the bytes it received, compressed,
with its ImportLog, failures included, so it can be downloaded and reprocessed later
(core.documentos.reprocessamento). Bytes over FISCAL_MAX_XML_BYTES are not kept: their size and SHA-256 are.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings

from core.models.documentos import OriginalComprimido
from core.notifications import notificacoes_agrupadas

from .entrada import EntradaInvalida, Limites, expandir
from .gravacao import Resultado, gravar
from .preparacao import Falha, Preparado, preparar


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
    reprocessado_de=None,
) -> Iterator[Resultado]:
    """Import every document in `entradas`, yielding one Resultado per document, batch by batch.

    One call is one import for the e-mail notifications: its members get a digest when it brings
    many documents (core.notifications), sent when the import ends. `reprocessado_de` (an ImportLog)
    marks every attempt as a new run of that original one.
    """
    limites = limites or Limites.das_configuracoes()
    tamanho_lote = tamanho_lote or settings.FISCAL_IMPORT_BATCH_SIZE
    gravar_lote = functools.partial(
        gravar, organizacao, origem=origem, usuario=usuario, reprocessado_de=reprocessado_de
    )
    with notificacoes_agrupadas(organizacao):
        yield from _em_lotes(gravar_lote, entradas, limites, tamanho_lote)


def _em_lotes(gravar_lote, entradas, limites, tamanho_lote) -> Iterator[Resultado]:
    lote = []
    for entrada in entradas:
        for item in _itens(entrada, limites):
            lote.append(item)
            if len(lote) >= tamanho_lote:
                yield from gravar_lote(lote)
                lote = []
    yield from gravar_lote(lote)


def _itens(entrada: Entrada, limites: Limites) -> Iterator[Preparado | Falha]:
    """One attempt per XML: the file itself, or each entry of a ZIP; a failure keeps what it got."""
    if entrada.erro:
        recebido = _recebido(entrada.conteudo or None, limites, entrada)
        yield Falha(entrada.nome, entrada.erro, nsu=entrada.nsu, **recebido)
        return
    for arquivo in expandir(entrada.nome, entrada.conteudo, limites):
        if isinstance(arquivo, EntradaInvalida):
            recebido = _da_invalida(arquivo, entrada, limites)
            yield Falha(arquivo.nome or entrada.nome, arquivo.motivo, nsu=entrada.nsu, **recebido)
        else:
            yield _com_original(preparar(arquivo.nome, arquivo.conteudo, entrada.nsu), arquivo.conteudo)


def _com_original(item: Preparado | Falha, conteudo: bytes) -> Preparado | Falha:
    """A file the pipeline refused keeps its bytes too (a Preparado already carries them)."""
    if item.original is None:
        return dataclasses.replace(item, original=OriginalComprimido.de_bytes(conteudo))
    return item


def _da_invalida(arquivo: EntradaInvalida, entrada: Entrada, limites: Limites) -> dict:
    conteudo = getattr(arquivo, "conteudo", None)
    sem_retrato = conteudo is None and getattr(arquivo, "tamanho", None) is None
    if sem_retrato and arquivo.nome in ("", entrada.nome):
        conteudo = entrada.conteudo  # the upload itself was refused (a corrupt or empty ZIP, an empty file)
    return _recebido(conteudo, limites, arquivo)


def _recebido(conteudo: bytes | None, limites: Limites, origem) -> dict:
    """What a failed attempt keeps: its bytes within FISCAL_MAX_XML_BYTES, else their size and SHA-256.

    `origem` (an Entrada or an EntradaInvalida) may already know the size and digest of bytes it did
    not read into memory.
    """
    if conteudo and len(conteudo) <= limites.max_xml_bytes:
        return {"original": OriginalComprimido.de_bytes(conteudo)}
    if conteudo is not None:
        return {"tamanho": len(conteudo), "sha256": hashlib.sha256(conteudo).hexdigest()}
    return {"tamanho": getattr(origem, "tamanho", None), "sha256": getattr(origem, "sha256", "") or ""}


def importar_bytes(*, organizacao, nome: str, conteudo: bytes, origem: str, usuario=None, nsu=None) -> list[Resultado]:
    """Import one file (XML or ZIP) and return what happened to each document in it."""
    entradas = [Entrada(nome, conteudo, nsu)]
    return list(importar(organizacao=organizacao, entradas=entradas, origem=origem, usuario=usuario))
