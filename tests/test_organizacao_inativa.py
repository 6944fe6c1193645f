"""A deactivated organization (`Organizacao.ativa = False`): its API answers 403 with one message, its
scheduled SEFAZ capture and certificate alerts stop, and its webhook deliveries wait, pending, until it
is reactivated, when they go out once. The admin side is in tests/admin/test_papeis.py."""

import logging
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction

from api.permissoes import ORGANIZACAO_INATIVA
from core.certificados import cadastrar_certificado
from core.certificados.vencimento import avisar_certificados_vencendo
from core.eventos.emissao import disparar_webhook
from core.models import Organizacao, WebhookLog
from core.tenancy import escopo
from core.webhooks.entrega import entregar_pendentes
from core.webhooks.gestao import criar_webhook
from tests.api.conftest import cliente_com_token
from tests.api.test_isolamento import rotas_get_da_api
from tests.webhooks.receptor import Receptor

pytestmark = pytest.mark.django_db

SENHA = "senha-do-a1"
Status = WebhookLog.Status


def desativar(organizacao, ativa=False):
    Organizacao.objects.filter(pk=organizacao.pk).update(ativa=ativa)


# --- API ------------------------------------------------------------------------------------------


def test_every_api_route_answers_403_with_one_clear_message(nova_org, org):
    api = cliente_com_token(nova_org.usuario)
    desativar(org)

    rotas = [
        re.sub(r"<[^>]+>|\(\?P<[^>]+>[^)]*\)", "1", re.sub(r"\(\?P<chave>[^)]*\)", "3" * 44, caminho))
        for caminho, _nome in rotas_get_da_api()
    ]
    escritas = [("post", "/api/importar/"), ("post", "/api/webhooks/"), ("patch", "/api/notificacoes/preferencias/"),
                ("post", "/api/nfes/manifestar/"), ("post", "/api/certificados/1/consultar/")]  # fmt: skip
    for metodo, caminho in [("get", r) for r in rotas] + escritas:
        resposta = getattr(api, metodo)(caminho, {}, format="json")
        assert resposta.status_code == 403, (caminho, resposta.status_code)
        assert resposta.json() == {"erro": ORGANIZACAO_INATIVA, "detalhes": {}}, caminho
    assert len(rotas) >= 20 and "contate o suporte" in ORGANIZACAO_INATIVA


def test_reactivated_the_api_answers_again(nova_org, org):
    api = cliente_com_token(nova_org.usuario)
    desativar(org)
    assert api.get("/api/nfes/").status_code == 403

    desativar(org, ativa=True)

    assert api.get("/api/nfes/").status_code == 200


def test_the_403_costs_no_more_queries_than_an_answer(nova_org, org, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api = cliente_com_token(nova_org.usuario)
    with CaptureQueriesContext(connection) as ativa:
        api.get("/api/webhooks/")
    desativar(org)

    with django_assert_max_num_queries(len(ativa.captured_queries)):
        assert api.get("/api/webhooks/").status_code == 403


def test_another_organization_is_not_affected(nova_org, org, outra_org):
    from core.models import Membro

    desativar(org)

    outra = cliente_com_token(Membro.objects.get(organizacao=outra_org).usuario)
    assert outra.get("/api/nfes/").status_code == 200


# --- SEFAZ capture and certificate alerts ---------------------------------------------------------


@pytest.fixture
def certificado(org, a1_destinatario):
    return cadastrar_certificado(org, a1_destinatario.pfx(SENHA.encode()), SENHA, uf="41", servicos=["nfe"],
                                 consulta_automatica=True)  # fmt: skip


def test_the_scheduled_capture_skips_it_and_resumes_on_reactivation(sim, org, certificado, emissor, capsys, caplog):
    from tests.sefaz.test_distribuicao import DESTINATARIO, notas

    sim.publicar(DESTINATARIO, "nfe", notas(emissor, 1)[0].xml)
    desativar(org)

    with caplog.at_level(logging.INFO, logger="core.sefaz.agenda"):
        call_command("run_scheduled_tasks", "--task=consultas_sefaz")

    assert sim.chamadas == [] and "0 certificado(s) consultado(s)" in capsys.readouterr().out
    avisos = [r.getMessage() for r in caplog.records if "inativa" in r.getMessage()]
    assert avisos == [f"consultas_sefaz: organização(ões) inativa(s) fora da captura: {org.slug}"]
    call_command("run_scheduled_tasks", "--task=consultas_sefaz", "--dry-run")
    assert "0 certificado(s) seria(m) consultado(s)" in capsys.readouterr().out

    desativar(org, ativa=True)
    call_command("run_scheduled_tasks", "--task=consultas_sefaz")

    assert "1 certificado(s) consultado(s), 1 documento(s)" in capsys.readouterr().out


def test_certificate_alerts_wait_for_reactivation(org, certificado):
    fim = certificado.validade_fim
    desativar(org)

    assert avisar_certificados_vencendo(agora=fim - timedelta(days=20)) == 0

    desativar(org, ativa=True)
    assert avisar_certificados_vencendo(agora=fim - timedelta(days=20)) == 1


# --- Webhook deliveries ---------------------------------------------------------------------------


@pytest.fixture
def receptor(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_RETRY_SCHEDULE = "0,0,0"
    r = Receptor()
    yield r
    r.fechar()


def test_deliveries_are_held_pending_and_go_out_once_on_reactivation(org, outra_org, receptor, settings):
    settings.WEBHOOK_ENTREGA_IMEDIATA = False
    criar_webhook(org, nome="ERP", url=receptor.url)
    criar_webhook(outra_org, nome="ERP da outra", url=receptor.url)
    desativar(org)
    with transaction.atomic():
        disparar_webhook("teste", {"mensagem": "retida"}, org)
        disparar_webhook("teste", {"mensagem": "da outra"}, outra_org)

    entregar_pendentes(limite=100)  # the worker

    retida = escopo(WebhookLog, org).get()
    assert (retida.status, retida.tentativa, retida.codigo_http, retida.erro) == (Status.PENDENTE, 1, None, "")
    assert [corpo for corpo, _ in receptor.recebidos] and all(b"da outra" in c for c, _ in receptor.recebidos)
    assert len(receptor.recebidos) == 1
    call_command("run_scheduled_tasks", "--task=entregar_webhooks", "--dry-run")  # nothing due for it

    desativar(org, ativa=True)
    entregar_pendentes(limite=100)
    entregar_pendentes(limite=100)

    retida.refresh_from_db()
    assert retida.status == Status.SUCESSO
    assert sum(b"retida" in corpo for corpo, _ in receptor.recebidos) == 1


def test_the_immediate_delivery_skips_it_too(org, receptor, settings):
    settings.WEBHOOK_ENTREGA_IMEDIATA = False
    criar_webhook(org, nome="ERP", url=receptor.url)
    desativar(org)
    with transaction.atomic():
        disparar_webhook("teste", {"mensagem": "retida"}, org)
    log = escopo(WebhookLog, org).get()

    assert entregar_pendentes(limite=10, ids=[log.pk]) == 0  # what the after-commit delivery runs

    log.refresh_from_db()
    assert log.status == Status.PENDENTE and receptor.recebidos == []


# --- The other per-organization tasks ---------------------------------------------------------------


def test_the_daily_report_and_the_manifestation_deadlines_skip_it(org, emissor, a1_destinatario):
    from core.documentos.prazos_manifestacao import avisar_prazos_de_manifestacao
    from core.models import Evento, RelatorioEnviado
    from core.tarefas.relatorios import enviar_relatorios
    from tests.documentos.test_prazos_manifestacao import preparar

    preparar(org, emissor, a1_destinatario)  # two NF-e near their deadline
    desativar(org)

    assert avisar_prazos_de_manifestacao() == 0
    enviar_relatorios()
    assert not escopo(Evento, org).filter(tipo="manifestacao_pendente").exists()
    assert not RelatorioEnviado.objects.filter(organizacao=org).exists()

    desativar(org, ativa=True)
    assert avisar_prazos_de_manifestacao() == 2
