"""From "a document was imported" to e-mails: one by one, or one digest per import.

The document receivers call `registrar()`. Inside `notificacoes_agrupadas(organizacao)` (an upload, a
folder import, a SEFAZ run) the items are buffered (thread-local) and sent when the block ends: per
recipient, the few items as individual e-mails (at most FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL), or
else one digest. Outside any block an item is e-mailed at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from core.eventos.emissao import novo_id_de_evento
from core.models import Evento, Organizacao
from core.tenancy import escopo

from .formatacao import campo
from .preferencias import destinatarios
from .resumo import ITENS_POR_TIPO, TIPOS_INDIVIDUAIS, ResumoImportacao
from .servico import NotificationService

logger = logging.getLogger(__name__)

TIPOS_DE_DOCUMENTO = ("nfe_importada", "cte_importado", "documento_atualizado")
_local = threading.local()


@dataclass(eq=False)
class Agrupamento:
    """The buffer of one import of one organization (or, with `organizacao=None`, a muzzle)."""

    organizacao: Organizacao | None
    resumo: ResumoImportacao = field(default_factory=ResumoImportacao)
    aguardando_commit: bool = False  # the block ended inside a transaction: sends when it commits
    commit_iniciado: bool = False  # its transaction is committing: the documents' signals run now
    descartar: bool = False  # worker processes of a parallel import: the parent tells everything

    def serve_para(self, organizacao: Organizacao) -> bool:
        return self.descartar or (self.organizacao is not None and self.organizacao.pk == organizacao.pk)

    def marcar_commit(self) -> None:
        self.commit_iniciado = True

    def enviar(self) -> None:
        _remover(self)
        if not self.descartar and self.resumo.total:
            enviar_resumo(self.organizacao, self.resumo)


def _pilha() -> list[Agrupamento]:
    if not hasattr(_local, "pilha"):
        _local.pilha = []
    return _local.pilha


def _remover(agrupamento: Agrupamento) -> None:
    pilha = _pilha()
    if agrupamento in pilha:
        pilha.remove(agrupamento)


def _ativo(organizacao: Organizacao) -> Agrupamento | None:
    for agrupamento in list(reversed(_pilha())):
        if agrupamento.aguardando_commit and not _commit_pendente(agrupamento):
            _remover(agrupamento)  # its transaction rolled back: nothing of it will ever be sent
            continue
        if agrupamento.serve_para(organizacao):
            return agrupamento
    return None


def _commit_pendente(agrupamento: Agrupamento) -> bool:
    # Django drops the on-commit callbacks of a transaction that rolls back; there is no rollback
    # hook, so a buffer waiting for a commit checks whether its callback is still queued. While the
    # commit runs its callbacks, Django has already moved them out of `run_on_commit`: the marker
    # queued when the block started (it runs first) says the commit is under way.
    if agrupamento.commit_iniciado:
        return True
    conexao = transaction.get_connection()
    return any(getattr(funcao, "__self__", None) is agrupamento for _, funcao, *_ in conexao.run_on_commit)


@contextmanager
def notificacoes_agrupadas(organizacao: Organizacao):
    """Buffer the notifications of `organizacao` until the block ends, then send them grouped.

    Nested blocks of the same organization share the outermost one. A block that ends inside a
    transaction (a caller's `atomic()`, a test) sends when that transaction commits, after the
    documents' own on-commit signals, and nothing if it rolls back.
    """
    atual = _ativo(organizacao)
    if atual is not None and not atual.aguardando_commit:  # an open outer block, or a muzzle: it decides
        yield atual
        return
    # A block that ended but waits for the commit queued its sending BEFORE the signals of this new
    # block: this one goes on top, receives every later item (both blocks' signals run at the same
    # commit) and sends last, so nothing is lost, told twice or sent early.
    agrupamento = Agrupamento(organizacao, ResumoImportacao(itens_por_tipo=_itens_por_tipo()))
    _pilha().append(agrupamento)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(agrupamento.marcar_commit)
    try:
        yield agrupamento
    finally:
        if transaction.get_connection().in_atomic_block:
            agrupamento.aguardando_commit = True
            transaction.on_commit(agrupamento.enviar)
        else:
            agrupamento.enviar()


@contextmanager
def notificacoes_suprimidas():
    """Nothing is e-mailed from this block (the workers of a parallel import; the parent tells all)."""
    agrupamento = Agrupamento(None, descartar=True)
    _pilha().append(agrupamento)
    try:
        yield
    finally:
        _remover(agrupamento)


def registrar(organizacao: Organizacao, tipo: str, dados: dict) -> None:
    """One thing to tell `organizacao`'s members: `nfe_importada`, `cte_importado`, `nfe_atualizada`,
    `cte_atualizado` or `erro_importacao`, with its event summary. Never raises."""
    try:
        agrupamento = _ativo(organizacao)
        if agrupamento is not None:
            if not agrupamento.descartar:
                agrupamento.resumo.adicionar(tipo, dados)
            return
        if tipo not in TIPOS_INDIVIDUAIS:
            return  # an update alone has no e-mail of its own; only digests count it
        resumo = ResumoImportacao(itens_por_tipo=_itens_por_tipo())
        resumo.adicionar(tipo, dados)
        enviar_resumo(organizacao, resumo)
    except Exception:
        logger.exception("notificações: falha ao registrar %s da organização %s", tipo, organizacao.pk)


def enviar_resumo(organizacao: Organizacao, resumo: ResumoImportacao) -> None:
    """Per recipient: the items one by one when they are few, else one digest. Never raises."""
    try:
        limite = settings.FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL
        pessoas = destinatarios(organizacao)
        servico = NotificationService(preferencias={d.usuario.pk: d.preferencia for d in pessoas})
        metodos = {
            "nfe_importada": servico.notificar_nfe_importada,
            "cte_importado": servico.notificar_cte_importado,
            "erro_importacao": servico.notificar_erro_importacao,
        }
        with servico.conexao():
            for pessoa in pessoas:
                visivel = resumo.para(pessoa.preferencia)
                if visivel.total > limite:
                    servico.enviar_resumo_importacao(pessoa.usuario, visivel)
                    continue
                for tipo, item in visivel.individuais():
                    metodos[tipo](pessoa.usuario, item)
    except Exception:
        logger.exception("notificações: falha ao enviar as notificações da organização %s", organizacao.pk)


def _itens_por_tipo() -> int:
    # Individual e-mails are made from the listed items, so at least that many must be kept.
    return max(ITENS_POR_TIPO, settings.FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL)


# --- Imports whose documents were stored by other processes ---------------------------------------


def marco_de_eventos() -> str:
    """An event id that every event created from now on sorts after (same clock, zero random part)."""
    agora = novo_id_de_evento()
    return agora[: len("evt_") + 10] + "0" * 16  # 10 characters of milliseconds, 16 of randomness


def registrar_eventos_gravados(organizacao: Organizacao, *, desde: str, chaves: Iterable[str], erros: Iterable) -> None:
    """Tell what other processes imported: their stored events (after `desde`) of `chaves`, and `erros`.

    Worker processes of a parallel import stay silent (`notificacoes_suprimidas`); the parent calls
    this once they are done. Filtering by the import's own keys leaves out what a concurrent import
    of the same organization stored meanwhile (it sends its own e-mails).
    """
    chaves = set(chaves)
    eventos = (
        escopo(Evento, organizacao)
        .filter(id__gt=desde, tipo__in=TIPOS_DE_DOCUMENTO)
        .order_by("id")
        .values_list("tipo", "payload")
    )
    for tipo, payload in eventos.iterator(chunk_size=1000) if chaves else ():
        dados = payload.get("dados") or {}
        if dados.get("chave") in chaves:
            registrar(organizacao, tipo_do_evento(tipo, dados), dados)
    for erro in erros:
        dados = {nome: campo(erro, nome, "") for nome in ("arquivo", "chave", "tipo_xml", "origem", "mensagem")}
        registrar(organizacao, "erro_importacao", dados)


def tipo_do_evento(tipo: str, dados: dict) -> str:
    """The notification kind of a document event (an update is told apart by its model)."""
    if tipo != "documento_atualizado":
        return tipo
    return "cte_atualizado" if str(dados.get("modelo")) in ("57", "67") else "nfe_atualizada"
