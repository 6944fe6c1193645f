"""A PATCH of a certificate or of the capture defaults writes only what it was asked to change.

As in tests/webhooks/test_escritas_concorrentes.py: the view reads the row, another writer commits (the
capture records a problem, the expiry task records an alert, another PATCH), then the PATCH writes. On
PostgreSQL the other writer runs in another thread on its own connection; on SQLite on the same one.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

import api.serializers.certificados as serializers_de_certificado
from core.certificados import atualizar_configuracao, cadastrar_certificado, configuracao_da_organizacao
from core.certificados.vencimento import _avisar
from core.models import ConfiguracaoConsulta
from core.sefaz.problemas import marcar_problema
from tests.webhooks.test_escritas_concorrentes import ESCRITORES, rodar


def entre_a_leitura_e_a_escrita(monkeypatch, funcao: str, escrita, outra_conexao: bool):
    """Make the next PATCH run `escrita` after the view loaded the row and before the PATCH writes it."""
    original = getattr(serializers_de_certificado, funcao)

    def atualizar(linha, **campos):
        rodar(escrita, outra_conexao)
        return original(linha, **campos)

    monkeypatch.setattr(serializers_de_certificado, funcao, atualizar)


@pytest.fixture
def certificado(org, e_cnpj):
    return cadastrar_certificado(org, e_cnpj.pfx, e_cnpj.senha, uf="35")


def no_banco(linha):
    return type(linha).objects.get(pk=linha.pk)


def patch(api, url, **campos) -> dict:
    resposta = api.patch(url, campos, format="json")
    assert resposta.status_code == 200, resposta.json()
    return resposta.json()


@ESCRITORES
@pytest.mark.django_db(transaction=True)
def test_a_patch_of_the_options_racing_the_capture_keeps_the_problem_it_recorded(
    api, certificado, monkeypatch, outra_conexao
):
    # given: the capture stops the certificate (a 593) while a PATCH of its interval is under way
    def capturar():
        marcar_problema(no_banco(certificado), "593: CNPJ do certificado difere", timezone.now())

    entre_a_leitura_e_a_escrita(monkeypatch, "atualizar_certificado", capturar, outra_conexao)

    # when
    resposta = patch(api, f"/api/certificados/{certificado.pk}/", intervalo_minutos=120)

    # then: the problem stands (no query runs until a person clears it) and the interval changed
    salvo = no_banco(certificado)
    assert (salvo.problema, salvo.intervalo_minutos) == ("593: CNPJ do certificado difere", 120)
    assert salvo.problema_em is not None and resposta["intervalo_minutos"] == 120


@ESCRITORES
@pytest.mark.django_db(transaction=True)
def test_clearing_a_problem_does_not_clear_a_new_one_recorded_after_the_read(
    api, certificado, monkeypatch, outra_conexao
):
    # given: a person clears the problem they saw while the capture records a new one
    marcar_problema(certificado, "593: CNPJ do certificado difere", timezone.now() - timedelta(hours=1))

    def capturar():
        marcar_problema(no_banco(certificado), "589: NSU acima do permitido", timezone.now())

    entre_a_leitura_e_a_escrita(monkeypatch, "atualizar_certificado", capturar, outra_conexao)

    # when
    resposta = patch(api, f"/api/certificados/{certificado.pk}/", problema="")

    # then: the new problem, which nobody has seen yet, still stops the queries, and the answer says so
    salvo = no_banco(certificado)
    assert salvo.problema == resposta["problema"] == "589: NSU acima do permitido"


@pytest.mark.django_db
def test_clearing_the_problem_one_read_clears_it(api, certificado):
    marcar_problema(certificado, "593: CNPJ do certificado difere", timezone.now())

    resposta = patch(api, f"/api/certificados/{certificado.pk}/", problema="")

    salvo = no_banco(certificado)
    assert (salvo.problema, salvo.problema_em, resposta["problema"]) == ("", None, "")


@ESCRITORES
@pytest.mark.django_db(transaction=True)
def test_a_patch_of_the_options_racing_the_expiry_task_keeps_the_alerts_it_sent(
    api, certificado, monkeypatch, outra_conexao
):
    # given: the daily task announces "expires in 30 days" while a PATCH of the name is under way
    quando = certificado.validade_fim - timedelta(days=20)
    entre_a_leitura_e_a_escrita(
        monkeypatch, "atualizar_certificado", lambda: _avisar(no_banco(certificado), quando), outra_conexao
    )

    # when
    patch(api, f"/api/certificados/{certificado.pk}/", nome="Matriz")

    # then: the alert stays recorded (it is not sent again tomorrow)
    salvo = no_banco(certificado)
    assert (salvo.avisos_de_vencimento, salvo.nome) == ([30], "Matriz")


@ESCRITORES
@pytest.mark.django_db(transaction=True)
def test_two_patches_of_different_capture_defaults_both_stay(api, org, monkeypatch, outra_conexao):
    # given: two people change the organization's defaults at once, one the interval, one the recipients
    configuracao = configuracao_da_organizacao(org)

    def outro_patch():
        atualizar_configuracao(no_banco(configuracao), destinatarios=["fiscal@alfa.com.br"])

    entre_a_leitura_e_a_escrita(monkeypatch, "atualizar_configuracao", outro_patch, outra_conexao)

    # when
    patch(api, "/api/certificados/configuracao/", intervalo_minutos=180)

    # then
    salvo = ConfiguracaoConsulta.objects.get(organizacao=org)
    assert (salvo.intervalo_minutos, salvo.destinatarios) == (180, ["fiscal@alfa.com.br"])
