"""Importing many files from disk, in one process or spread over several.

Each worker process runs the whole pipeline (read, prepare, store) on its own block of files with
its own database connection, so both the CPU-bound verification and the writes scale with cores;
only file paths go in and light results come out.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.db import connection, connections

from core.eventos.lotes import em_lote
from core.models import Organizacao
from core.notifications import notificacoes_agrupadas
from core.webhooks.imediata import encerrar_entrega_imediata

from .entrada import Limites, copia_mapeada, medir, parece_zip
from .gravacao import Resultado
from .importacao import Entrada, importar

# Files per task: by default one write batch (FISCAL_IMPORT_BATCH_SIZE), so each task commits once; with
# 100-file tasks and 200-document batches every batch was cut in half, doubling the per-batch work.
ARQUIVOS_POR_TAREFA: int | None = None
MINIMO_PARA_PARALELO = 500


def ler_arquivo(caminho: Path) -> Entrada:
    """The file as an Entrada; a file that cannot be read becomes an Entrada with its error.

    Nothing over the limits is read into memory: a file refused for size is only streamed through
    SHA-256, for the import log. A ZIP larger than one XML is copied to a private temporary file and
    mapped, so the pipeline reads it one entry at a time and a change to the original meanwhile
    cannot kill the process (reading a mapped file that shrinks does).
    """
    limites = Limites.das_configuracoes()
    try:
        tamanho = caminho.stat().st_size
        if tamanho <= limites.max_xml_bytes:
            return Entrada(str(caminho), caminho.read_bytes())
        with caminho.open("rb") as arquivo:
            zip_ = parece_zip(arquivo.read(4))
            if zip_ and tamanho <= limites.max_arquivo_bytes:
                return Entrada(str(caminho), copia_mapeada(arquivo))
            tamanho, sha256 = medir(arquivo)
    except OSError as erro:
        return Entrada(str(caminho), b"", erro=f"não foi possível ler o arquivo: {erro.strerror}")
    limite = limites.max_arquivo_bytes if zip_ else limites.max_xml_bytes
    erro = f"{'ZIP' if zip_ else 'arquivo'} de {tamanho} bytes, acima do limite de {limite} bytes"
    return Entrada(str(caminho), b"", erro=erro, tamanho=tamanho, sha256=sha256)


def processos_sugeridos(quantidade_de_arquivos: int) -> int:
    if quantidade_de_arquivos < MINIMO_PARA_PARALELO:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def importar_caminhos(
    *, organizacao: Organizacao, caminhos: list[Path], origem: str, processos: int = 1
) -> Iterator[tuple[int, list[Resultado]]]:
    """Import `caminhos`, yielding (files done, their results) block by block, in order.

    The whole run is one import for the e-mail notifications (one digest, not one per block).
    """
    por_tarefa = ARQUIVOS_POR_TAREFA or settings.FISCAL_IMPORT_BATCH_SIZE
    blocos = [caminhos[i : i + por_tarefa] for i in range(0, len(caminhos), por_tarefa)]
    with notificacoes_agrupadas(organizacao) as lote:
        if processos <= 1 or not pode_usar_processos():
            for bloco in blocos:
                resultados = importar(organizacao=organizacao, entradas=map(ler_arquivo, bloco), origem=origem)
                yield len(bloco), list(resultados)
            return
        yield from _em_processos(organizacao, blocos, origem, processos, lote)


def _em_processos(organizacao, blocos, origem, processos, lote) -> Iterator[tuple[int, list[Resultado]]]:
    # The workers label their events with this run's lote and queue no e-mail: this process queues the
    # run's e-mails from those events when its block ends.
    # Children must open their own connections: a socket shared across fork corrupts both ends.
    connections.close_all()
    contexto = multiprocessing.get_context("fork")
    with contexto.Pool(processos) as pool:
        tarefas = ((organizacao.pk, bloco, origem, lote) for bloco in blocos)
        yield from pool.imap(_importar_bloco, tarefas)
        pool.close()
        pool.join()


def pode_usar_processos() -> bool:
    """Other processes only see committed rows in a database they can open."""
    if connection.in_atomic_block:
        return False
    if connection.vendor == "sqlite":
        return not connection.creation.is_in_memory_db(connection.settings_dict["NAME"])
    return True


def _importar_bloco(tarefa: tuple[int, list[Path], str, str]) -> tuple[int, list[Resultado]]:
    organizacao_id, bloco, origem, lote = tarefa
    try:
        organizacao = Organizacao.objects.get(pk=organizacao_id)
        with em_lote(organizacao.pk, lote):
            resultados = list(importar(organizacao=organizacao, entradas=map(ler_arquivo, bloco), origem=origem))
        # Model instances stay here: the parent only reports status and messages.
        return len(bloco), [replace(r, documento=None) for r in resultados]
    finally:
        # A pool process ends with os._exit (no atexit): its block's webhooks go out, or back to the
        # queue, before it takes the next block or exits.
        encerrar_entrega_imediata()
        connections.close_all()
