"""The scheduled tasks: their public names, the order `run_scheduled_tasks` runs them in, and their limits.

Each task is a function `(*, simular: bool, escrever) -> str`: it does its work (or, with `simular`,
only says what it would do), may report progress through `escrever(linha)`, and returns a one-line
summary. An exception means the run failed. The runner (execucao.py) wraps each one in its lock and
records the run; the functions themselves know nothing about either.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from core.models import WebhookLog

from .limpeza import limpeza_logs
from .relatorios import enviar_relatorios

# Cron runs entregar_webhooks every minute: stop taking new work before the next run starts.
ORCAMENTO_WEBHOOKS_SEGUNDOS = 50
PROGRESSO_SEGUNDOS = 10


@dataclass(frozen=True)
class Tarefa:
    nome: str
    executar: Callable[..., str]
    # The lock expires after this: longer than any healthy run, short enough that a crashed run
    # (kill -9, a machine lost) holds the task back only for a while.
    duracao_maxima: timedelta
    cron: str  # suggested schedule (README, INTEGRACOES.md)


def _nada(_linha: str) -> None:
    pass


def entregar_webhooks(*, simular: bool = False, escrever: Callable[[str], None] = _nada) -> str:
    """What the after-commit delivery and the worker left behind (up to ORCAMENTO_WEBHOOKS_SEGUNDOS)."""
    if simular:
        return f"entregar_webhooks (simulação): {entregas_devidas()} entrega(s) devida(s) agora."
    from core.webhooks.entrega import LOTE_PADRAO, entregar_pendentes, fechar_conexoes_velhas, resumo_de_entregas

    inicio = time.monotonic()
    prazo, aviso, contagem = inicio + ORCAMENTO_WEBHOOKS_SEGUNDOS, inicio + PROGRESSO_SEGUNDOS, Counter()
    while time.monotonic() < prazo:
        try:
            tentadas = entregar_pendentes(limite=LOTE_PADRAO, contagem=contagem)
        finally:
            fechar_conexoes_velhas()
        if not tentadas:
            break
        if time.monotonic() >= aviso:
            escrever(f"entregar_webhooks: {resumo_de_entregas(contagem)} até agora...")
            aviso = time.monotonic() + PROGRESSO_SEGUNDOS
    return f"entregar_webhooks: {resumo_de_entregas(contagem)}."


def entregas_devidas() -> int:
    """Pending rows whose time has come plus claimed rows whose lease expired (two index range counts)."""
    from core.webhooks.entrega import fila_de_entrega

    agora, Status = timezone.now(), WebhookLog.Status
    fila = fila_de_entrega()
    pendentes = fila.filter(status=Status.PENDENTE, proxima_tentativa_em__lte=agora).count()
    abandonadas = fila.filter(status=Status.ENTREGANDO, lease_expira_em__lte=agora).count()
    return pendentes + abandonadas


def enviar_emails(*, simular: bool = False, escrever: Callable[[str], None] = _nada) -> str:
    """The e-mail queue (core/notifications/envio.py): every due row, up to ORCAMENTO_WEBHOOKS_SEGUNDOS."""
    from core.notifications.envio import LOTE_PADRAO, emails_devidos, enviar_pendentes
    from core.webhooks.entrega import fechar_conexoes_velhas

    if simular:
        return f"enviar_emails (simulação): {emails_devidos()} e-mail(s) devido(s) agora."
    inicio = time.monotonic()
    prazo, aviso, total = inicio + ORCAMENTO_WEBHOOKS_SEGUNDOS, inicio + PROGRESSO_SEGUNDOS, 0
    while time.monotonic() < prazo:
        try:
            tentados = enviar_pendentes(limite=LOTE_PADRAO)
        finally:
            fechar_conexoes_velhas()
        if not tentados:
            break
        total += tentados
        if time.monotonic() >= aviso:
            escrever(f"enviar_emails: {total} e-mail(s) até agora...")
            aviso = time.monotonic() + PROGRESSO_SEGUNDOS
    return f"enviar_emails: {total} e-mail(s) processado(s)."


def consultas_sefaz(*, simular: bool = False, escrever: Callable[[str], None] = _nada) -> str:
    """Every certificate with automatic capture whose time has come (SEFAZ's waits always apply)."""
    from core.sefaz.agenda import certificados_devidos, consultar_devidos

    if not simular:
        return consultar_devidos(escrever)
    devidos = certificados_devidos()
    for certificado in devidos:
        escrever(f"consultas_sefaz (simulação): certificado {certificado.pk} ({certificado.documento}), "
                 f"organização {certificado.organizacao.slug}")  # fmt: skip
    return f"consultas_sefaz (simulação): {len(devidos)} certificado(s) seria(m) consultado(s)."


def certificados_vencendo(*, simular: bool = False, escrever: Callable[[str], None] = _nada) -> str:
    from core.certificados.vencimento import avisar_certificados_vencendo, avisos_devidos

    if not simular:
        return f"certificados_vencendo: {avisar_certificados_vencendo()} aviso(s) emitido(s)."
    devidos = avisos_devidos()
    for certificado, dias, limiar in devidos:
        escrever(f"certificados_vencendo (simulação): certificado {certificado.pk} ({certificado.documento}) "
                 f"vence em {dias} dia(s): aviso de {limiar} dias")  # fmt: skip
    return f"certificados_vencendo (simulação): {len(devidos)} aviso(s) seria(m) emitido(s)."


def prazos_manifestacao(*, simular: bool = False, escrever: Callable[[str], None] = _nada) -> str:
    """NF-e near their manifestation deadline (FISCAL_AVISO_PRAZO_MANIFESTACAO_DIAS): one event each, once."""
    from core.documentos.prazos_manifestacao import avisar_prazos_de_manifestacao, avisos_devidos

    if not simular:
        return f"prazos_manifestacao: {avisar_prazos_de_manifestacao()} NF-e avisada(s)."
    devidos = avisos_devidos()
    for organizacao, quantas in devidos.items():
        escrever(f"prazos_manifestacao (simulação): organização {organizacao.slug}: {quantas} NF-e")
    return f"prazos_manifestacao (simulação): {sum(devidos.values())} NF-e seria(m) avisada(s)."


def compactar_agregados(*, simular: bool = False, escrever: Callable[[str], None] = _nada) -> str:
    """Fold the rollups' delta rows (core.agregados): reads stay as small as the keys, not the writes."""
    from core.agregados.manutencao import compactar, linhas_a_compactar

    if simular:
        return f"compactar_agregados (simulação): {linhas_a_compactar()} linha(s) de agregados a compactar."
    return f"compactar_agregados: {compactar()} linha(s) de agregados a menos."


# The order of a run without --task: fetch documents first, then announce certificates and deadlines,
# deliver the events they produced (webhooks, then the e-mail queue), queue yesterday's summary, fold the
# rollups, and clean up last (the heaviest, the least urgent).
TAREFAS: dict[str, Tarefa] = {
    tarefa.nome: tarefa
    for tarefa in (
        Tarefa("consultas_sefaz", consultas_sefaz, timedelta(minutes=60), "*/5 * * * *"),
        Tarefa("certificados_vencendo", certificados_vencendo, timedelta(minutes=30), "0 7 * * *"),
        Tarefa("prazos_manifestacao", prazos_manifestacao, timedelta(minutes=30), "15 7 * * *"),
        Tarefa("entregar_webhooks", entregar_webhooks, timedelta(minutes=5), "* * * * *"),
        Tarefa("enviar_emails", enviar_emails, timedelta(minutes=5), "* * * * *"),
        Tarefa("enviar_relatorios", enviar_relatorios, timedelta(hours=2), "0 6 * * *"),
        Tarefa("compactar_agregados", compactar_agregados, timedelta(minutes=10), "* * * * *"),
        Tarefa("limpeza_logs", limpeza_logs, timedelta(hours=6), "30 3 * * *"),
    )
}
