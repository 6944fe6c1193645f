"""Imports end to end: which e-mails each member gets, and when (after commit, grouped, never raising)."""

import logging
from io import StringIO
import smtplib
import socket
from email import message_from_bytes, policy
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from core.notifications.envio import reenviar

from core.documentos.importacao import Entrada, importar, importar_bytes
from core.geracao.documentos import gerar_cte, gerar_nfe
from core.models import EnvioEmail, NFe, Origem
from core.notifications import atualizar_preferencias, notificacoes_agrupadas
from core.notifications.formatacao import formatar_chave
from core.tenancy import escopo

from .conftest import criar_membro, destinatarios, enviar_fila, html

FILEBASED = "django.core.mail.backends.filebased.EmailBackend"


def entradas(documentos, quebrados=0):
    lista = [Entrada(f"{d.chave}.xml", d.xml) for d in documentos]
    return lista + [Entrada(f"quebrado-{n}.xml", b"<nfeProc") for n in range(quebrados)]


def importar_tudo(org, documentos, quebrados=0, origem=Origem.UPLOAD):
    return list(importar(organizacao=org, entradas=entradas(documentos, quebrados), origem=origem))


def nfes(emissor, quantidade, inicio=1):
    return [gerar_nfe(certificado=emissor, numero=n, itens=1) for n in range(inicio, inicio + quantidade)]


def arquivos_de_email(pasta: Path) -> list:
    """Every message the file backend wrote (one file per connection, messages separated by dashes)."""
    partes = [parte for p in sorted(pasta.iterdir()) for parte in p.read_bytes().split(b"-" * 79 + b"\n")]
    return [message_from_bytes(parte, policy=policy.default) for parte in partes if parte.strip()]


def texto_de(mensagem) -> str:
    return mensagem.get_body(("plain",)).get_content()


class Desfazer(Exception):
    pass


# -- one document, one e-mail per member ------------------------------------------------------


@pytest.mark.django_db
def test_importing_an_nfe_emails_every_member_after_the_commit(
    org, dona, colega, estranho, emissor, mailoutbox, django_capture_on_commit_callbacks
):
    # given
    documento = gerar_nfe(certificado=emissor, numero=4321)
    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        importar_bytes(organizacao=org, nome="nota.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
    assert mailoutbox == []  # the import sends nothing itself: it queues
    for callback in callbacks:
        callback()
    assert mailoutbox == []
    enviar_fila()  # the worker / the cron task
    # then
    assert destinatarios(mailoutbox) == ["colega@alfa.com.br", "dona@alfa.com.br"]
    assert {e.subject for e in mailoutbox} == {"NF-e 4321 importada — DISTRIBUIDORA AURORA LTDA"}
    assert formatar_chave(documento.chave) in mailoutbox[0].body
    assert formatar_chave(documento.chave) in html(mailoutbox[0])


@pytest.mark.django_db
def test_the_file_backend_writes_the_email_of_an_imported_nfe(
    org, dona, emissor, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = FILEBASED
    settings.EMAIL_FILE_PATH = str(tmp_path)
    documento = gerar_nfe(certificado=emissor, numero=98765)

    with django_capture_on_commit_callbacks(execute=True):
        importar_bytes(organizacao=org, nome="nota.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
    enviar_fila()

    [mensagem] = arquivos_de_email(tmp_path)
    assert mensagem["To"] == "dona@alfa.com.br"
    assert mensagem["Subject"] == "NF-e 98765 importada — DISTRIBUIDORA AURORA LTDA"
    texto = texto_de(mensagem)
    assert "98765" in texto and "DISTRIBUIDORA AURORA LTDA" in texto and "11.222.333/0001-81" in texto
    assert "DISTRIBUIDORA AURORA LTDA" in mensagem.get_body(("html",)).get_content()


@pytest.mark.django_db
def test_a_cte_and_a_failed_file_are_emailed_too(
    org, dona, transportadora, mailoutbox, django_capture_on_commit_callbacks
):
    cte = gerar_cte(certificado=transportadora, numero=77)
    arquivos = [Entrada("cte.xml", cte.xml), Entrada("ruim.xml", b"<nada/>")]

    with django_capture_on_commit_callbacks(execute=True):
        list(importar(organizacao=org, entradas=arquivos, origem=Origem.UPLOAD))
    enviar_fila()

    assert sorted(e.subject for e in mailoutbox) == [
        "CT-e 77 importado — TRANSPORTES RAPIDO SUL LTDA",
        "Erro ao importar ruim.xml",
    ]


# -- preferences and tenants -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_member_who_turned_a_notification_off_gets_none(
    org, dona, colega, emissor, mailoutbox, django_capture_on_commit_callbacks
):
    atualizar_preferencias(usuario=colega, organizacao=org, campos={"nfe_importada": False})

    with django_capture_on_commit_callbacks(execute=True):
        importar_tudo(org, nfes(emissor, 2))
    enviar_fila()

    assert destinatarios(mailoutbox) == ["dona@alfa.com.br", "dona@alfa.com.br"]


@pytest.mark.django_db
def test_inactive_members_and_members_without_address_are_skipped(
    org, dona, emissor, mailoutbox, django_capture_on_commit_callbacks
):
    criar_membro(org, "inativo@alfa.com.br", is_active=False)
    criar_membro(org, "")

    with django_capture_on_commit_callbacks(execute=True):
        importar_tudo(org, nfes(emissor, 1))
    enviar_fila()

    assert destinatarios(mailoutbox) == ["dona@alfa.com.br"]


@pytest.mark.django_db
def test_another_organizations_members_never_receive_anything(
    org, outra_org, dona, estranho, emissor, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        importar_tudo(org, nfes(emissor, 1))
    enviar_fila()
    with django_capture_on_commit_callbacks(execute=True):
        importar_tudo(org, nfes(emissor, 10, inicio=100), quebrados=1)
    enviar_fila()

    assert "dono@beta.com.br" not in destinatarios(mailoutbox)
    assert destinatarios(mailoutbox) == ["dona@alfa.com.br"] * 2

    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        importar_tudo(outra_org, nfes(emissor, 1, inicio=500))
    enviar_fila()
    assert destinatarios(mailoutbox) == ["dono@beta.com.br"]


# -- bulk imports: one digest ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_bulk_import_sends_one_digest_per_recipient(
    org, dona, colega, estranho, emissor, mailoutbox, django_capture_on_commit_callbacks
):
    documentos = nfes(emissor, 25)

    with django_capture_on_commit_callbacks(execute=True):
        resultados = importar_tudo(org, documentos, quebrados=2)
    enviar_fila()

    assert [r.status for r in resultados].count("sucesso") == 25
    assert destinatarios(mailoutbox) == ["colega@alfa.com.br", "dona@alfa.com.br"]
    email = mailoutbox[0]
    assert email.subject == "Importação concluída: 25 NF-e, 2 erro(s)"
    for texto in (email.body, html(email)):
        assert "25" in texto and "quebrado-0.xml" in texto and "quebrado-1.xml" in texto
        assert formatar_chave(documentos[0].chave) in texto  # the first ones are listed...
        assert formatar_chave(documentos[-1].chave) not in texto  # ...not all of them
        assert "e mais 5" in texto
        assert "https://fiscal.exemplo.com.br/api/importacoes/" in texto


@pytest.mark.django_db
def test_up_to_the_limit_each_document_is_its_own_email(
    org, dona, emissor, mailoutbox, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        importar_tudo(org, nfes(emissor, 3))
    enviar_fila()
    assert [e.subject for e in mailoutbox] == [f"NF-e {n} importada — DISTRIBUIDORA AURORA LTDA" for n in (1, 2, 3)]

    mailoutbox.clear()
    settings.FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL = 2
    with django_capture_on_commit_callbacks(execute=True):
        importar_tudo(org, nfes(emissor, 3, inicio=10))
    enviar_fila()
    assert [e.subject for e in mailoutbox] == ["Importação concluída: 3 NF-e"]


@pytest.mark.django_db
def test_the_choice_between_digest_and_single_emails_is_per_recipient(
    org, dona, colega, emissor, mailoutbox, django_capture_on_commit_callbacks
):
    # Carla only wants errors: of a 20-document import with one error she hears about the error alone.
    atualizar_preferencias(usuario=colega, organizacao=org, campos={"nfe_importada": False})

    with django_capture_on_commit_callbacks(execute=True):
        importar_tudo(org, nfes(emissor, 20), quebrados=1)
    enviar_fila()

    por_pessoa = {e.to[0]: e.subject for e in mailoutbox}
    assert len(mailoutbox) == 2
    assert por_pessoa == {
        "dona@alfa.com.br": "Importação concluída: 20 NF-e, 1 erro(s)",
        "colega@alfa.com.br": "Erro ao importar quebrado-0.xml",
    }


@pytest.mark.django_db
def test_updates_are_counted_in_a_digest_but_have_no_email_of_their_own(
    org, dona, emissor, mailoutbox, django_capture_on_commit_callbacks
):
    documentos = nfes(emissor, 5)
    with django_capture_on_commit_callbacks(execute=True):
        importar_tudo(org, documentos)
    enviar_fila()
    mailoutbox.clear()

    cancelamento = [Entrada("canc.xml", _cancelamento(emissor, documentos[0]))]
    with django_capture_on_commit_callbacks(execute=True):
        list(importar(organizacao=org, entradas=cancelamento, origem=Origem.UPLOAD))
    enviar_fila()
    assert mailoutbox == []

    with django_capture_on_commit_callbacks(execute=True), notificacoes_agrupadas(org):
        importar_tudo(org, nfes(emissor, 4, inicio=50))
        cancelamento = [Entrada("c2.xml", _cancelamento(emissor, documentos[1]))]
        list(importar(organizacao=org, entradas=cancelamento, origem=Origem.UPLOAD))
    enviar_fila()
    [email] = mailoutbox
    assert email.subject == "Importação concluída: 4 NF-e, 1 atualizado(s)"
    assert "Cancelada" in email.body


def _cancelamento(emissor, documento) -> bytes:
    from core.geracao.documentos import gerar_evento_nfe

    return gerar_evento_nfe(certificado=emissor, chave=documento.chave, tipo_evento="110111").xml


# -- after commit only -------------------------------------------------------------------------


@pytest.mark.django_db
def test_imports_that_commit_together_are_told_one_by_one(
    org, dona, emissor, mailoutbox, django_capture_on_commit_callbacks
):
    # Each import is told on its own (its lote), even when both commit in one transaction.
    with django_capture_on_commit_callbacks(execute=True):
        importar_tudo(org, nfes(emissor, 1))
        importar_tudo(org, nfes(emissor, 10, inicio=100), quebrados=1)
    enviar_fila()

    assert sorted(e.subject for e in mailoutbox) == [
        "Importação concluída: 10 NF-e, 1 erro(s)", "NF-e 1 importada — DISTRIBUIDORA AURORA LTDA",
    ]


@pytest.mark.django_db
def test_a_rolled_back_import_sends_nothing_and_does_not_muffle_the_next_one(
    org, dona, emissor, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(Desfazer), transaction.atomic():
            importar_tudo(org, nfes(emissor, 5))
            raise Desfazer
    enviar_fila()
    assert mailoutbox == [] and not escopo(NFe, org).exists()

    with django_capture_on_commit_callbacks(execute=True):
        importar_tudo(org, nfes(emissor, 1, inicio=90))
    enviar_fila()
    assert [e.subject for e in mailoutbox] == ["NF-e 90 importada — DISTRIBUIDORA AURORA LTDA"]


@pytest.mark.django_db(transaction=True)
def test_with_real_transactions_nothing_is_sent_on_rollback_and_everything_on_commit(org, dona, emissor, mailoutbox):
    with pytest.raises(Desfazer), transaction.atomic():
        importar_tudo(org, nfes(emissor, 2))
        raise Desfazer
    assert enviar_fila() == 0 and mailoutbox == []

    importar_tudo(org, nfes(emissor, 2, inicio=20))
    enviar_fila()
    assert [e.subject for e in mailoutbox] == [f"NF-e {n} importada — DISTRIBUIDORA AURORA LTDA" for n in (20, 21)]


# -- a failing mail server --------------------------------------------------------------------


class BackendQuebrado:
    """Stand-in for an SMTP server that accepts the connection and then fails every message."""

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, mensagens):
        raise smtplib.SMTPDataError(451, b"4.3.0 Mail server temporarily rejected message")


def porta_fechada() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db
@pytest.mark.parametrize("servidor", ["rejeita", "fora_do_ar"])
def test_a_failing_mail_server_keeps_the_emails_queued_until_it_is_back(
    org, dona, colega, emissor, settings, caplog, servidor, django_capture_on_commit_callbacks
):
    from django.core import mail

    settings.EMAIL_RETRY_SCHEDULE = "60,300"
    if servidor == "rejeita":
        settings.EMAIL_BACKEND = "tests.notificacoes.test_importacao_emails.BackendQuebrado"
    else:  # a real SMTP backend pointed at a port nobody listens on
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", porta_fechada(), 2
        settings.EMAIL_HOST_PASSWORD = "senha-secreta-do-smtp"

    # given: the import succeeds whatever the mail server does, and the worker finds it down
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        resultados = importar_tudo(org, nfes(emissor, 2))
        tentados = enviar_fila()

    assert [r.status for r in resultados] == ["sucesso", "sucesso"]
    assert escopo(NFe, org).count() == 2
    fila = escopo(EnvioEmail, org)
    assert set(fila.values_list("status", flat=True)) == {"pendente"}
    if servidor == "rejeita":  # each message refused: each counts an attempt
        assert tentados == 4 and set(fila.values_list("tentativas", flat=True)) == {1}
    else:  # nobody listening: the rest of the batch is not tried against the same dead server
        assert tentados == 1 and sorted(fila.values_list("tentativas", flat=True)) == [0, 0, 0, 1]
    assert all(e.proxima_tentativa_em > timezone.now() + timedelta(seconds=50) for e in fila)
    erros = "".join(fila.values_list("erro", flat=True))
    assert "senha-secreta-do-smtp" not in caplog.text + erros
    assert "alfa.com.br" not in caplog.text + erros  # no addresses in logs or in the row
    assert enviar_fila() == 0  # not due before its time

    # when: the server is back and the retry is due
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    fila.update(proxima_tentativa_em=timezone.now())
    enviar_fila()

    # then: each e-mail went out once
    esperados = [f"NF-e {n} importada — DISTRIBUIDORA AURORA LTDA" for n in (1, 2)] * 2
    assert sorted(e.subject for e in mail.outbox) == sorted(esperados)
    assert set(fila.values_list("status", flat=True)) == {"enviado"}
    assert enviar_fila() == 0 and len(mail.outbox) == 4


@pytest.mark.django_db
def test_after_the_last_retry_the_email_is_failed_and_the_admin_action_queues_it_again(
    org, dona, emissor, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.EMAIL_RETRY_SCHEDULE = "60"
    settings.EMAIL_BACKEND = "tests.notificacoes.test_importacao_emails.BackendQuebrado"
    with django_capture_on_commit_callbacks(execute=True):
        importar_tudo(org, nfes(emissor, 1))
    fila = escopo(EnvioEmail, org)
    enviar_fila()
    fila.update(proxima_tentativa_em=timezone.now())
    enviar_fila()
    [envio] = fila
    assert (envio.status, envio.tentativas) == ("falhou", 2) and "SMTPDataError" in envio.erro
    fila.update(proxima_tentativa_em=timezone.now())
    assert enviar_fila() == 0

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert reenviar(fila) == 1
    enviar_fila()
    assert [e.subject for e in mailoutbox] == ["NF-e 1 importada — DISTRIBUIDORA AURORA LTDA"]


@pytest.mark.django_db
def test_a_process_that_dies_before_sending_leaves_its_emails_in_the_queue(
    org, dona, emissor, mailoutbox, django_capture_on_commit_callbacks
):
    # An import whose process ends right after its commit: no thread, no callback sends anything.
    with django_capture_on_commit_callbacks(execute=False):
        importar_tudo(org, nfes(emissor, 1))
    [envio] = escopo(EnvioEmail, org)
    assert (envio.status, envio.tipo, envio.usuario_id) == ("pendente", "nfe_importada", dona.pk)
    assert mailoutbox == []

    # A worker or the cron task, in another process later, finds it; a claimed row whose worker died
    # (its lease expired) is claimed again.
    escopo(EnvioEmail, org).update(status="enviando", lease_expira_em=timezone.now() - timedelta(seconds=1))
    call_command("run_scheduled_tasks", "--task", "enviar_emails", stdout=StringIO())
    assert [e.subject for e in mailoutbox] == ["NF-e 1 importada — DISTRIBUIDORA AURORA LTDA"]
    call_command("webhook_worker", stdout=StringIO())
    assert len(mailoutbox) == 1  # at most once


# -- the upload API and the folder command --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_upload_request_sends_one_digest(nova_org, org, colega, emissor, mailoutbox):
    from django.core.files.uploadedfile import SimpleUploadedFile

    cliente = APIClient()
    cliente.credentials(HTTP_AUTHORIZATION=f"Token {nova_org.token}")
    arquivos = [SimpleUploadedFile(f"{d.chave}.xml", d.xml, "application/xml") for d in nfes(emissor, 6)]

    resposta = cliente.post("/api/importar/", {"arquivos": arquivos}, format="multipart")

    assert resposta.status_code == 200 and resposta.json()["resumo"]["sucesso"] == 6
    assert mailoutbox == []  # no SMTP inside the request: the e-mails wait in the queue
    enviar_fila()
    assert destinatarios(mailoutbox) == ["colega@alfa.com.br", "dona@alfa.com.br"]
    assert {e.subject for e in mailoutbox} == {"Importação concluída: 6 NF-e"}


@pytest.mark.django_db
def test_the_folder_command_sends_one_digest_for_the_whole_run(
    org, dona, emissor, tmp_path, mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("core.documentos.lote.ARQUIVOS_POR_TAREFA", 7)  # several blocks, still one run
    for documento in nfes(emissor, 20):
        (tmp_path / f"{documento.chave}.xml").write_bytes(documento.xml)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("importar_xml", str(tmp_path), "--organizacao", org.slug, "--sem-progresso", stdout=StringIO())
    enviar_fila()

    assert [e.subject for e in mailoutbox] == ["Importação concluída: 20 NF-e"]


@pytest.mark.django_db(transaction=True)
def test_a_multi_process_import_sends_one_digest_from_the_parent(org, dona, colega, emissor, tmp_path, settings):
    if connection.vendor != "postgresql":
        pytest.skip("precisa de PostgreSQL: o banco SQLite dos testes fica em memória, invisível a outros processos")
    # The file backend shows the workers' e-mails too, were they to send any.
    pasta, caixa = tmp_path / "xmls", tmp_path / "emails"
    pasta.mkdir()
    settings.EMAIL_BACKEND, settings.EMAIL_FILE_PATH = FILEBASED, str(caixa)
    documentos = nfes(emissor, 30)
    for documento in documentos:
        (pasta / f"{documento.chave}.xml").write_bytes(documento.xml)
    (pasta / "quebrado.xml").write_bytes(b"<nfeProc")

    with pytest.raises(CommandError):  # one file has an error
        call_command("importar_xml", str(pasta), "--organizacao", org.slug, "--processos", "3", "--sem-progresso",
                     stdout=StringIO(), stderr=StringIO())  # fmt: skip
    enviar_fila()

    assert escopo(NFe, org).count() == 30
    mensagens = arquivos_de_email(caixa)
    assert sorted(m["To"] for m in mensagens) == ["colega@alfa.com.br", "dona@alfa.com.br"]
    for mensagem in mensagens:
        assert mensagem["Subject"].strip() == "Importação concluída: 30 NF-e, 1 erro(s)"
        assert "quebrado.xml" in texto_de(mensagem) and "DISTRIBUIDORA AURORA LTDA" in texto_de(mensagem)


@pytest.mark.django_db(transaction=True)
def test_an_import_inside_a_callers_transaction_still_sends_one_digest(org, emissor, settings):
    """A real commit: Django moves the on-commit callbacks out of the connection before running them,
    which once made every document's signal think its group had rolled back (one e-mail per NF-e)."""
    from django.core import mail

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL = 3
    entradas = [Entrada(f"{n}.xml", gerar_nfe(certificado=emissor, numero=n).xml) for n in range(1, 7)]
    with transaction.atomic():
        list(importar(organizacao=org, entradas=entradas, origem=Origem.SEFAZ))
        assert mail.outbox == []
    enviar_fila()

    assert len(mail.outbox) == 1 and "6" in mail.outbox[0].subject
