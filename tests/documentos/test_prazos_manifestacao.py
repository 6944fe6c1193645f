"""prazos_manifestacao: each NF-e near its manifestation deadline is announced once (event and e-mail),
whatever the number of runs, also two at once (PostgreSQL)."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from core.certificados import cadastrar_certificado
from core.documentos.importacao import importar_bytes
from core.documentos.prazos_manifestacao import avisar_prazos_de_manifestacao
from core.geracao.documentos import gerar_evento_nfe, gerar_nfe
from core.models import Evento, NFe, Origem
from core.tenancy import escopo
from tests.notificacoes.conftest import enviar_fila

SENHA = "senha-do-a1"
DESTINATARIO = "61585865000151"


def preparar(org, emissor, a1_destinatario):
    """NF-e 1 and 2 due (5 and 8 days left), 3 not yet (30 days), 4 confirmed, 5 issued to someone else."""
    cadastrar_certificado(org, a1_destinatario.pfx(SENHA.encode()), SENHA, uf="41", servicos=["nfe"])
    idades = {1: 175, 2: 172, 3: 150, 4: 175, 5: 175}
    notas = {n: gerar_nfe(certificado=emissor, numero=n, destinatario_documento="19131243000197" if n == 5 else DESTINATARIO,
                          data_emissao=timezone.now() - timedelta(days=dias)) for n, dias in idades.items()}  # fmt: skip
    confirmacao = gerar_evento_nfe(certificado=a1_destinatario, chave=notas[4].chave, tipo_evento="210200")
    for documento in (*notas.values(), confirmacao):
        importar_bytes(organizacao=org, nome="d.xml", conteudo=documento.xml, origem=Origem.SEFAZ)
    return notas


def avisos(org):
    return [e.payload["dados"] for e in escopo(Evento, org).filter(tipo="manifestacao_pendente").order_by("id")]


@pytest.mark.django_db
def test_it_announces_each_due_nfe_once_by_event_and_email(org, emissor, a1_destinatario, capsys,
                                                           django_capture_on_commit_callbacks):  # fmt: skip
    # given
    notas = preparar(org, emissor, a1_destinatario)
    enviar_fila()  # the imports' own e-mails
    mail.outbox.clear()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_scheduled_tasks", "--task=prazos_manifestacao")
    enviar_fila()

    # then: one event per due NF-e, with its deadline; one e-mail to the member listing both
    assert "prazos_manifestacao: 2 NF-e avisada(s)." in capsys.readouterr().out
    assert sorted(a["numero"] for a in avisos(org)) == [1, 2]
    assert {a["manifestacao"]["situacao"] for a in avisos(org)} == {"nenhuma"}
    assert sorted(a["manifestacao"]["dias_restantes"] for a in avisos(org)) in ([4, 7], [4, 8], [5, 8], [5, 7])
    [email] = mail.outbox
    assert email.to == ["dona@alfa.com.br"] and "2 NF-e sem manifestação conclusiva" in email.subject
    assert notas[1].chave[:4] in email.body and "/admin/core/nfe/?manifestacao_pendente=sim" in email.body
    assert escopo(NFe, org).filter(prazo_manifestacao_avisado_em__isnull=False).count() == 2

    # when: again
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_scheduled_tasks", "--task=prazos_manifestacao")
    enviar_fila()

    # then: nothing new
    assert "prazos_manifestacao: 0 NF-e avisada(s)." in capsys.readouterr().out
    assert len(avisos(org)) == 2 and len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_dry_run_says_what_it_would_do_and_changes_nothing(org, emissor, a1_destinatario, capsys, settings):
    settings.FISCAL_AVISO_PRAZO_MANIFESTACAO_DIAS = 40
    preparar(org, emissor, a1_destinatario)

    call_command("run_scheduled_tasks", "--task=prazos_manifestacao", "--dry-run")

    assert "3 NF-e seria(m) avisada(s)" in capsys.readouterr().out
    assert avisos(org) == [] and not escopo(NFe, org).filter(prazo_manifestacao_avisado_em__isnull=False).exists()


@pytest.mark.django_db
def test_another_organization_is_told_only_about_its_own(org, outra_org, emissor, a1_destinatario):
    preparar(org, emissor, a1_destinatario)

    avisar_prazos_de_manifestacao()

    assert len(avisos(org)) == 2 and avisos(outra_org) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_announce_each_nfe_once(org, emissor, a1_destinatario, settings):
    if connection.vendor != "postgresql":
        pytest.skip("precisa de PostgreSQL: duas transações disputando as mesmas linhas")
    settings.FISCAL_AVISO_PRAZO_MANIFESTACAO_DIAS = 40
    preparar(org, emissor, a1_destinatario)
    enviar_fila()  # the imports' own e-mails
    mail.outbox.clear()
    largada, contagens = threading.Barrier(4), []

    def rodar():
        try:
            largada.wait()
            contagens.append(avisar_prazos_de_manifestacao())
        finally:
            connection.close()

    threads = [threading.Thread(target=rodar) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    enviar_fila()

    assert sum(contagens) == 3
    assert sorted(a["numero"] for a in avisos(org)) == [1, 2, 3]
    assert len(mail.outbox) == len([c for c in contagens if c])  # one e-mail per run that claimed NF-e
