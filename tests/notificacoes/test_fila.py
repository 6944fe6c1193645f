"""The e-mail queue itself (issue 14, point 1): rows, claims, preferences at send time, tenants, imports."""

import ast
import threading
from pathlib import Path

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection, connections
from django.utils import timezone

from core.models import EnvioEmail, Organizacao, TipoDeEmail
from core.notifications import atualizar_preferencias
from core.notifications.fila import enfileirar
from core.tenancy import escopo, todas_as_organizacoes

from .conftest import criar_membro, enviar_fila

RAIZ = Path(__file__).resolve().parents[2]


# --- The import cycle is gone ------------------------------------------------------------------------


def _modulos_importados(caminho: Path, nome: str) -> set[str]:
    """Every `core...` module `caminho` imports, at module level or inside a function."""
    pacote = nome if caminho.name == "__init__.py" else nome.rsplit(".", 1)[0]
    importados = set()
    for no in ast.walk(ast.parse(caminho.read_text())):
        if isinstance(no, ast.Import):
            importados |= {alias.name for alias in no.names}
        elif isinstance(no, ast.ImportFrom):
            base = no.module or ""
            if no.level:
                partes = pacote.split(".")
                base = ".".join(partes[: len(partes) - no.level + 1] + ([base] if base else []))
            importados.add(base)
            importados |= {f"{base}.{alias.name}" for alias in no.names}  # a submodule, when it is one
    return {m for m in importados if m.split(".")[0] == "core"}


def _arquivo(modulo: str) -> Path | None:
    base = RAIZ.joinpath(*modulo.split("."))
    for candidato in (base.with_suffix(".py"), base / "__init__.py"):
        if candidato.exists():
            return candidato
    return None


def alcancaveis(inicio: str) -> set[str]:
    vistos, fila = set(), [inicio]
    while fila:
        modulo = fila.pop()
        arquivo = _arquivo(modulo)
        if modulo in vistos or arquivo is None:
            continue
        vistos.add(modulo)
        fila += _modulos_importados(arquivo, modulo)
    return vistos


def test_recording_an_event_imports_neither_the_e_mail_code_nor_the_webhook_delivery():
    # The old cycle: emissao -> webhooks.entrega -> notifications -> agrupamento -> emissao.
    alcancados = alcancaveis("core.eventos.emissao")

    assert "core.eventos.ids" in alcancados  # the walk does follow imports
    assert not {m for m in alcancados if m.startswith(("core.notifications", "core.webhooks"))}


def test_disabling_a_webhook_reaches_the_e_mail_code_only_through_an_event():
    assert not {m for m in alcancaveis("core.webhooks.entrega") if m.startswith("core.notifications")}


# --- Rows ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_email_cannot_be_queued_twice(org, dona, colega):
    # given
    enfileirar(org, TipoDeEmail.RESUMO_DIARIO, "2026-11-19", [dona, colega], dados={"dia": "2026-11-19"})
    # when: a retried task queues it again
    enfileirar(org, TipoDeEmail.RESUMO_DIARIO, "2026-11-19", [dona, colega], dados={"dia": "2026-11-19"})
    enviar_fila()
    # then
    assert escopo(EnvioEmail, org).count() == 2
    assert sorted(e.to[0] for e in mail.outbox) == [colega.email, dona.email]


@pytest.mark.django_db
def test_a_member_who_turns_the_notice_off_before_it_is_sent_gets_nothing(org, dona, colega, emissor):
    from core.documentos.importacao import importar_bytes
    from core.geracao.documentos import gerar_nfe
    from core.models import Origem

    importar_bytes(organizacao=org, nome="n.xml", conteudo=gerar_nfe(certificado=emissor, numero=7).xml,
                   origem=Origem.UPLOAD)  # fmt: skip
    atualizar_preferencias(usuario=colega, organizacao=org, campos={"nfe_importada": False})

    enviar_fila()

    assert [e.to for e in mail.outbox] == [[dona.email]]
    assert escopo(EnvioEmail, org).get(usuario=colega).status == EnvioEmail.Status.PULADO


@pytest.mark.django_db
def test_an_inactive_organizations_emails_wait_until_it_is_reactivated(org, dona, emissor):
    from core.documentos.importacao import importar_bytes
    from core.geracao.documentos import gerar_nfe
    from core.models import Origem

    importar_bytes(organizacao=org, nome="n.xml", conteudo=gerar_nfe(certificado=emissor, numero=8).xml,
                   origem=Origem.UPLOAD)  # fmt: skip
    Organizacao.objects.filter(pk=org.pk).update(ativa=False)

    assert enviar_fila() == 0
    assert escopo(EnvioEmail, org).get().status == EnvioEmail.Status.PENDENTE  # not sent, not dropped

    Organizacao.objects.filter(pk=org.pk).update(ativa=True)
    assert enviar_fila() == 1
    assert [e.to for e in mail.outbox] == [[dona.email]]


@pytest.mark.django_db
def test_a_capture_problem_reaches_every_member_and_the_extra_addresses(org, dona, colega):
    from datetime import timedelta

    from core.certificados import atualizar_configuracao, configuracao_da_organizacao
    from core.notifications.avisos import avisar_problema_certificado
    from tests.tarefas.conftest import certificado

    cert = certificado(org, timezone.now() + timedelta(days=300))
    atualizar_configuracao(configuracao_da_organizacao(org), destinatarios=["fiscal@contabil.com.br", "dona@alfa.com.br"])

    assert avisar_problema_certificado(cert, "Certificado recusado pela SEFAZ") == 3
    assert mail.outbox == []  # queued, not sent
    enviar_fila()

    assert sorted(e.to[0] for e in mail.outbox) == ["colega@alfa.com.br", "dona@alfa.com.br", "fiscal@contabil.com.br"]
    assert all("Captura na SEFAZ parada" in e.subject for e in mail.outbox)


# --- Two workers never send the same row twice (PostgreSQL) ------------------------------------------


class CaixaCompartilhada(EmailBackend):
    """locmem, but every worker thread waits at a barrier before its first message, so both hold claims."""

    barreira: threading.Barrier | None = None
    enviados: list = []
    trava = threading.Lock()

    def send_messages(self, mensagens):
        if CaixaCompartilhada.barreira is not None:
            try:
                CaixaCompartilhada.barreira.wait(timeout=5)
            except threading.BrokenBarrierError:
                pass
        with CaixaCompartilhada.trava:
            CaixaCompartilhada.enviados += [m.to[0] for m in mensagens]
        return len(mensagens)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_send_each_email_once(org, settings):
    if connection.vendor != "postgresql":
        pytest.skip("precisa de PostgreSQL: duas conexões reivindicando ao mesmo tempo (roda no .ci/run)")
    # given: 40 queued e-mails to 40 members
    usuarios = [criar_membro(org, f"pessoa{n}@alfa.com.br") for n in range(40)]
    enfileirar(org, TipoDeEmail.RESUMO_DIARIO, "2026-11-19", usuarios, dados={"dia": "2026-11-19"})
    settings.EMAIL_BACKEND = f"{__name__}.CaixaCompartilhada"
    CaixaCompartilhada.barreira, CaixaCompartilhada.enviados = threading.Barrier(2), []

    # when: two workers claim and send at the same time
    def worker():
        from core.notifications.envio import enviar_pendentes

        try:
            while enviar_pendentes(limite=5):
                CaixaCompartilhada.barreira = None  # only the first messages wait for each other
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    # then
    assert sorted(CaixaCompartilhada.enviados) == sorted(u.email for u in usuarios)
    fila = todas_as_organizacoes(EnvioEmail).filter(organizacao=org)
    assert set(fila.values_list("status", "tentativas")) == {(EnvioEmail.Status.ENVIADO, 1)}


# --- Admin ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_lists_the_organizations_emails_and_queues_failed_ones_again(nova_org, org, outra_org, dona):
    from django.test import Client

    from core.models import Membro

    enfileirar(org, TipoDeEmail.RESUMO_DIARIO, "2026-11-19", [dona], dados={"dia": "2026-11-19"})
    estranho = Membro.objects.get(organizacao=outra_org).usuario
    enfileirar(outra_org, TipoDeEmail.RESUMO_DIARIO, "2026-11-19", [estranho], dados={"dia": "2026-11-19"})
    escopo(EnvioEmail, org).update(status=EnvioEmail.Status.FALHOU, tentativas=6, erro="SMTPServerDisconnected: x")
    [nosso] = escopo(EnvioEmail, org)
    cliente = Client()
    cliente.force_login(nova_org.usuario)

    lista = cliente.get("/admin/core/envioemail/")
    assert lista.status_code == 200
    assert [e.pk for e in lista.context["cl"].result_list] == [nosso.pk]  # never another organization's
    assert "SMTPServerDisconnected" in lista.content.decode()

    resposta = cliente.post("/admin/core/envioemail/", {"action": "reenviar_selecionados", "_selected_action": [nosso.pk]})
    assert resposta.status_code == 302
    nosso.refresh_from_db()
    assert (nosso.status, nosso.tentativas) == (EnvioEmail.Status.PENDENTE, 0)
    enviar_fila()
    assert dona.email in [e.to[0] for e in mail.outbox]
