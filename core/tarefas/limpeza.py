"""`limpeza_logs`: delete the log rows past their retention, in small batches, then let the database
reclaim the space.

What goes (each period a setting, FISCAL_RETENCAO_*):
- WebhookLog attempts older than 30 days that are closed (sucesso, falha, desistiu) and whose delivery
  (event + webhook) has no attempt still pending or being sent: an in-flight retry chain stays whole.
- EnvioEmail (the e-mail queue) rows finished (enviado, pulado, falhou) and older than the same 30 days
  (FISCAL_RETENCAO_WEBHOOKS_DIAS, the outbox's delivery records), by creation and last change: a row
  still pending or being sent, or put back in the queue recently (the admin's "reenviar"), stays.
- Evento rows older than 90 days (the feed promises integrators at least that, so the setting refuses
  less) that no WebhookLog references any more. With the webhook logs gone first this is every old
  event; one whose delivery is still retrying, or was re-sent recently, waits for its logs.
- ImportLog older than 90 days, except errors (they explain why a document is missing) whose file was
  never reprocessed with success. The bytes an attempt kept (ArquivoXML) go with it, unless a document,
  an event or another attempt still points at them: a stored document's XML lives as long as it does.
- APIRequestLog older than 30 days; ConsultaSEFAZ and ExecucaoDeTarefa older than 180 days.
- ContadorDeRequisicoes (the rate limiter's per-minute counters in the database) of the windows that
  ended over a minute ago. Each process's request log writer deletes them once a minute; this catches
  what no writer thread did (APIREQUESTLOG_ATIVO=false, APIREQUESTLOG_LOTE=1, idle processes).

How: each table is walked in primary-key order, FISCAL_LIMPEZA_LOTE rows per transaction. A batch is
"the next N deletable rows after the last key": one index range read finds the N-th key, one DELETE
removes the rows up to it under the same conditions. So a transaction never holds more than N rows'
locks (writers are never blocked for long, on SQLite nor PostgreSQL), nothing is loaded into Python
(memory stays flat whatever the table size), and a run interrupted halfway simply continues next time.
The walk stops at the first key past the retention cut (found once per table by a binary search over
the key: ids grow with time), so the recent rows, most of a large table, are never read. The
conditions on the date are always in the DELETE itself: a row is never deleted because of where its
key is, only a little late when its key is out of time order.

Then SQLite gets `VACUUM` (the file shrinks; it needs autocommit, so it is skipped inside a transaction
and can be turned off with FISCAL_LIMPEZA_VACUUM, as it rewrites the whole file and blocks writers
while it does) and PostgreSQL `ANALYZE` of the tables that shrank (planner statistics; the space itself
is made reusable by autovacuum, which a mass delete triggers).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.eventos.emissao import menor_id_de_evento
from core.limite.contadores import janelas_encerradas
from core.models import (
    APIRequestLog,
    ArquivoXML,
    ConsultaSEFAZ,
    ContadorDeRequisicoes,
    EnvioEmail,
    Evento,
    ExecucaoDeTarefa,
    ImportLog,
    WebhookLog,
)
from core.tenancy import todas_as_organizacoes

logger = logging.getLogger(__name__)

Status = WebhookLog.Status
PROGRESSO_SEGUNDOS = 5
PAUSA_MAXIMA_SEGUNDOS = 0.5


@dataclass(frozen=True)
class Tabela:
    nome: str
    linhas: QuerySet  # the deletable rows (every condition but the key range)
    teto: object  # exclusive upper bound of the keys to walk; None: nothing old at all
    # Deletes one batch inside its transaction and returns the rows deleted; default: one raw DELETE.
    apagar: Callable[[QuerySet, str, Limpeza], int] | None = None
    junto: tuple[str, ...] = ()  # tables `apagar` also deletes from (counted in Limpeza.por_tabela)
    chave: str = "pk"  # the indexed column the batches walk, growing with time; `teto` bounds it


@dataclass
class Limpeza:
    """What a run deleted (or, simulated, would delete), per table, and its longest transaction."""

    simulacao: bool = False
    por_tabela: dict[str, int] = field(default_factory=dict)
    lotes: int = 0
    maior_lote: int = 0  # rows
    maior_transacao_s: float = 0.0  # seconds
    espaco: str = ""

    def resumo(self) -> str:
        verbo = "seriam apagadas" if self.simulacao else "apagadas"
        partes = ", ".join(f"{nome} {_numero(n)}" for nome, n in self.por_tabela.items())
        texto = f"limpeza_logs{' (simulação)' if self.simulacao else ''}: linhas {verbo}: {partes}"
        if not self.simulacao:
            texto += f"; {self.lotes} lote(s), maior transação {self.maior_transacao_s * 1000:.0f} ms"
        return texto + (f"; {self.espaco}" if self.espaco else "") + "."


def limpeza_logs(*, simular: bool = False, escrever: Callable[[str], None] = lambda linha: None) -> str:
    return limpar_logs(simular=simular, escrever=escrever).resumo()


def limpar_logs(
    *, simular: bool = False, escrever: Callable[[str], None] = lambda linha: None, agora: datetime | None = None
) -> Limpeza:
    agora, lote = agora or timezone.now(), settings.FISCAL_LIMPEZA_LOTE
    limpeza = Limpeza(simulacao=simular)
    # Built one at a time: each table's cut is found after the previous one was cleaned, so the
    # events freed by the webhook logs just deleted go in the same run.
    for montar in (_webhooks, _emails, _eventos, _importacoes, _requisicoes, _contadores, _consultas, _execucoes):
        tabela = montar(agora)
        if simular:  # (events that the webhook logs' deletion would free are not counted: nothing is deleted)
            antigas = tabela.linhas.filter(**{f"{tabela.chave}__lt": tabela.teto}) if tabela.teto else None
            limpeza.por_tabela[tabela.nome] = antigas.count() if antigas is not None else 0
            escrever(f"limpeza_logs (simulação): {tabela.nome}: {_numero(limpeza.por_tabela[tabela.nome])}")
        else:
            limpeza.por_tabela.update(dict.fromkeys((tabela.nome, *tabela.junto), 0))
            limpeza.por_tabela[tabela.nome] = _apagar_em_lotes(tabela, lote, limpeza, escrever)
    if not simular and any(limpeza.por_tabela.values()):
        limpeza.espaco = _recuperar_espaco(limpeza)
    return limpeza


# --- What each table keeps ------------------------------------------------------------------------


def _corte(agora: datetime, configuracao: str) -> datetime:
    return agora - timedelta(days=getattr(settings, configuracao))


def _webhooks(agora: datetime) -> Tabela:
    corte, todas = _corte(agora, "FISCAL_RETENCAO_WEBHOOKS_DIAS"), todas_as_organizacoes(WebhookLog)
    em_andamento = todas.filter(evento_id=OuterRef("evento_id"), webhook_id=OuterRef("webhook_id"),
                                status__in=(Status.PENDENTE, Status.ENTREGANDO))  # fmt: skip
    linhas = todas.filter(criado_em__lt=corte, status__in=(Status.SUCESSO, Status.FALHA, Status.DESISTIU))
    return Tabela("WebhookLog", linhas.filter(~Exists(em_andamento)), _teto(todas, "criado_em", corte))


def _emails(agora: datetime) -> Tabela:
    corte, todas = _corte(agora, "FISCAL_RETENCAO_WEBHOOKS_DIAS"), todas_as_organizacoes(EnvioEmail)
    concluidos = (EnvioEmail.Status.ENVIADO, EnvioEmail.Status.PULADO, EnvioEmail.Status.FALHOU)
    linhas = todas.filter(status__in=concluidos, criado_em__lt=corte, atualizado_em__lt=corte)
    return Tabela("EnvioEmail", linhas, _teto(todas, "criado_em", corte))


def _eventos(agora: datetime) -> Tabela:
    corte = _corte(agora, "FISCAL_RETENCAO_EVENTOS_DIAS")
    referenciados = todas_as_organizacoes(WebhookLog).filter(evento_id=OuterRef("pk"))
    linhas = todas_as_organizacoes(Evento).filter(criado_em__lt=corte).filter(~Exists(referenciados))
    # Event ids are ULIDs: their first characters are the creation time, so the cut is a key too.
    return Tabela("Evento", linhas, menor_id_de_evento(corte))


def _importacoes(agora: datetime) -> Tabela:
    corte, todas = _corte(agora, "FISCAL_RETENCAO_IMPORTACOES_DIAS"), todas_as_organizacoes(ImportLog)
    # Every reprocess points at the first attempt: one success among them and the file is accounted for.
    resolvida = todas.filter(reprocessado_de=Coalesce(OuterRef("reprocessado_de"), OuterRef("pk")),
                             status__in=(ImportLog.Status.SUCESSO, ImportLog.Status.DUPLICADO))  # fmt: skip
    linhas = todas.filter(criado_em__lt=corte).filter(~Q(status=ImportLog.Status.ERRO) | Exists(resolvida))
    return Tabela("ImportLog", linhas, _teto(todas, "criado_em", corte), _apagar_importacoes, ("ArquivoXML",))


def _apagar_importacoes(alvo: QuerySet, banco: str, limpeza: Limpeza) -> int:
    todas = todas_as_organizacoes(ImportLog)
    # Fixed first: unlinking the later runs below changes which errors count as resolved.
    linhas = list(alvo.values_list("pk", "organizacao_id", "xml_id", "chave"))  # at most one batch
    if not linhas:
        return 0
    alvo = todas.filter(pk__in=[pk for pk, *_ in linhas])
    guardados = [(org, xml_id, chave) for _, org, xml_id, chave in linhas if xml_id is not None]
    # The later runs of a file outlive its first attempt: they lose the link, never their row.
    todas.filter(reprocessado_de__in=alvo).update(reprocessado_de=None)
    apagadas = alvo._raw_delete(banco)
    soltos = _arquivos_soltos(guardados)
    arquivos = todas_as_organizacoes(ArquivoXML).filter(pk__in=soltos)._raw_delete(banco) if soltos else 0
    limpeza.por_tabela["ArquivoXML"] += arquivos
    return apagadas


def _arquivos_soltos(guardados: list[tuple[int, int, str]]) -> set[int]:
    """The files kept by the attempts just deleted that nothing points at any more.

    A document or event shares the file of the attempt that stored it, which carries its chave: looking
    only at the rows of those chaves keeps the check on the (organizacao, chave) indexes (the `arquivo`
    foreign keys have no index of their own). Any other model pointing at ArquivoXML is checked in full.
    """
    candidatos = {xml_id for _, xml_id, _ in guardados}
    if not candidatos:
        return set()
    organizacoes, chaves = {org for org, _, _ in guardados}, {chave for _, _, chave in guardados if chave}
    presos = set(todas_as_organizacoes(ImportLog).filter(xml_id__in=candidatos).values_list("xml_id", flat=True))
    for campo in ArquivoXML._meta.get_fields(include_hidden=True):
        if not (campo.one_to_many and campo.related_model is not ImportLog):
            continue
        nome = campo.field.attname
        linhas = todas_as_organizacoes(campo.related_model).filter(**{f"{nome}__in": candidatos - presos})
        if any(f.name == "chave" for f in campo.related_model._meta.concrete_fields):
            linhas = linhas.filter(organizacao_id__in=organizacoes, chave__in=chaves)
        presos |= set(linhas.values_list(nome, flat=True))
    return candidatos - presos


def _requisicoes(agora: datetime) -> Tabela:
    corte, todas = _corte(agora, "FISCAL_RETENCAO_REQUISICOES_DIAS"), APIRequestLog.objects.all()
    return Tabela("APIRequestLog", todas.filter(criado_em__lt=corte), _teto(todas, "criado_em", corte))


def _contadores(agora: datetime) -> Tabela:
    # Walked by window end, not by the primary key (a text key): each batch takes whole windows.
    corte = janelas_encerradas(agora.timestamp())
    teto = corte.order_by("-fim_da_janela").values_list("fim_da_janela", flat=True).first()
    return Tabela("ContadorDeRequisicoes", corte, None if teto is None else teto + 1, chave="fim_da_janela")


def _consultas(agora: datetime) -> Tabela:
    corte, todas = _corte(agora, "FISCAL_RETENCAO_CONSULTAS_SEFAZ_DIAS"), todas_as_organizacoes(ConsultaSEFAZ)
    return Tabela("ConsultaSEFAZ", todas.filter(criada_em__lt=corte), _teto(todas, "criada_em", corte))


def _execucoes(agora: datetime) -> Tabela:
    corte, todas = _corte(agora, "FISCAL_RETENCAO_EXECUCOES_DIAS"), ExecucaoDeTarefa.objects.all()
    return Tabela("ExecucaoDeTarefa", todas.filter(iniciada_em__lt=corte), _teto(todas, "iniciada_em", corte))


def _teto(todas: QuerySet, campo: str, corte: datetime) -> int | None:
    """An exclusive bound on the keys of the rows older than `corte`; None when the oldest row is newer.

    Binary search over the integer key, each step one index lookup (~20 for a million rows), which
    needs no index on the date. It assumes ids grow with time, as they do (rows get their date when
    inserted, give or take the seconds a batch waits); a row out of order is only cleaned a run later.
    """
    ordenadas = todas.order_by("pk").values_list("pk", campo)
    primeira, ultima = ordenadas.first(), todas.order_by("-pk").values_list("pk", campo).first()
    if primeira is None or primeira[1] >= corte:
        return None
    if ultima[1] < corte:
        return ultima[0] + 1
    velha, nova = primeira[0], ultima[0]  # an old row's key; every row from `nova` on is recent
    while nova - velha > 1:
        meio = (velha + nova) // 2
        linha = ordenadas.filter(pk__gte=meio, pk__lt=nova).first()
        if linha is not None and linha[1] < corte:
            velha = linha[0]
        else:  # nothing in [meio, nova), or the first row there is already recent
            nova = meio
    return nova


# --- Deleting -------------------------------------------------------------------------------------


def _apagar_em_lotes(tabela: Tabela, lote: int, limpeza: Limpeza, escrever: Callable[[str], None]) -> int:
    if tabela.teto is None:
        return 0
    modelo = tabela.linhas.model
    banco = router.db_for_write(modelo)
    pausar = connections[banco].vendor == "sqlite"
    total, ultima_chave, aviso = 0, None, time.monotonic() + PROGRESSO_SEGUNDOS
    chave = tabela.chave
    while True:
        depois = tabela.linhas if ultima_chave is None else tabela.linhas.filter(**{f"{chave}__gt": ultima_chave})
        # The key of the lote-th deletable row: read outside the transaction, from the key index.
        proximas = depois.filter(**{f"{chave}__lt": tabela.teto}).order_by(chave).values_list(chave, flat=True)
        fim = list(proximas[lote - 1 : lote])
        # One lower and one upper bound on the key, never two of either: SQLite would pick the bound up
        # to `teto` and read every remaining old row at each batch.
        alvo = depois.filter(**{f"{chave}__lte": fim[0]}) if fim else depois.filter(**{f"{chave}__lt": tabela.teto})
        with transaction.atomic(using=banco):
            inicio = time.monotonic()  # after BEGIN (IMMEDIATE on SQLite: the wait for the lock is not ours)
            # One DELETE ... WHERE, no row loaded: QuerySet.delete() would load every row of the batch
            # to look for dependants (Evento has WebhookLog). Nothing depends on a row matched here: the
            # foreign keys into these tables are WebhookLog.evento, and an event goes only when no
            # WebhookLog refers to it, and ImportLog.reprocessado_de, which _apagar_importacoes clears
            # first (tests/tarefas keeps that list honest). _raw_delete is the ORM's own fast path,
            # private but unchanged for years.
            apagadas = tabela.apagar(alvo, banco, limpeza) if tabela.apagar else alvo._raw_delete(banco)
        duracao = time.monotonic() - inicio  # the COMMIT included
        limpeza.maior_transacao_s = max(limpeza.maior_transacao_s, duracao)
        if apagadas:
            limpeza.lotes += 1
            limpeza.maior_lote = max(limpeza.maior_lote, apagadas)
        total += apagadas
        if not fim:
            break
        if pausar:
            # SQLite has one writer at a time, and a writer kept waiting polls (every 100 ms once it has
            # waited a while): back-to-back batches would leave it no gap and starve the application for
            # seconds. Resting as long as the batch held the lock gives every waiting writer its turn.
            time.sleep(min(duracao, PAUSA_MAXIMA_SEGUNDOS))
        ultima_chave = fim[0]
        if time.monotonic() >= aviso:
            escrever(f"limpeza_logs: {tabela.nome}: {_numero(total)} linha(s) apagada(s) até agora...")
            aviso = time.monotonic() + PROGRESSO_SEGUNDOS
    if total:
        logger.info("limpeza_logs: %s: %d linha(s) apagada(s)", tabela.nome, total)
    return total


def _recuperar_espaco(limpeza: Limpeza) -> str:
    conexao = connections[router.db_for_write(APIRequestLog)]
    inicio = time.monotonic()
    if conexao.vendor == "sqlite":
        if not settings.FISCAL_LIMPEZA_VACUUM:
            return "VACUUM desligado (FISCAL_LIMPEZA_VACUUM)"
        if conexao.in_atomic_block:
            return "VACUUM pulado (dentro de uma transação)"
        with conexao.cursor() as cursor:
            cursor.execute("VACUUM")
        return f"VACUUM em {time.monotonic() - inicio:.1f} s"
    if conexao.vendor == "postgresql":
        modelos = {"WebhookLog": WebhookLog, "EnvioEmail": EnvioEmail, "Evento": Evento, "ImportLog": ImportLog, "ArquivoXML": ArquivoXML,
                   "APIRequestLog": APIRequestLog, "ContadorDeRequisicoes": ContadorDeRequisicoes,
                   "ConsultaSEFAZ": ConsultaSEFAZ,
                   "ExecucaoDeTarefa": ExecucaoDeTarefa}  # fmt: skip
        tabelas = [modelos[nome]._meta.db_table for nome, n in limpeza.por_tabela.items() if n]
        with conexao.cursor() as cursor:
            for tabela in tabelas:
                cursor.execute(f"ANALYZE {conexao.ops.quote_name(tabela)}")
        return f"ANALYZE de {len(tabelas)} tabela(s) em {time.monotonic() - inicio:.1f} s"
    return ""


def _numero(valor: int) -> str:
    return f"{valor:,}".replace(",", ".")
