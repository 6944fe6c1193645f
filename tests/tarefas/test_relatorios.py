"""enviar_relatorios: yesterday's numbers, once per member and day, only on days with activity."""

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from smtplib import SMTPException

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.consultas.resumo_diario import resumo_do_dia
from core.documentos.chave import CODIGO_POR_UF, montar_chave
from core.documentos.importacao import Entrada, importar
from core.geracao.documentos import gerar_cte, gerar_resumo_nfe
from core.models import EnvioEmail, ImportLog, Membro, Origem, RelatorioEnviado, WebhookLog
from core.notifications import atualizar_preferencias
from core.tenancy import todas_as_organizacoes
from core.tarefas.relatorios import dia_do_relatorio, enviar_relatorios
from tests.notificacoes.conftest import criar_membro, enviar_fila

from .conftest import certificado, evento, importacao, rodar, tentativa, webhook

pytestmark = pytest.mark.django_db

ALFA, BETA = "45723174000110", "11222333000181"
ONTEM = date(2026, 11, 19)
URL_DO_APP = "https://fiscal.exemplo.com.br"


def em(dia: date, hora: int = 12, minuto: int = 0, segundo: int = 0) -> datetime:
    return datetime.combine(dia, time(hora, minuto, segundo), tzinfo=timezone.get_default_timezone())


AGORA = em(ONTEM + timedelta(days=1), 7)  # the cron run, 07:00 the next morning


def nfe(numero: int, quando: datetime, valor: str, cnpj: str = ALFA, nome: str = "ALFA LTDA", uf: str = "SP"):
    chave = montar_chave(CODIGO_POR_UF[uf], quando.strftime("%y%m"), cnpj, "55", 1, numero, "1", numero)
    return gerar_resumo_nfe(chave=chave, emitente_cnpj=cnpj, nome=nome, valor=Decimal(valor), data_emissao=quando)


def cte(certificado_a1, numero: int, quando: datetime, valor: str, uf_inicio: str = "SP", uf_fim: str = "RJ"):
    return gerar_cte(certificado=certificado_a1, numero=numero, data_emissao=quando, valor_prestacao=Decimal(valor),
                     uf_inicio=uf_inicio, uf_fim=uf_fim)  # fmt: skip


def importar_docs(organizacao, *documentos):
    entradas = [Entrada(f"{d.chave}-{i}.xml", d.xml) for i, d in enumerate(documentos)]
    resultados = list(importar(organizacao=organizacao, entradas=entradas, origem=Origem.UPLOAD))
    assert all(r.ok for r in resultados), [r.mensagem for r in resultados if not r.ok]


@pytest.fixture
def dona(nova_org):
    return nova_org.usuario


@pytest.fixture
def colega(org):
    return criar_membro(org, "colega@alfa.com.br", first_name="Carla")


@pytest.fixture
def desligada(org):
    """A member who turned the daily summary off."""
    usuario = criar_membro(org, "desligada@alfa.com.br")
    atualizar_preferencias(usuario=usuario, organizacao=org, campos={"resumo_diario": False})
    return usuario


@pytest.fixture
def estranho(outra_org):
    return Membro.objects.get(organizacao=outra_org).usuario


@pytest.fixture
def dia_movimentado(org, outra_org, transportadora, dona, colega, desligada, estranho):
    """ONTEM at `org`: 3 NF-e, 3 CT-e, 1 failed import, 2 failed deliveries; around it, what must not count."""
    importar_docs(
        org,
        nfe(1, em(ONTEM, 0, 0, 0), "100.00"),  # the first second of the day counts
        nfe(2, em(ONTEM, 23, 59, 59), "50.50"),
        nfe(3, em(ONTEM, 12), "1000.00", cnpj=BETA, nome="BETA SA", uf="PR"),
        nfe(4, em(ONTEM - timedelta(days=1)), "7.00"),  # the day before: only in the chart
        nfe(5, em(ONTEM + timedelta(days=1), 0, 0, 1), "8.00"),  # today: not yet
        cte(transportadora, 11, em(ONTEM, 9), "300.00"),
        cte(transportadora, 12, em(ONTEM, 10), "600.00", uf_inicio="PR", uf_fim="SC"),
        cte(transportadora, 13, em(ONTEM, 11), "50.00"),
    )
    importar_docs(outra_org, nfe(21, em(ONTEM), "9999.99", nome="DA OUTRA LTDA"))
    importacao(org, em(ONTEM, 15), ImportLog.Status.ERRO)
    importacao(org, em(ONTEM, 16))  # a success is no error
    importacao(org, em(ONTEM + timedelta(days=1), 6), ImportLog.Status.ERRO)  # today
    gancho = webhook(org)
    ev1, ev2 = evento(org, em(ONTEM, 9)), evento(org, em(ONTEM, 9, 30))
    tentativa(org, gancho, ev1, em(ONTEM, 10), WebhookLog.Status.FALHA)
    tentativa(org, gancho, ev1, em(ONTEM, 11), WebhookLog.Status.DESISTIU, tentativa=2)
    tentativa(org, gancho, ev2, em(ONTEM, 12), WebhookLog.Status.SUCESSO)
    certificado(org, AGORA + timedelta(days=10, hours=1), titular="AURORA CERTIFICADO")
    certificado(org, AGORA + timedelta(days=60), titular="LONGE DE VENCER")
    certificado(org, AGORA - timedelta(days=1), titular="JA VENCIDO")
    enviar_fila()
    mail.outbox.clear()  # the imports' own notifications


def para(endereco: str):
    [email] = [e for e in mail.outbox if e.to == [endereco]]
    return email


def html(email) -> str:
    [(conteudo, tipo)] = email.alternatives
    assert tipo == "text/html"
    return conteudo


# --- the numbers ------------------------------------------------------------------------------------


def test_the_day_is_yesterday_in_sao_paulo():
    assert dia_do_relatorio(datetime(2026, 11, 20, 2, 59, tzinfo=UTC)) == date(2026, 11, 18)  # 23:59 in SP
    assert dia_do_relatorio(datetime(2026, 11, 20, 3, 0, tzinfo=UTC)) == date(2026, 11, 19)


def test_the_summary_of_the_day_has_the_right_numbers(org, dia_movimentado):
    resumo = resumo_do_dia(organizacao=org, dia=ONTEM, agora=AGORA)

    sem_reforma = {"ibs": Decimal("0.00"), "cbs": Decimal("0.00")}
    assert resumo.nfe == {"quantidade": 3, "valor": Decimal("1150.50"), **sem_reforma}
    assert resumo.cte == {"quantidade": 3, "valor": Decimal("950.00"), **sem_reforma}
    assert [(e["nome"], e["quantidade"], e["valor"]) for e in resumo.top_emitentes] == [
        ("BETA SA", 1, Decimal("1000.00")), ("ALFA LTDA", 2, Decimal("150.50")),
    ]  # fmt: skip
    assert [(r["uf_inicio"], r["uf_fim"], r["quantidade"], r["valor"]) for r in resumo.top_rotas] == [
        ("PR", "SC", 1, Decimal("600.00")), ("SP", "RJ", 2, Decimal("350.00")),
    ]  # fmt: skip
    assert (resumo.erros_importacao, resumo.falhas_webhook) == (1, 2)
    assert [(c["titular"], c["dias"]) for c in resumo.certificados_vencendo] == [("AURORA CERTIFICADO", 10)]
    assert [(d["periodo"], d["nfe"]["quantidade"], d["cte"]["quantidade"]) for d in resumo.por_dia][-2:] == [
        (ONTEM - timedelta(days=1), 1, 0), (ONTEM, 3, 3),
    ]  # fmt: skip
    assert len(resumo.por_dia) == 7 and resumo.teve_atividade


def test_top_five_only(org, transportadora):
    importar_docs(org, *[nfe(n, em(ONTEM), f"{n}.00", cnpj=cnpj) for n, cnpj in
                         enumerate(["45723174000110", "11222333000181", "19131243000197", "60746948000112",
                                    "33000167000101", "07526557000100"], start=1)])  # fmt: skip

    resumo = resumo_do_dia(organizacao=org, dia=ONTEM, agora=AGORA)

    assert [e["valor"] for e in resumo.top_emitentes] == [Decimal(f"{n}.00") for n in (6, 5, 4, 3, 2)]


def test_it_sends_yesterdays_summary_to_each_member_who_wants_it(dia_movimentado, dona, colega, desligada, estranho):
    resumo = enviar_relatorios(agora=AGORA)
    enviar_fila()

    assert sorted(e.to[0] for e in mail.outbox) == sorted([dona.email, colega.email, estranho.email])
    assert resumo == "enviar_relatorios: dia 19/11/2026, 3 e-mail(s) enfileirado(s) a 2 organização(ões); 0 sem atividade."
    email = para(dona.email)
    assert email.subject == "Resumo de 19/11/2026 — 3 NF-e, 3 CT-e"
    for texto in (email.body, html(email)):
        assert "R$ 1.150,50" in texto and "R$ 950,00" in texto
        assert texto.index("BETA SA") < texto.index("ALFA LTDA") and "R$ 1.000,00" in texto
        assert texto.index("PR → SC") < texto.index("SP → RJ") and "R$ 350,00" in texto
        assert "AURORA CERTIFICADO" in texto and "LONGE DE VENCER" not in texto and "JA VENCIDO" not in texto
        assert "DA OUTRA LTDA" not in texto and "9.999,99" not in texto
    assert "Erros de importação: 1" in email.body and "Falhas de webhook:   2" in email.body
    assert "Erros de importação: <strong>1</strong>" in html(email)
    assert "Falhas de webhook: <strong>2</strong>" in html(email)
    assert set(RelatorioEnviado.objects.values_list("usuario_id", "dia")) == {
        (dona.pk, ONTEM), (colega.pk, ONTEM), (estranho.pk, ONTEM)
    }


def test_each_organization_gets_only_its_own_numbers(dia_movimentado, estranho):
    enviar_relatorios(agora=AGORA)
    enviar_fila()

    email = para(estranho.email)
    assert email.subject == "Resumo de 19/11/2026 — 1 NF-e, 0 CT-e"
    assert "R$ 9.999,99" in email.body and "BETA SA" not in email.body and "AURORA" not in email.body


def test_the_html_has_a_chart_and_no_external_resources(dia_movimentado, dona):
    enviar_relatorios(agora=AGORA)
    enviar_fila()

    corpo = html(para(dona.email))
    assert 'aria-label="Documentos por dia"' in corpo
    # ONTEM is the busiest day (6 documents): its NF-e half is 50% of the width, the day before 1/6.
    assert 'width="50%" height="14" bgcolor="#0b5394"' in corpo and 'width="16%" height="14" bgcolor="#0b5394"' in corpo
    assert 'width="50%" height="14" bgcolor="#e69138"' in corpo
    assert not re.search(r"<(img|svg|script|link|iframe)\b|\bsrc=|url\(", corpo, re.I)
    externos = [u for u in re.findall(r"https?://[^\s\"'<>]+", corpo) if not u.startswith(URL_DO_APP + "/")]
    assert externos == []
    assert "Documentos por dia" in para(dona.email).body and "██" in para(dona.email).body


# --- once per day and member --------------------------------------------------------------------------


def test_a_second_run_the_same_day_sends_nothing(dia_movimentado):
    enviar_relatorios(agora=AGORA)
    enviar_fila()
    enviar_fila()
    mail.outbox.clear()

    resumo = enviar_relatorios(agora=AGORA + timedelta(hours=3))
    enviar_fila()

    assert mail.outbox == []
    assert resumo.startswith("enviar_relatorios: dia 19/11/2026, 0 e-mail(s)")
    assert RelatorioEnviado.objects.count() == 3


def test_a_member_already_claimed_by_another_run_is_not_sent_again(org, dia_movimentado, dona, colega):
    # A run that crashed right after claiming dona's report: at most once, so she does not get it now.
    RelatorioEnviado.objects.create(organizacao=org, usuario=dona, dia=ONTEM)

    enviar_relatorios(agora=AGORA)
    enviar_fila()

    assert dona.email not in [e.to[0] for e in mail.outbox] and colega.email in [e.to[0] for e in mail.outbox]


def test_the_next_day_is_a_new_report(org, dia_movimentado, transportadora, dona):
    enviar_relatorios(agora=AGORA)
    enviar_fila()
    importar_docs(org, cte(transportadora, 31, em(ONTEM + timedelta(days=1), 10), "10.00"))
    enviar_fila()
    mail.outbox.clear()

    enviar_relatorios(agora=AGORA + timedelta(days=1))
    enviar_fila()

    assert para(dona.email).subject == "Resumo de 20/11/2026 — 1 NF-e, 1 CT-e"


class CorreioFora(BaseEmailBackend):
    def send_messages(self, mensagens):
        raise SMTPException("servidor fora do ar")


def test_a_refused_e_mail_stays_queued_and_goes_out_once_the_server_is_back(dia_movimentado, settings, dona):
    settings.EMAIL_BACKEND = f"{__name__}.CorreioFora"

    assert enviar_relatorios(agora=AGORA).startswith("enviar_relatorios: dia 19/11/2026, 3 e-mail(s) enfileirado(s)")
    enviar_fila()
    fila = todas_as_organizacoes(EnvioEmail).filter(tipo="resumo_diario")
    assert set(fila.values_list("status", "tentativas")) == {("pendente", 1)}
    assert RelatorioEnviado.objects.count() == 3  # claimed: a later run does not queue it again
    assert enviar_relatorios(agora=AGORA + timedelta(hours=1)).startswith("enviar_relatorios: dia 19/11/2026, 0 e-mail(s)")

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    fila.update(proxima_tentativa_em=timezone.now())
    enviar_fila()
    assert len(mail.outbox) == 3
    assert para(dona.email).subject == "Resumo de 19/11/2026 — 3 NF-e, 3 CT-e"


def test_a_mail_server_down_does_not_fail_the_task(dia_movimentado, settings, monkeypatch):
    import core.tarefas.relatorios as relatorios

    settings.EMAIL_BACKEND = f"{__name__}.CorreioFora"
    monkeypatch.setattr(relatorios, "dia_do_relatorio", lambda agora=None: ONTEM)

    saida = rodar("--task=enviar_relatorios")

    assert saida.codigo == 0 and "3 e-mail(s) enfileirado(s)" in saida.out


# --- quiet days, opt-outs -----------------------------------------------------------------------------


def test_nothing_is_sent_on_a_day_without_activity(org, dona, colega):
    importar_docs(org, nfe(1, em(ONTEM - timedelta(days=2)), "10.00"))  # older: no news yesterday
    certificado(org, AGORA + timedelta(days=5))  # an expiring certificate alone is not activity
    enviar_fila()
    mail.outbox.clear()

    resumo = enviar_relatorios(agora=AGORA)
    enviar_fila()

    assert mail.outbox == [] and not RelatorioEnviado.objects.exists()
    assert resumo.endswith("0 e-mail(s) enfileirado(s) a 0 organização(ões); 1 sem atividade.")


def test_failures_alone_are_activity(org, dona):
    importacao(org, em(ONTEM, 10), ImportLog.Status.ERRO)

    enviar_relatorios(agora=AGORA)
    enviar_fila()

    assert para(dona.email).subject == "Resumo de 19/11/2026 — 0 NF-e, 0 CT-e"
    assert "Documentos por dia" not in para(dona.email).body  # no document all week: no chart


def test_members_who_opted_out_or_cannot_receive_get_nothing(org, dia_movimentado, desligada):
    inativo = criar_membro(org, "inativo@alfa.com.br", is_active=False)
    sem_email = criar_membro(org, "")

    enviar_relatorios(agora=AGORA)
    enviar_fila()

    destinatarios = {e.to[0] for e in mail.outbox}
    assert not {desligada.email, inativo.email} & destinatarios and "" not in destinatarios
    assert not RelatorioEnviado.objects.filter(usuario__in=[desligada, inativo, sem_email]).exists()


# --- cost ---------------------------------------------------------------------------------------------


def test_reads_per_organization_do_not_grow_with_its_members(org, dia_movimentado):
    def selects():
        with CaptureQueriesContext(connection) as consultas:
            enviar_relatorios(agora=AGORA)
        enviar_fila()
        return [q["sql"] for q in consultas.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]

    antes = selects()
    RelatorioEnviado.objects.all().delete()
    todas_as_organizacoes(EnvioEmail).delete()  # a fresh day, as far as the claims go
    for n in range(4):
        criar_membro(org, f"mais{n}@alfa.com.br")

    depois = selects()

    assert len(depois) == len(antes)
    assert len(mail.outbox) == 3 + 7


# --- through the command ----------------------------------------------------------------------------------


@pytest.fixture
def ontem_de_verdade(org, dona):
    """A document issued yesterday by the real clock (the command takes no date)."""
    dia = dia_do_relatorio()
    importar_docs(org, nfe(1, em(dia, 12), "123.45"))
    enviar_fila()
    mail.outbox.clear()
    return dia


def test_the_command_sends_once_per_day(ontem_de_verdade, dona):
    primeira = rodar("--task=enviar_relatorios")
    enviar_fila()
    segunda = rodar("--task=enviar_relatorios")
    enviar_fila()

    assert primeira.codigo == segunda.codigo == 0
    assert [e.to for e in mail.outbox] == [[dona.email]]
    assert f"dia {ontem_de_verdade:%d/%m/%Y}, 1 e-mail(s) enfileirado(s)" in primeira.out
    assert f"dia {ontem_de_verdade:%d/%m/%Y}, 0 e-mail(s) enfileirado(s)" in segunda.out


def test_dry_run_says_who_would_receive_and_sends_nothing(ontem_de_verdade, org, dona):
    saida = rodar("--task=enviar_relatorios", "--dry-run")
    enviar_fila()

    assert f"organização {org.slug}: 1 destinatário(s) (usuários {dona.pk})" in saida.out
    assert "1 e-mail(s) seriam enviados a 1 organização(ões)" in saida.out
    assert mail.outbox == [] and not RelatorioEnviado.objects.exists()


def test_with_its_lock_held_elsewhere_it_sends_nothing(ontem_de_verdade):
    from .test_comando import travar_em_outra_maquina

    travar_em_outra_maquina("enviar_relatorios")

    saida = rodar("--task=enviar_relatorios")
    enviar_fila()

    assert saida.codigo == 0 and "tarefa enviar_relatorios já está em execução" in saida.out
    assert mail.outbox == [] and not RelatorioEnviado.objects.exists()
