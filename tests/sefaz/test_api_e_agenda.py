"""SEFAZ through the API (consultar, consultas, manifestar) and the scheduled tasks, against the simulator."""

from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from core.certificados import cadastrar_certificado
from core.certificados.vencimento import avisar_certificados_vencendo, limiar_atingido
from core.geracao.documentos import gerar_nfe
from core.models import CertificadoDigital, ConsultaSEFAZ, CursorDistribuicao, Evento, EventoDocumento, NFe
from core.tenancy import escopo
from tests.sefaz.test_distribuicao import DESTINATARIO, SENHA, notas, passar
from tests.notificacoes.conftest import enviar_fila

pytestmark = pytest.mark.django_db


@pytest.fixture
def certificado(org, a1_destinatario):
    return cadastrar_certificado(org, a1_destinatario.pfx(SENHA.encode()), SENHA, uf="41", servicos=["nfe", "cte"],
                                 consulta_automatica=True)  # fmt: skip


# --- POST /api/certificados/{id}/consultar/ -------------------------------------------------------


def test_consultar_runs_now_and_then_answers_429_with_the_allowed_time(api, sim, org, certificado, emissor):
    for nota in notas(emissor, 2):
        sim.publicar(DESTINATARIO, "nfe", nota.xml)
    url = f"/api/certificados/{certificado.pk}/consultar/"

    resposta = api.post(url, {}, format="json")

    assert resposta.status_code == 200, resposta.json()
    por_servico = {s["servico"]: s for s in resposta.json()["servicos"]}
    assert (por_servico["nfe"]["documentos"], por_servico["nfe"]["cstat"]) == (2, 138)
    assert (por_servico["nfe"]["importados"], por_servico["nfe"]["duplicados"], por_servico["nfe"]["erros"]) == (2, 0, 0)
    assert por_servico["cte"]["cstat"] == 137
    assert escopo(NFe, org).count() == 2

    bloqueada = api.post(url, {}, format="json")
    assert bloqueada.status_code == 429
    permitida_em = datetime.fromisoformat(bloqueada.json()["detalhes"]["permitida_em"])  # ISO 8601, with offset
    assert permitida_em.tzinfo is not None and permitida_em > timezone.now()
    assert int(bloqueada["Retry-After"]) > 3500
    assert len(sim.chamadas) == 2  # the 429 made no call


def test_consultar_a_certificate_with_a_problem_is_a_conflict(api, sim, org, certificado):
    escopo(CertificadoDigital, org).filter(pk=certificado.pk).update(problema="593: CNPJ-Base difere")

    resposta = api.post(f"/api/certificados/{certificado.pk}/consultar/", {}, format="json")

    assert resposta.status_code == 409 and "593" in resposta.json()["erro"]
    assert sim.chamadas == []


def test_consultar_only_the_services_asked(api, sim, certificado):
    resposta = api.post(f"/api/certificados/{certificado.pk}/consultar/", {"servicos": ["cte"]}, format="json")

    assert [s["servico"] for s in resposta.json()["servicos"]] == ["cte"]
    assert {c.servico for c in sim.chamadas} == {"cte"}
    assert api.post(f"/api/certificados/{certificado.pk}/consultar/", {"servicos": ["mdfe"]}, format="json").status_code == 400


def test_another_organization_cannot_query_with_my_certificate(api_outra, sim, certificado):
    assert api_outra.post(f"/api/certificados/{certificado.pk}/consultar/", {}, format="json").status_code == 404
    assert sim.chamadas == []


# --- GET /api/consultas/ --------------------------------------------------------------------------


def test_consultas_lists_every_call_with_filters(api, api_outra, sim, org, certificado, emissor):
    sim.publicar(DESTINATARIO, "nfe", notas(emissor, 1)[0].xml)
    execucao = api.post(f"/api/certificados/{certificado.pk}/consultar/", {}, format="json").json()["execucao"]

    todas = api.get("/api/consultas/").json()["results"]
    assert {(c["servico"], c["cstat"]) for c in todas} == {("nfe", 138), ("cte", 137)}
    assert all(c["execucao"] == execucao for c in todas)
    assert [c["cstat"] for c in api.get("/api/consultas/", {"servico": "nfe"}).json()["results"]] == [138]
    assert api.get("/api/consultas/", {"cstat": 656}).json()["results"] == []
    assert len(api.get("/api/consultas/", {"certificado": certificado.pk, "tipo": "distNSU"}).json()["results"]) == 2
    assert api.get("/api/consultas/", {"servico": "mdfe"}).status_code == 400
    assert api_outra.get("/api/consultas/").json()["results"] == []


# --- manifestar -----------------------------------------------------------------------------------


def test_manifestar_in_a_batch(api, sim, org, certificado, emissor):
    documentos = notas(emissor, 3)
    for nota in documentos:
        sim.publicar_para_destinatario(DESTINATARIO, nota.xml)
    api.post(f"/api/certificados/{certificado.pk}/consultar/", {"servicos": ["nfe"]}, format="json")
    chaves = [n.chave for n in documentos]

    resposta = api.post("/api/nfes/manifestar/", {"tipo": "nao_realizada", "chaves": chaves,
                                                   "justificativa": "mercadoria nunca foi encomendada"}, format="json")  # fmt: skip

    assert resposta.status_code == 200, resposta.json()
    assert [(r["chave"], r["registrada"]) for r in resposta.json()["resultados"]] == [(c, True) for c in chaves]
    assert escopo(EventoDocumento, org).filter(tipo_evento="210240").count() == 3
    assert escopo(ConsultaSEFAZ, org).filter(tipo="manifestacao").count() == 1  # one envEvento for the batch
    assert [e.tipo_evento for e in sim.eventos_registrados] == ["210240"] * 3


@pytest.mark.parametrize(
    ("corpo", "campo"),
    [
        ({"tipo": "nao_realizada"}, "justificativa"),
        ({"tipo": "nao_realizada", "justificativa": "curta"}, "justificativa"),
        ({"tipo": "ciencia", "justificativa": "não cabe justificativa aqui"}, "justificativa"),
        ({"tipo": "aprovar"}, "tipo"),
        ({"tipo": "ciencia", "certificado": 999999}, "certificado"),
    ],
)
def test_manifestar_refuses_bad_input(api, sim, org, certificado, emissor, importar_docs_sefaz, corpo, campo):
    chave = importar_docs_sefaz[0]

    resposta = api.post(f"/api/nfes/{chave}/manifestar/", corpo, format="json")

    assert resposta.status_code == 400 and campo in resposta.json()["detalhes"], resposta.json()
    assert sim.eventos_registrados == []


def test_manifestar_refuses_more_than_20_keys_and_unknown_keys(api, sim, certificado, importar_docs_sefaz, emissor):
    chave = importar_docs_sefaz[0]
    assert api.post("/api/nfes/manifestar/", {"tipo": "ciencia", "chaves": [chave] * 21}, format="json").status_code == 400
    outra = gerar_nfe(certificado=emissor, numero=999).chave
    resposta = api.post("/api/nfes/manifestar/", {"tipo": "ciencia", "chaves": [outra]}, format="json")
    assert resposta.status_code == 400 and "chaves" in resposta.json()["detalhes"]
    assert api.post(f"/api/nfes/{outra}/manifestar/", {"tipo": "ciencia"}, format="json").status_code == 404


def test_a_rejected_manifestation_is_reported_and_not_stored(api, sim, org, certificado, importar_docs_sefaz):
    chave = importar_docs_sefaz[0]
    api.post(f"/api/nfes/{chave}/manifestar/", {"tipo": "ciencia"}, format="json")

    repetida = api.post(f"/api/nfes/{chave}/manifestar/", {"tipo": "ciencia"}, format="json")
    assert repetida.status_code == 400 and "tipo" in repetida.json()["detalhes"]  # one ciência only: refused here
    sim.avancar(dias=181)  # SEFAZ's clock is past the deadline, ours is not
    recusada = api.post(f"/api/nfes/{chave}/manifestar/", {"tipo": "confirmacao"}, format="json").json()["resultados"][0]

    assert recusada["registrada"] is False and recusada["cstat"] == 596
    assert escopo(EventoDocumento, org).filter(tipo_evento__startswith="2102").count() == 1


@pytest.fixture
def importar_docs_sefaz(sim, org, certificado, emissor):
    """Keys of NF-e addressed to the certificate's CNPJ, already captured as summaries."""
    documentos = notas(emissor, 1)
    for nota in documentos:
        sim.publicar_para_destinatario(DESTINATARIO, nota.xml)
    from core.sefaz.distribuicao import consultar_certificado

    consultar_certificado(certificado, origem="agendada", servicos=["nfe"])
    sim.limpar_chamadas()
    return [n.chave for n in documentos]


# --- scheduled tasks ------------------------------------------------------------------------------


def test_consultas_sefaz_runs_due_certificates_only(sim, org, certificado, emissor, capsys):
    sim.publicar(DESTINATARIO, "nfe", notas(emissor, 1)[0].xml)

    call_command("run_scheduled_tasks", "--task=consultas_sefaz")
    assert "1 certificado(s) consultado(s), 1 documento(s)" in capsys.readouterr().out
    chamadas = len(sim.chamadas)

    call_command("run_scheduled_tasks", "--task=consultas_sefaz")  # inside the hour: nothing is due
    assert "0 certificado(s)" in capsys.readouterr().out and len(sim.chamadas) == chamadas

    passar(sim, org)
    call_command("run_scheduled_tasks", "--task=consultas_sefaz")
    assert "1 certificado(s) consultado(s)" in capsys.readouterr().out


def test_consultas_sefaz_counts_stored_duplicate_and_rejected_documents_per_certificate(sim, org, certificado,
                                                                                       emissor, capsys):  # fmt: skip
    from core.documentos.importacao import importar_bytes
    from core.models import ImportLog, Origem

    boa, ja_guardada = notas(emissor, 2)
    importar_bytes(organizacao=org, nome="antes.xml", conteudo=ja_guardada.xml, origem=Origem.UPLOAD)
    homologacao = gerar_nfe(certificado=emissor, numero=9, destinatario_documento=DESTINATARIO, ambiente=2)
    for xml in (boa.xml, ja_guardada.xml, homologacao.xml):
        sim.publicar(DESTINATARIO, "nfe", xml)

    call_command("run_scheduled_tasks", "--task=consultas_sefaz")

    saida = capsys.readouterr().out
    assert f"certificado {certificado.pk} ({DESTINATARIO}): 3 documento(s): 1 gravado(s), 1 duplicado(s), 1 com erro" in saida
    assert "1 certificado(s) consultado(s), 3 documento(s): 1 gravado(s), 1 duplicado(s), 1 com erro" in saida
    rejeitado = escopo(ImportLog, org).get(status="erro")
    assert rejeitado.nsu == 3 and "homologação" in rejeitado.mensagem


def test_consultas_sefaz_fails_when_every_sefaz_call_failed_so_cron_mails_someone(sim, org, certificado, capsys):
    from django.core.management.base import CommandError

    from core.models import ExecucaoDeTarefa

    sim.falhar_proximas(2, "http_503")  # both services of the certificate

    with pytest.raises(CommandError) as erro:
        call_command("run_scheduled_tasks", "--task=consultas_sefaz")

    assert erro.value.returncode == 1
    execucao = ExecucaoDeTarefa.objects.get(tarefa="consultas_sefaz")
    assert execucao.resultado == "falha" and "nenhuma chamada à SEFAZ teve resposta utilizável" in execucao.resumo
    assert "2 chamada(s) à SEFAZ, 2 sem resposta utilizável" in execucao.resumo


def test_consultas_sefaz_fails_when_every_document_received_was_refused(sim, org, certificado, emissor):
    from django.core.management.base import CommandError

    from core.models import ExecucaoDeTarefa, ImportLog

    for numero in (1, 2):  # homologação documents, refused by the import (FISCAL_ACEITAR_HOMOLOGACAO off)
        nota = gerar_nfe(certificado=emissor, numero=numero, destinatario_documento=DESTINATARIO, ambiente=2)
        sim.publicar(DESTINATARIO, "nfe", nota.xml)

    with pytest.raises(CommandError):
        call_command("run_scheduled_tasks", "--task=consultas_sefaz")

    resumo = ExecucaoDeTarefa.objects.get(tarefa="consultas_sefaz").resumo
    assert "todo documento recebido da SEFAZ foi recusado" in resumo and "0 gravado(s)" in resumo
    assert escopo(ImportLog, org).filter(status="erro", nsu__in=[1, 2]).count() == 2


def test_consultas_sefaz_succeeds_when_some_calls_were_answered(sim, org, certificado, capsys):
    sim.falhar_proximas(1, "http_503", servico="nfe")

    call_command("run_scheduled_tasks", "--task=consultas_sefaz")

    assert "2 chamada(s) à SEFAZ, 1 sem resposta utilizável" in capsys.readouterr().out


def test_consultas_sefaz_respects_the_certificate_interval(sim, org, certificado, capsys):
    from core.certificados import atualizar_certificado

    atualizar_certificado(certificado, intervalo_minutos=180)
    call_command("run_scheduled_tasks", "--task=consultas_sefaz")
    passar(sim, org, minutos=61)  # SEFAZ allows it, but the interval is 3 h
    capsys.readouterr()

    call_command("run_scheduled_tasks", "--task=consultas_sefaz")
    assert "0 certificado(s)" in capsys.readouterr().out
    passar(sim, org, minutos=120)
    call_command("run_scheduled_tasks", "--task=consultas_sefaz")
    assert "1 certificado(s)" in capsys.readouterr().out


def test_consultas_sefaz_skips_certificates_without_automation_or_with_problems(sim, org, certificado, capsys):
    from core.certificados import atualizar_certificado

    atualizar_certificado(certificado, consulta_automatica=False)
    call_command("run_scheduled_tasks", "--task=consultas_sefaz")
    escopo(CertificadoDigital, org).update(consulta_automatica=True, problema="593: errado")
    call_command("run_scheduled_tasks", "--task=consultas_sefaz")

    assert sim.chamadas == [] and not CursorDistribuicao.objects.exists()


@pytest.mark.parametrize(("dias", "limiar"), [(45, None), (30, 30), (29, 30), (15, 15), (8, 15), (7, 7), (1, 1), (0, 1)])
def test_limiar_atingido(dias, limiar):
    assert limiar_atingido(dias) == limiar


def test_certificados_vencendo_announces_each_threshold_once(
    org, certificado, settings, nova_org, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    fim = certificado.validade_fim

    with django_capture_on_commit_callbacks(execute=True):
        assert avisar_certificados_vencendo(agora=fim - timedelta(days=40)) == 0
        assert avisar_certificados_vencendo(agora=fim - timedelta(days=29, hours=1)) == 1
        assert avisar_certificados_vencendo(agora=fim - timedelta(days=28)) == 0  # 30 already announced
        assert avisar_certificados_vencendo(agora=fim - timedelta(days=5)) == 1  # straight to 7 (15 was missed)
        assert avisar_certificados_vencendo(agora=fim - timedelta(hours=20)) == 1
        assert avisar_certificados_vencendo(agora=fim - timedelta(hours=10)) == 0
    enviar_fila()  # the worker or the cron task sends the queued e-mails

    eventos = [e.payload["dados"] for e in escopo(Evento, org).filter(tipo="certificado_vencendo").order_by("id")]
    assert [d["dias"] for d in eventos] == [29, 5, 0]
    assert eventos[0]["certificado"] == DESTINATARIO
    assert len(mail.outbox) == 3 and mail.outbox[0].to == [nova_org.usuario.email]
    certificado.refresh_from_db()
    assert certificado.avisos_de_vencimento == [30, 7, 1]


def test_certificados_vencendo_task(org, certificado, capsys):
    escopo(CertificadoDigital, org).update(validade_fim=timezone.now() + timedelta(days=6))

    call_command("run_scheduled_tasks", "--task=certificados_vencendo")
    call_command("run_scheduled_tasks", "--task=certificados_vencendo")

    saida = capsys.readouterr().out
    assert "1 aviso(s)" in saida and "0 aviso(s)" in saida


# --- e-mails --------------------------------------------------------------------------------------


def test_a_stopped_capture_emails_members_and_the_extra_recipients(
    sim, org, certificado, nova_org, settings, django_capture_on_commit_callbacks
):
    from core.certificados import atualizar_configuracao, configuracao_da_organizacao
    from core.sefaz.distribuicao import consultar_certificado

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    atualizar_configuracao(configuracao_da_organizacao(org), destinatarios=["fiscal@contador.com.br"])
    escopo(CertificadoDigital, org).filter(pk=certificado.pk).update(cnpj="11222333000181")
    certificado.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        consultar_certificado(certificado, origem="agendada")
    enviar_fila()

    assert sorted(m.to[0] for m in mail.outbox) == sorted([nova_org.usuario.email, "fiscal@contador.com.br"])
    assert all("Captura na SEFAZ parada" in m.subject and "593" in m.body for m in mail.outbox)
    assert all(SENHA not in m.body for m in mail.outbox)


def test_consulta_concluida_emails_only_who_chose_it(sim, org, certificado, nova_org, emissor, settings, api):
    from core.sefaz.distribuicao import consultar_certificado

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for nota in notas(emissor, 2):
        sim.publicar(DESTINATARIO, "nfe", nota.xml)
    consultar_certificado(certificado, origem="agendada", servicos=["nfe"])
    enviar_fila()
    assert not [m for m in mail.outbox if "Consulta à SEFAZ" in m.subject]  # off by default

    api.patch("/api/notificacoes/preferencias/", {"consulta_concluida": True}, format="json")
    passar(sim, org)
    sim.publicar(DESTINATARIO, "nfe", notas(emissor, 1, inicio=50)[0].xml)
    consultar_certificado(certificado, origem="agendada", servicos=["nfe"])
    enviar_fila()

    [aviso] = [m for m in mail.outbox if "Consulta à SEFAZ" in m.subject]
    assert "1 documento novo" in aviso.subject and aviso.to == [nova_org.usuario.email]
