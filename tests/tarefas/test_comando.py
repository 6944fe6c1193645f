"""run_scheduled_tasks: every task or one, locks held elsewhere, failures, exit codes, runs recorded."""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.core.management import CommandError, ManagementUtility, call_command
from django.utils import timezone

from core.models import ExecucaoDeTarefa, ImportLog, TravaDeTarefa
from core.tarefas import TAREFAS

from .conftest import falhar, rodar

pytestmark = pytest.mark.django_db

NOMES = ["consultas_sefaz", "entregar_webhooks", "enviar_emails", "limpeza_logs", "enviar_relatorios", "certificados_vencendo",
         "prazos_manifestacao", "compactar_agregados"]
Resultado = ExecucaoDeTarefa.Resultado


def travar_em_outra_maquina(nome: str, expira_em_minutos: float = 10) -> TravaDeTarefa:
    agora = timezone.now()
    return TravaDeTarefa.objects.create(
        nome=nome, dono="worker-2:4242:abc123", adquirida_em=agora - timedelta(minutes=3),
        expira_em=agora + timedelta(minutes=expira_em_minutos),
    )  # fmt: skip


def test_it_knows_exactly_the_eight_public_task_names():
    assert sorted(TAREFAS) == sorted(NOMES)


def test_it_runs_every_task_once_in_a_fixed_order(espioes):
    saida = rodar()

    assert saida.codigo == 0
    assert [e.chamadas for e in espioes.values()] == [[False]] * 8
    assert list(ExecucaoDeTarefa.objects.order_by("id").values_list("tarefa", flat=True)) == list(TAREFAS)
    assert list(TAREFAS) == ["consultas_sefaz", "certificados_vencendo", "prazos_manifestacao", "entregar_webhooks",
                             "enviar_emails", "enviar_relatorios", "compactar_agregados", "limpeza_logs"]  # fmt: skip
    assert saida.out.splitlines() == [f"{nome}: feito." for nome in TAREFAS]


@pytest.mark.parametrize("nome", NOMES)
def test_it_runs_only_the_task_asked_for(espioes, nome):
    assert rodar(f"--task={nome}").codigo == 0

    assert {n for n, e in espioes.items() if e.chamadas} == {nome}


def test_it_refuses_an_unknown_task(espioes):
    saida = rodar("--task=limpar_tudo")

    assert saida.codigo == 1 and "Tarefa desconhecida: 'limpar_tudo'. Válidas: consultas_sefaz" in saida.err
    with pytest.raises(CommandError, match="limpeza_logs"):
        call_command("run_scheduled_tasks", "--task=limpar_tudo")
    assert not any(e.chamadas for e in espioes.values())


# --- locks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("nome", NOMES)
def test_a_task_locked_elsewhere_is_skipped_with_a_message_and_exit_code_0(espioes, nome):
    trava = travar_em_outra_maquina(nome)

    saida = rodar(f"--task={nome}")

    assert saida.codigo == 0
    assert f"tarefa {nome} já está em execução (desde " in saida.out
    assert "por worker-2:4242:abc123)" in saida.out
    assert espioes[nome].chamadas == []
    execucao = ExecucaoDeTarefa.objects.get()
    assert (execucao.tarefa, execucao.resultado) == (nome, Resultado.PULADA)
    assert TravaDeTarefa.objects.get() == trava and TravaDeTarefa.objects.get().dono == trava.dono  # untouched


def test_a_locked_task_does_not_stop_the_others(espioes):
    travar_em_outra_maquina("limpeza_logs")

    saida = rodar()

    assert saida.codigo == 0
    assert [n for n, e in espioes.items() if e.chamadas] == [n for n in TAREFAS if n != "limpeza_logs"]


@pytest.mark.parametrize("nome", NOMES)
def test_an_expired_lock_is_taken_over_and_released_at_the_end(espioes, nome):
    travar_em_outra_maquina(nome, expira_em_minutos=-1)  # its holder crashed a while ago

    assert rodar(f"--task={nome}").codigo == 0

    assert espioes[nome].chamadas == [False]
    assert not TravaDeTarefa.objects.exists()
    assert ExecucaoDeTarefa.objects.get().resultado == Resultado.SUCESSO


def test_the_lock_is_held_while_the_task_runs(monkeypatch):
    vista = []

    def olhar(*, simular, escrever):
        vista.append(list(TravaDeTarefa.objects.values_list("nome", "adquirida_em", "expira_em")))
        return "ok"

    monkeypatch.setitem(TAREFAS, "limpeza_logs", replace(TAREFAS["limpeza_logs"], executar=olhar))

    rodar("--task=limpeza_logs")

    [[(nome, adquirida_em, expira_em)]] = vista
    assert nome == "limpeza_logs" and expira_em - adquirida_em == TAREFAS["limpeza_logs"].duracao_maxima
    assert not TravaDeTarefa.objects.exists()


# --- failures and exit codes ----------------------------------------------------------------------


def test_a_failing_task_does_not_stop_the_others_and_the_exit_code_is_1(espioes, monkeypatch):
    falhar(monkeypatch, "certificados_vencendo", RuntimeError("servidor de e-mail fora do ar"))

    saida = rodar()

    assert saida.codigo == 1
    assert all(espioes[n].chamadas == [False] for n in TAREFAS if n != "certificados_vencendo")
    assert "certificados_vencendo: falhou (RuntimeError: servidor de e-mail fora do ar)" in saida.err
    assert "1 tarefa(s) falharam: certificados_vencendo" in saida.err
    falha = ExecucaoDeTarefa.objects.get(resultado=Resultado.FALHA)
    assert falha.tarefa == "certificados_vencendo" and "servidor de e-mail fora do ar" in falha.erro
    assert "Traceback" in falha.erro
    assert ExecucaoDeTarefa.objects.filter(resultado=Resultado.SUCESSO).count() == len(TAREFAS) - 1
    assert not TravaDeTarefa.objects.exists()  # released even by the failed one


def test_manage_py_exits_with_1_when_a_task_failed(espioes, monkeypatch, capsys):
    falhar(monkeypatch, "consultas_sefaz", ValueError("x"))

    with pytest.raises(SystemExit) as saida:
        ManagementUtility(["manage.py", "run_scheduled_tasks", "--task=consultas_sefaz"]).execute()

    assert saida.value.code == 1
    assert "1 tarefa(s) falharam: consultas_sefaz" in capsys.readouterr().err


def test_manage_py_exits_with_0_when_the_task_is_already_running(espioes, capsys):
    travar_em_outra_maquina("limpeza_logs")

    ManagementUtility(["manage.py", "run_scheduled_tasks", "--task=limpeza_logs"]).execute()  # no SystemExit

    assert "tarefa limpeza_logs já está em execução" in capsys.readouterr().out


# --- runs recorded --------------------------------------------------------------------------------


def test_every_run_is_recorded_with_its_duration_and_summary(espioes):
    antes = timezone.now()

    rodar("--task=entregar_webhooks")

    execucao = ExecucaoDeTarefa.objects.get()
    assert execucao.tarefa == "entregar_webhooks" and execucao.resultado == Resultado.SUCESSO
    assert execucao.resumo == "entregar_webhooks: feito." and execucao.erro == ""
    assert execucao.simulacao is False and execucao.duracao_ms >= 0 and execucao.iniciada_em >= antes


def test_runs_are_logged(espioes, caplog):
    with caplog.at_level("INFO", logger="core.tarefas"):
        rodar("--task=limpeza_logs")

    assert any("tarefa limpeza_logs concluída em" in r.getMessage() and "limpeza_logs: feito." in r.getMessage()
               for r in caplog.records)  # fmt: skip


# --- dry run ----------------------------------------------------------------------------------------


def test_dry_run_asks_every_task_to_simulate_and_takes_no_lock(espioes):
    travar_em_outra_maquina("limpeza_logs")  # a real run going on does not stop a simulation

    assert rodar("--dry-run").codigo == 0

    assert [e.chamadas for e in espioes.values()] == [[True]] * 8
    assert list(TravaDeTarefa.objects.values_list("nome", flat=True)) == ["limpeza_logs"]
    assert set(ExecucaoDeTarefa.objects.values_list("simulacao", flat=True)) == {True}


def test_dry_run_reports_what_each_real_task_would_do_and_changes_nothing(org, nova_org):
    from django.core import mail

    from core.models import APIRequestLog, CertificadoDigital, RelatorioEnviado, WebhookLog
    from core.tenancy import escopo

    from .conftest import certificado, dias_atras, evento, importacao, requisicao, tentativa, webhook

    requisicao(dias_atras(40))
    importacao(org, dias_atras(1), ImportLog.Status.ERRO)  # yesterday had activity: a report is due
    gancho = webhook(org)
    tentativa(org, gancho, evento(org, dias_atras(0.01)), dias_atras(0.01), WebhookLog.Status.PENDENTE)
    cert = certificado(org, timezone.now() + timedelta(days=6, hours=1), consulta_automatica=True, uf="35")
    mail.outbox.clear()
    antes = (APIRequestLog.objects.count(), list(escopo(WebhookLog, org).values_list("status", flat=True)))

    saida = rodar("--dry-run")

    assert saida.codigo == 0, saida.err
    assert "consultas_sefaz (simulação): 1 certificado(s) seria(m) consultado(s)." in saida.out
    assert f"certificado {cert.pk} (11222333000181) vence em 6 dia(s): aviso de 7 dias" in saida.out
    assert "entregar_webhooks (simulação): 1 entrega(s) devida(s) agora." in saida.out
    assert f"(usuários {nova_org.usuario.pk})" in saida.out
    assert "limpeza_logs (simulação): linhas seriam apagadas: WebhookLog 0, EnvioEmail 0, Evento 0, ImportLog 0, " \
           "APIRequestLog 1" in saida.out
    assert (APIRequestLog.objects.count(), list(escopo(WebhookLog, org).values_list("status", flat=True))) == antes
    assert escopo(CertificadoDigital, org).get().avisos_de_vencimento == []
    assert mail.outbox == [] and not RelatorioEnviado.objects.exists() and not TravaDeTarefa.objects.exists()
    assert "prazos_manifestacao (simulação): 0 NF-e seria(m) avisada(s)." in saida.out
    assert "enviar_emails (simulação): 0 e-mail(s) devido(s) agora." in saida.out
    assert ExecucaoDeTarefa.objects.filter(simulacao=True, resultado=Resultado.SUCESSO).count() == 8


@pytest.mark.parametrize("documento", ["README.md", "INTEGRACOES.md"])
def test_the_docs_show_a_cron_line_per_task_with_its_suggested_schedule(documento):
    from pathlib import Path

    texto = (Path(__file__).resolve().parents[2] / documento).read_text()
    for tarefa in TAREFAS.values():
        linha = f"{tarefa.cron} cd /srv/fiscal && .venv/bin/python manage.py run_scheduled_tasks --task={tarefa.nome}"
        assert linha in " ".join(texto.split()), f"{documento}: falta a linha do cron de {tarefa.nome}"
