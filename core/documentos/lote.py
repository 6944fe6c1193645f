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

from core.models import ImportLog, Organizacao
from core.notifications import notificacoes_agrupadas, notificacoes_suprimidas
from core.notifications.agrupamento import marco_de_eventos, registrar_eventos_gravados

from .gravacao import Resultado
from .importacao import Entrada, importar

ARQUIVOS_POR_TAREFA = 100
MINIMO_PARA_PARALELO = 500


def ler_arquivo(caminho: Path) -> Entrada:
    """The file as an Entrada; a file that cannot be read becomes an Entrada with its error."""
    limite = max(settings.FISCAL_MAX_ZIP_TOTAL_BYTES, settings.FISCAL_MAX_XML_BYTES)
    try:
        if caminho.stat().st_size > limite:
            return Entrada(str(caminho), b"", erro=f"arquivo com mais de {limite} bytes, acima do limite de importação")
        return Entrada(str(caminho), caminho.read_bytes())
    except OSError as erro:
        return Entrada(str(caminho), b"", erro=f"não foi possível ler o arquivo: {erro.strerror}")


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
    blocos = [caminhos[i : i + ARQUIVOS_POR_TAREFA] for i in range(0, len(caminhos), ARQUIVOS_POR_TAREFA)]
    with notificacoes_agrupadas(organizacao):
        if processos <= 1 or not pode_usar_processos():
            for bloco in blocos:
                resultados = importar(organizacao=organizacao, entradas=map(ler_arquivo, bloco), origem=origem)
                yield len(bloco), list(resultados)
            return
        yield from _em_processos(organizacao, blocos, origem, processos)


def _em_processos(organizacao, blocos, origem, processos) -> Iterator[tuple[int, list[Resultado]]]:
    # The workers send no e-mail; this process tells what they stored, from their events, at the end.
    marco, chaves, erros = marco_de_eventos(), set(), []
    # Children must open their own connections: a socket shared across fork corrupts both ends.
    connections.close_all()
    contexto = multiprocessing.get_context("fork")
    with contexto.Pool(processos) as pool:
        tarefas = ((organizacao.pk, bloco, origem) for bloco in blocos)
        for feitos, resultados in pool.imap(_importar_bloco, tarefas):
            chaves.update(r.chave for r in resultados if r.status == ImportLog.Status.SUCESSO and r.chave)
            erros += [r for r in resultados if r.status == ImportLog.Status.ERRO]
            yield feitos, resultados
        pool.close()
        pool.join()
    registrar_eventos_gravados(organizacao, desde=marco, chaves=chaves, erros=erros)


def pode_usar_processos() -> bool:
    """Other processes only see committed rows in a database they can open."""
    if connection.in_atomic_block:
        return False
    if connection.vendor == "sqlite":
        return not connection.creation.is_in_memory_db(connection.settings_dict["NAME"])
    return True


def _importar_bloco(tarefa: tuple[int, list[Path], str]) -> tuple[int, list[Resultado]]:
    organizacao_id, bloco, origem = tarefa
    try:
        organizacao = Organizacao.objects.get(pk=organizacao_id)
        with notificacoes_suprimidas():
            resultados = list(importar(organizacao=organizacao, entradas=map(ler_arquivo, bloco), origem=origem))
        # Model instances stay here: the parent only reports status and messages.
        return len(bloco), [replace(r, documento=None) for r in resultados]
    finally:
        connections.close_all()
