"""An import whose process dies between batches: what its committed batches stored is still e-mailed.

"Dies" here: the import's generator is left after its first batch committed and never reaches its end
(the end that queues the recipients' rows is what a dead process never runs); it is closed at the end of
each test with that end switched off, as a killed process would have it.
"""

import contextvars
import os
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from core.documentos.importacao import Entrada, importar
from core.geracao.documentos import gerar_nfe
from core.models import EnvioEmail, NFe, Origem
from core.notifications.fila import GRACA_DA_IMPORTACAO
from core.notifications.formatacao import formatar_chave
from core.tenancy import escopo

from .conftest import destinatarios

pytestmark = pytest.mark.django_db


class Importacao:
    """An import run batch by batch in its own context (its lote label stays out of the test's)."""

    def __init__(self, org, documentos, tamanho_lote):
        entradas = [Entrada(f"{d.chave}.xml", d.xml) for d in documentos]
        self.contexto = contextvars.copy_context()
        self.gerador = importar(organizacao=org, entradas=entradas, origem=Origem.PASTA, tamanho_lote=tamanho_lote)

    def proximos(self, quantos):
        return [self.contexto.run(next, self.gerador) for _ in range(quantos)]

    def ate_o_fim(self):
        return self.contexto.run(list, self.gerador)

    def morrer(self, monkeypatch):
        monkeypatch.setattr("core.notifications.agrupamento._enfileirar", lambda organizacao, lote: None)
        self.contexto.run(self.gerador.close)


def enviar_emails(agora=None, monkeypatch=None):
    """The cron task, at `agora` (the clock moved forward)."""
    if agora is not None:
        monkeypatch.setattr(timezone, "now", lambda: agora)
    call_command("run_scheduled_tasks", "--task", "enviar_emails", stdout=StringIO())


def marcas(org):
    return escopo(EnvioEmail, org).filter(usuario__isnull=True, endereco="")


def nfes(emissor, quantidade):
    return [gerar_nfe(certificado=emissor, numero=n, itens=1) for n in range(1, quantidade + 1)]


def test_an_import_that_dies_after_its_first_batch_is_emailed_after_the_grace_period(
    org, dona, emissor, mailoutbox, monkeypatch
):
    # given: a 12-document import whose process dies once its first batch of 5 committed
    documentos = nfes(emissor, 12)
    importacao = Importacao(org, documentos, tamanho_lote=5)
    assert [r.status for r in importacao.proximos(5)] == ["sucesso"] * 5
    importacao.morrer(monkeypatch)
    assert escopo(NFe, org).count() == 5
    [marca] = marcas(org)
    assert marca.status == "pendente" and escopo(EnvioEmail, org).count() == 1  # no recipient's row yet

    # when: the cron task runs at once, then after the grace period
    enviar_emails()
    assert mailoutbox == []  # an import may still be running: its e-mails wait
    enviar_emails(timezone.now() + GRACA_DA_IMPORTACAO + timedelta(seconds=1), monkeypatch)

    # then: one digest covering exactly the committed documents
    assert destinatarios(mailoutbox) == ["dona@alfa.com.br"]
    [email] = mailoutbox
    assert email.subject == "Importação concluída: 5 NF-e"
    assert all(formatar_chave(d.chave) in email.body for d in documentos[:5])
    assert not any(formatar_chave(d.chave) in email.body for d in documentos[5:])
    assert not marcas(org).exists()
    enviar_emails(timezone.now() + timedelta(hours=1), monkeypatch)
    assert len(mailoutbox) == 1  # once


def test_a_small_dead_import_sends_each_document_as_before(org, dona, emissor, mailoutbox, monkeypatch):
    documentos = nfes(emissor, 6)
    importacao = Importacao(org, documentos, tamanho_lote=2)
    importacao.proximos(2)
    importacao.morrer(monkeypatch)

    enviar_emails(timezone.now() + GRACA_DA_IMPORTACAO + timedelta(seconds=1), monkeypatch)

    # Up to FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL (3 in these tests), one e-mail per document.
    assert sorted(e.subject for e in mailoutbox) == [
        "NF-e 1 importada — DISTRIBUIDORA AURORA LTDA", "NF-e 2 importada — DISTRIBUIDORA AURORA LTDA",
    ]  # fmt: skip


def test_a_mark_due_while_its_import_still_records_events_waits_for_the_end(
    org, dona, emissor, mailoutbox, monkeypatch
):
    # given: a long import, its first batch written longer ago than the grace period, its last one just now
    importacao = Importacao(org, nfes(emissor, 12), tamanho_lote=5)
    importacao.proximos(5)
    marcas(org).update(proxima_tentativa_em=timezone.now() - timedelta(seconds=1))

    # when: the sender finds the mark due
    enviar_emails()

    # then: nothing is sent while the import records events; the mark waits a grace period after the last one
    assert mailoutbox == []
    [marca] = marcas(org)
    assert marca.status == "pendente" and marca.proxima_tentativa_em > timezone.now() + GRACA_DA_IMPORTACAO - timedelta(minutes=1)
    # and the import's own end sends the one digest of all of it
    importacao.ate_o_fim()
    assert not marcas(org).exists()
    enviar_emails()
    assert [e.subject for e in mailoutbox] == ["Importação concluída: 12 NF-e"]
    enviar_emails(timezone.now() + GRACA_DA_IMPORTACAO + timedelta(seconds=1), monkeypatch)
    assert len(mailoutbox) == 1


def test_an_import_that_ends_leaves_no_mark(org, dona, emissor, mailoutbox):
    importacao = Importacao(org, nfes(emissor, 12), tamanho_lote=5)
    importacao.ate_o_fim()

    assert not marcas(org).exists()
    assert list(escopo(EnvioEmail, org).values_list("tipo", "usuario")) == [("resumo_importacao", dona.pk)]


@pytest.mark.django_db(transaction=True)
def test_a_parallel_folder_import_shares_one_mark_that_its_end_deletes(org, dona, emissor, tmp_path, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("precisa de PostgreSQL: o banco SQLite dos testes fica em memória, invisível a outros processos")
    monkeypatch.setattr("core.documentos.lote.ARQUIVOS_POR_TAREFA", 4)  # several workers' batches, one lote
    for documento in nfes(emissor, 20):
        (tmp_path / f"{documento.chave}.xml").write_bytes(documento.xml)

    call_command("importar_xml", str(tmp_path), "--organizacao", org.slug, "--processos", "3", "--sem-progresso",
                 stdout=StringIO())  # fmt: skip

    assert escopo(NFe, org).count() == 20
    assert not marcas(org).exists()
    assert list(escopo(EnvioEmail, org).values_list("tipo", "usuario")) == [("resumo_importacao", dona.pk)]


def test_an_import_that_ends_while_the_sender_holds_its_mark_is_queued_once(org, dona, emissor, mailoutbox, monkeypatch):
    from core.notifications.envio import reivindicar
    from core.notifications.fila import retomar_importacao

    # given: the sender claimed the mark of an import that looked dead (no event for the grace period)...
    importacao = Importacao(org, nfes(emissor, 12), tamanho_lote=5)
    importacao.proximos(5)
    depois = timezone.now() + GRACA_DA_IMPORTACAO + timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: depois)
    [marca] = reivindicar(10)
    # ...and the import then reaches its end
    importacao.ate_o_fim()

    # when: the sender goes on with the mark it holds
    assert retomar_importacao(marca) is False

    # then: the end's e-mails only, once
    enviar_emails()
    assert [e.subject for e in mailoutbox] == ["Importação concluída: 12 NF-e"]
    assert not marcas(org).exists()


@pytest.mark.django_db(transaction=True)
def test_a_killed_import_process_is_emailed_from_what_it_committed(org, dona, emissor, mailoutbox, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("precisa de PostgreSQL: o banco SQLite dos testes fica em memória, invisível a outros processos")
    documentos = nfes(emissor, 12)
    # given: a child process that imports and is gone (os._exit: no finally, no atexit) after its first batch
    connections.close_all()  # the child opens its own connection
    pid = os.fork()
    if pid == 0:
        try:
            importacao = Importacao(org, documentos, tamanho_lote=5)  # held: a collected generator would end
            importacao.proximos(5)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert escopo(NFe, org).count() == 5 and marcas(org).count() == 1

    # when: the cron task runs after the grace period
    enviar_emails(timezone.now() + GRACA_DA_IMPORTACAO + timedelta(seconds=1), monkeypatch)

    # then: one digest of exactly the five committed documents
    [email] = mailoutbox
    assert email.subject == "Importação concluída: 5 NF-e" and email.to == ["dona@alfa.com.br"]
    assert all(formatar_chave(d.chave) in email.body for d in documentos[:5])
    assert not any(formatar_chave(d.chave) in email.body for d in documentos[5:])
