"""limpeza_logs: what goes, what stays, in batches, and how the space is reclaimed."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import (
    APIRequestLog,
    ConsultaSEFAZ,
    ContadorDeRequisicoes,
    EnvioEmail,
    Evento,
    ExecucaoDeTarefa,
    ImportLog,
    TravaDeTarefa,
    WebhookLog,
)
from core.tarefas.limpeza import limpar_logs
from core.tenancy import escopo, inserir

from .conftest import dias_atras, evento, importacao, requisicao, rodar, tentativa, webhook

pytestmark = pytest.mark.django_db
Status = WebhookLog.Status


def test_it_deletes_old_api_requests_and_keeps_recent_ones():
    velhas = [requisicao(dias_atras(d)).pk for d in (400, 90, 31)]
    recentes = [requisicao(dias_atras(d)).pk for d in (29, 1, 0)]

    assert rodar("--task=limpeza_logs").codigo == 0

    assert sorted(APIRequestLog.objects.values_list("pk", flat=True)) == recentes
    assert not APIRequestLog.objects.filter(pk__in=velhas).exists()


def test_the_api_request_retention_is_a_setting(settings):
    requisicao(dias_atras(10))
    requisicao(dias_atras(5))
    settings.FISCAL_RETENCAO_REQUISICOES_DIAS = 7

    limpeza = limpar_logs()

    assert limpeza.por_tabela["APIRequestLog"] == 1 and APIRequestLog.objects.count() == 1


def test_it_keeps_error_import_logs_and_recent_ones(org):
    velha_erro = importacao(org, dias_atras(200), ImportLog.Status.ERRO)
    importacao(org, dias_atras(120))
    importacao(org, dias_atras(100), ImportLog.Status.DUPLICADO)
    velha_erro2 = importacao(org, dias_atras(95), ImportLog.Status.ERRO)
    recente = importacao(org, dias_atras(80))

    limpeza = limpar_logs()

    assert limpeza.por_tabela["ImportLog"] == 2
    assert sorted(escopo(ImportLog, org).values_list("pk", flat=True)) == [velha_erro.pk, velha_erro2.pk, recente.pk]


def test_it_deletes_closed_old_webhook_attempts_but_never_a_delivery_in_flight(org):
    gancho = webhook(org)
    # Each delivery is one event + webhook; attempts of the same delivery share the event.
    ev_ok, ev_desistiu, ev_retentando, ev_entregando, ev_recente = (evento(org, dias_atras(d)) for d in (60, 59, 58, 57, 56))
    ok = tentativa(org, gancho, ev_ok, dias_atras(45), Status.SUCESSO)
    desistiu = tentativa(org, gancho, ev_desistiu, dias_atras(44), Status.DESISTIU)
    falha_em_voo = tentativa(org, gancho, ev_retentando, dias_atras(43), Status.FALHA)
    falha_entregando = tentativa(org, gancho, ev_entregando, dias_atras(42), Status.FALHA)
    pendente_velha = tentativa(org, gancho, ev_retentando, dias_atras(41), Status.PENDENTE, tentativa=2)
    entregando = tentativa(org, gancho, ev_entregando, dias_atras(40), Status.ENTREGANDO, tentativa=2)
    recente = tentativa(org, gancho, ev_recente, dias_atras(10), Status.SUCESSO)

    limpeza = limpar_logs()

    assert limpeza.por_tabela["WebhookLog"] == 2
    ficaram = set(escopo(WebhookLog, org).values_list("pk", flat=True))
    assert ficaram == {falha_em_voo.pk, falha_entregando.pk, pendente_velha.pk, entregando.pk, recente.pk}
    assert not ({ok.pk, desistiu.pk} & ficaram)


def test_it_deletes_finished_old_emails_but_never_one_still_queued(org, settings):
    # given: rows of every status, 40 days old, and a sent one from yesterday
    def envio(status, criado_em, atualizado_em=None, chave=""):
        linha = EnvioEmail.objects.create(organizacao=org, tipo="resumo_diario", chave=chave or f"{status}-{criado_em}",
                                          endereco="contador@alfa.com.br", status=status, proxima_tentativa_em=criado_em)
        EnvioEmail.objects.filter(pk=linha.pk).update(criado_em=criado_em, atualizado_em=atualizado_em or criado_em)
        return linha.pk  # (auto_now fields: set by UPDATE)

    velho = dias_atras(40)
    apagados = [envio(status, velho) for status in ("enviado", "pulado", "falhou")]
    ficam = [envio(status, velho) for status in ("pendente", "enviando")]
    ficam.append(envio("enviado", velho, dias_atras(2), chave="reenviado"))  # re-sent two days ago
    ficam.append(envio("enviado", dias_atras(1)))

    # when
    limpeza = limpar_logs()

    # then
    assert limpeza.por_tabela["EnvioEmail"] == 3
    assert sorted(escopo(EnvioEmail, org).values_list("pk", flat=True)) == sorted(ficam)
    assert not escopo(EnvioEmail, org).filter(pk__in=apagados).exists()
    # and the retention is the webhooks' (the outbox's delivery records)
    settings.FISCAL_RETENCAO_WEBHOOKS_DIAS = 1
    assert limpar_logs().por_tabela["EnvioEmail"] == 2 and escopo(EnvioEmail, org).count() == 2


def test_it_deletes_old_events_only_when_no_delivery_refers_to_them(org, settings):
    gancho = webhook(org)
    livre = evento(org, dias_atras(200))
    com_entrega_pendente = evento(org, dias_atras(150))
    com_log_velho = evento(org, dias_atras(120))
    tentativa(org, gancho, com_log_velho, dias_atras(119), Status.SUCESSO)  # goes first, then frees the event
    tentativa(org, gancho, com_entrega_pendente, dias_atras(1), Status.PENDENTE)  # re-sent yesterday
    recente = evento(org, dias_atras(80))

    limpeza = limpar_logs()

    assert limpeza.por_tabela["WebhookLog"] == 1 and limpeza.por_tabela["Evento"] == 2
    assert set(escopo(Evento, org).values_list("pk", flat=True)) == {com_entrega_pendente.pk, recente.pk}
    assert escopo(WebhookLog, org).get().evento_id == com_entrega_pendente.pk  # the pending delivery is intact
    assert livre.pk < recente.pk


def contador(fim_da_janela: int, quem: str = "u:1") -> None:
    ContadorDeRequisicoes.objects.create(chave=f"rl:{fim_da_janela}:{quem}", fim_da_janela=fim_da_janela, contagem=3)


def test_it_deletes_the_rate_limit_windows_that_ended_and_keeps_the_current_and_previous_one():
    agora = timezone.now()
    atual = (int(agora.timestamp()) // 60 + 1) * 60  # the end of the window `agora` is in
    for fim in (atual - 3600, atual - 120, atual - 120, atual - 60, atual):
        contador(fim, quem=f"ip:{ContadorDeRequisicoes.objects.count()}")

    limpeza = limpar_logs(agora=agora)

    assert limpeza.por_tabela["ContadorDeRequisicoes"] == 3
    # the previous window stays: a process whose clock lags may still count in it
    assert sorted(ContadorDeRequisicoes.objects.values_list("fim_da_janela", flat=True)) == [atual - 60, atual]


def test_rate_limit_windows_go_in_batches_of_whole_windows(settings):
    settings.FISCAL_LIMPEZA_LOTE = 2
    agora = timezone.now()
    atual = (int(agora.timestamp()) // 60 + 1) * 60
    for minutos, quem in [(10, "a"), (10, "b"), (10, "c"), (9, "a"), (8, "a"), (0, "a")]:
        contador(atual - 60 * minutos, quem)

    assert limpar_logs(simular=True, agora=agora).por_tabela["ContadorDeRequisicoes"] == 5
    limpeza = limpar_logs(agora=agora)

    assert limpeza.por_tabela["ContadorDeRequisicoes"] == 5 and limpeza.lotes == 2 and limpeza.maior_lote == 3
    assert list(ContadorDeRequisicoes.objects.values_list("fim_da_janela", flat=True)) == [atual]


def test_it_deletes_old_sefaz_queries_and_task_runs(org):
    consultas = inserir(ConsultaSEFAZ, org, [
        ConsultaSEFAZ(organizacao=org, documento="11222333000181", servico="nfe", ambiente=1, tipo="distribuicao")
        for _ in range(2)
    ])  # fmt: skip
    escopo(ConsultaSEFAZ, org).filter(pk=consultas[0].pk).update(criada_em=dias_atras(181))
    ExecucaoDeTarefa.objects.create(tarefa="consultas_sefaz", resultado="sucesso", iniciada_em=dias_atras(200))
    recente = ExecucaoDeTarefa.objects.create(tarefa="consultas_sefaz", resultado="sucesso", iniciada_em=dias_atras(2))

    limpeza = limpar_logs()

    assert limpeza.por_tabela["ConsultaSEFAZ"] == 1 and limpeza.por_tabela["ExecucaoDeTarefa"] == 1
    assert list(escopo(ConsultaSEFAZ, org).values_list("pk", flat=True)) == [consultas[1].pk]
    assert list(ExecucaoDeTarefa.objects.values_list("pk", flat=True)) == [recente.pk]


def test_it_cleans_every_organization(org, outra_org):
    importacao(org, dias_atras(100))
    importacao(outra_org, dias_atras(100))

    assert limpar_logs().por_tabela["ImportLog"] == 2


def test_it_deletes_in_batches_of_the_configured_size(settings, org):
    settings.FISCAL_LIMPEZA_LOTE = 3
    for dias in range(100, 90, -1):  # 10 old rows, oldest first
        requisicao(dias_atras(dias))
    recentes = [requisicao(dias_atras(d)).pk for d in (2, 1)]

    with CaptureQueriesContext(connection) as consultas:
        limpeza = limpar_logs()

    apagar = [q["sql"] for q in consultas.captured_queries if q["sql"].startswith('DELETE FROM "core_apirequestlog"')]
    assert len(apagar) == 4  # 3 + 3 + 3 + 1
    assert limpeza.por_tabela["APIRequestLog"] == 10 and limpeza.maior_lote == 3
    assert sorted(APIRequestLog.objects.values_list("pk", flat=True)) == recentes


def test_batches_skip_the_rows_kept_between_the_deleted_ones(settings, org):
    settings.FISCAL_LIMPEZA_LOTE = 2
    linhas = [
        importacao(org, dias_atras(200 - n), ImportLog.Status.ERRO if n % 2 == 0 else ImportLog.Status.SUCESSO)
        for n in range(10)
    ]

    limpeza = limpar_logs()

    assert limpeza.por_tabela["ImportLog"] == 5 and limpeza.maior_lote == 2
    assert sorted(escopo(ImportLog, org).values_list("pk", flat=True)) == [linha.pk for linha in linhas[::2]]


def test_dry_run_counts_per_table_and_deletes_nothing(org):
    requisicao(dias_atras(40))
    requisicao(dias_atras(35))
    importacao(org, dias_atras(100))
    importacao(org, dias_atras(100), ImportLog.Status.ERRO)

    saida = rodar("--task=limpeza_logs", "--dry-run")

    assert saida.codigo == 0
    assert "limpeza_logs (simulação): linhas seriam apagadas: WebhookLog 0, EnvioEmail 0, Evento 0, ImportLog 1, " \
           "APIRequestLog 2" in saida.out
    assert APIRequestLog.objects.count() == 2 and escopo(ImportLog, org).count() == 2
    assert ExecucaoDeTarefa.objects.get().simulacao is True


def test_with_its_lock_held_elsewhere_it_deletes_nothing(org):
    from .test_comando import travar_em_outra_maquina

    requisicao(dias_atras(40))
    travar_em_outra_maquina("limpeza_logs")

    saida = rodar("--task=limpeza_logs")

    assert saida.codigo == 0 and "tarefa limpeza_logs já está em execução" in saida.out
    assert APIRequestLog.objects.count() == 1


def test_the_summary_reports_rows_per_table():
    requisicao(dias_atras(40))

    saida = rodar("--task=limpeza_logs")

    assert "limpeza_logs: linhas apagadas: WebhookLog 0, EnvioEmail 0, Evento 0, ImportLog 0, ArquivoXML 0, APIRequestLog 1, " \
           "ContadorDeRequisicoes 0, ConsultaSEFAZ 0, ExecucaoDeTarefa 0; 1 lote(s), maior transação" in saida.out  # fmt: skip


def test_nothing_old_means_nothing_deleted_and_no_vacuum():
    requisicao(dias_atras(1))

    limpeza = limpar_logs()

    assert sum(limpeza.por_tabela.values()) == 0 and limpeza.lotes == 0 and limpeza.espaco == ""


def test_inside_a_transaction_sqlite_vacuum_is_skipped(settings):
    requisicao(dias_atras(40))

    limpeza = limpar_logs()

    if connection.vendor == "sqlite":
        assert limpeza.espaco == "VACUUM pulado (dentro de uma transação)"
    else:
        assert limpeza.espaco.startswith("ANALYZE de 1 tabela(s)")


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_reclaims_the_space():
    requisicao(dias_atras(40))

    limpeza = limpar_logs()

    assert limpeza.espaco.startswith("VACUUM em " if connection.vendor == "sqlite" else "ANALYZE de 1 tabela(s)")
    assert not TravaDeTarefa.objects.exists()


def test_vacuum_can_be_turned_off(settings):
    if connection.vendor != "sqlite":
        pytest.skip("VACUUM é só do SQLite")
    settings.FISCAL_LIMPEZA_VACUUM = False
    requisicao(dias_atras(40))

    assert limpar_logs().espaco == "VACUUM desligado (FISCAL_LIMPEZA_VACUUM)"


def test_rows_out_of_time_order_are_never_deleted_early():
    # An API row written late (its date older than the row before it) must still obey its own date.
    requisicao(dias_atras(40))
    recente = requisicao(dias_atras(1))
    fora_de_ordem = requisicao(dias_atras(29))

    limpar_logs()

    assert set(APIRequestLog.objects.values_list("pk", flat=True)) == {recente.pk, fora_de_ordem.pk}


def test_a_batch_of_events_larger_than_sqlites_parameter_limit(org):
    # Evento has dependants (WebhookLog), so Django collects the batch's keys: 2,500 of them at once.
    from core.eventos.emissao import menor_id_de_evento

    inicio = dias_atras(200)
    linhas = [Evento(id=menor_id_de_evento(inicio.replace(microsecond=0) + timedelta(seconds=n)), organizacao=org,
                     tipo="teste", criado_em=inicio, payload={}) for n in range(2500)]  # fmt: skip
    inserir(Evento, org, linhas)
    evento(org, dias_atras(1))

    limpeza = limpar_logs()

    assert limpeza.por_tabela["Evento"] == 2500 and limpeza.lotes == 1 and escopo(Evento, org).count() == 1


def test_only_webhook_logs_point_to_the_cleaned_tables():
    # limpeza deletes without the ORM's collector: a new foreign key into these tables needs a rule there.
    limpas = (WebhookLog, EnvioEmail, Evento, ImportLog, APIRequestLog, ContadorDeRequisicoes, ConsultaSEFAZ, ExecucaoDeTarefa)
    relacoes = {
        (modelo.__name__, campo.name, campo.related_model.__name__)
        for modelo in apps.get_models()
        for campo in modelo._meta.get_fields()
        if campo.is_relation and campo.concrete and campo.related_model in limpas
    }

    assert relacoes == {("WebhookLog", "evento", "Evento"), ("ImportLog", "reprocessado_de", "ImportLog")}
