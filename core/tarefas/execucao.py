"""Running scheduled tasks: one at a time, each under its lock, each run recorded and logged.

A task that raises is recorded as failed and the next one still runs; a task whose lock is held
elsewhere is skipped (recorded as `pulada`): that is the normal outcome of overlapping cron runs,
not an error. A simulation (`--dry-run`) takes no lock, since it changes nothing and must never make
a real run skip.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import close_old_connections, connection
from django.utils import timezone

from core.models import ExecucaoDeTarefa

from . import trava
from .catalogo import TAREFAS

logger = logging.getLogger(__name__)

Resultado = ExecucaoDeTarefa.Resultado
LIMITE_DO_ERRO = 20_000  # characters of traceback kept in the row


class TarefaDesconhecida(KeyError):
    pass


@dataclass(frozen=True)
class Execucao:
    tarefa: str
    resultado: str
    resumo: str
    erro: str = ""
    duracao_ms: int = 0

    @property
    def falhou(self) -> bool:
        return self.resultado == Resultado.FALHA


def executar_tarefas(
    nomes: Iterable[str] | None = None,
    *,
    simular: bool = False,
    escrever: Callable[[str], None] | None = None,
    relatar: Callable[[Execucao], None] = lambda execucao: None,
    parar: Callable[[], bool] = lambda: False,
) -> list[Execucao]:
    """Run `nomes` (default: every task, in catalogue order) one after the other; never raises for a task.

    `escrever` receives the tasks' progress lines, `relatar` each finished run; `parar()` is checked
    between tasks (SIGTERM: the task under way finishes, the rest wait for the next cron run).
    """
    nomes = list(TAREFAS) if nomes is None else list(nomes)
    desconhecidas = [nome for nome in nomes if nome not in TAREFAS]
    if desconhecidas:
        raise TarefaDesconhecida(", ".join(desconhecidas))
    execucoes = []
    for nome in nomes:
        if parar():
            logger.warning("tarefas: interrompido antes de %s", nome)
            break
        execucoes.append(executar_tarefa(nome, simular=simular, escrever=escrever))
        relatar(execucoes[-1])
        if not connection.in_atomic_block:  # never inside a transaction (tests run inside one)
            close_old_connections()
    return execucoes


def executar_tarefa(nome: str, *, simular: bool = False, escrever: Callable[[str], None] | None = None) -> Execucao:
    tarefa, escrever = TAREFAS[nome], escrever or (lambda linha: None)
    iniciada_em, inicio = timezone.now(), time.monotonic()
    dono = trava.novo_dono()
    if not simular:
        ocupada = trava.adquirir(nome, dono=dono, duracao=tarefa.duracao_maxima, agora=iniciada_em)
        if ocupada is not None:
            execucao = Execucao(nome, Resultado.PULADA, ocupada.mensagem())
            logger.info("%s", execucao.resumo)
            return _registrar(execucao, iniciada_em, simular)
    try:
        resumo = tarefa.executar(simular=simular, escrever=escrever)
        execucao = Execucao(nome, Resultado.SUCESSO, resumo, duracao_ms=_ms_desde(inicio))
        logger.info("tarefa %s concluída em %d ms: %s", nome, execucao.duracao_ms, resumo)
    except Exception as exc:
        erro = traceback.format_exc()[-LIMITE_DO_ERRO:]
        execucao = Execucao(nome, Resultado.FALHA, f"{nome}: falhou ({type(exc).__name__}: {exc})", erro,
                            _ms_desde(inicio))  # fmt: skip
        logger.exception("tarefa %s falhou após %d ms", nome, execucao.duracao_ms)
    finally:
        if not simular:
            _liberar(nome, dono)
    return _registrar(execucao, iniciada_em, simular)


def _liberar(nome: str, dono: str) -> None:
    try:
        trava.liberar(nome, dono=dono)
    except Exception:  # the lock then expires on its own (Tarefa.duracao_maxima)
        logger.exception("tarefa %s: não foi possível liberar a trava", nome)


def _registrar(execucao: Execucao, iniciada_em, simular: bool) -> Execucao:
    try:
        ExecucaoDeTarefa.objects.create(
            tarefa=execucao.tarefa, resultado=execucao.resultado, resumo=execucao.resumo, erro=execucao.erro,
            simulacao=simular, iniciada_em=iniciada_em, duracao_ms=execucao.duracao_ms,
        )  # fmt: skip
    except Exception:  # the database may be what failed: the log line above still tells the story
        logger.exception("tarefa %s: não foi possível registrar a execução", execucao.tarefa)
    return execucao


def _ms_desde(inicio: float) -> int:
    return round((time.monotonic() - inicio) * 1000)
