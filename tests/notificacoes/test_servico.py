"""NotificationService: each e-mail rendered in HTML and plain text with the data it is about."""

import logging
import smtplib
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.core.mail.backends.base import BaseEmailBackend

from core.documentos.importacao import importar_bytes
from core.geracao.documentos import gerar_cte, gerar_nfe
from core.models import CTe, NFe, Origem
from core.notifications import NotificationService, atualizar_preferencias
from core.notifications.formatacao import formatar_chave, formatar_documento, formatar_moeda
from core.tenancy import escopo

from .conftest import criar_membro, destinatarios, html

pytestmark = pytest.mark.django_db


class BackendQuebrado(BaseEmailBackend):
    """An SMTP server that drops every message."""

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.fixture
def nfe(org, emissor):
    documento = gerar_nfe(certificado=emissor, numero=1234, serie=7, destinatario_nome="MERCADO BOM PRECO LTDA")
    importar_bytes(organizacao=org, nome="nota.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
    return escopo(NFe, org).get()


@pytest.fixture
def cte(org, transportadora):
    documento = gerar_cte(certificado=transportadora, numero=567, valor_prestacao=Decimal("1530.40"))
    importar_bytes(organizacao=org, nome="cte.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
    return escopo(CTe, org).get()


def partes(email) -> list[str]:
    return [email.body, html(email)]


# -- formatting ------------------------------------------------------------------------------


def test_it_formats_money_keys_and_tax_ids_the_brazilian_way():
    assert formatar_moeda(Decimal("1234567.8")) == "R$ 1.234.567,80"
    assert formatar_moeda("0.5") == "R$ 0,50"
    assert formatar_moeda(Decimal("-12.00")) == "-R$ 12,00"
    assert formatar_chave("35261111222333000181550010000012341000012345") == (
        "3526 1111 2223 3300 0181 5500 1000 0012 3410 0001 2345"
    )
    assert formatar_documento("11222333000181") == "11.222.333/0001-81"
    assert formatar_documento("12ABC34501DE35") == "12.ABC.345/01DE-35"  # alphanumeric CNPJ (2026)
    assert formatar_documento("12345678909") == "123.456.789-09"


# -- the six named notifications -------------------------------------------------------------


def test_nfe_importada_shows_the_document(dona, nfe, mailoutbox):
    assert NotificationService().notificar_nfe_importada(dona, nfe) is True

    [email] = mailoutbox
    assert email.subject == "NF-e 1234 importada — DISTRIBUIDORA AURORA LTDA"
    assert email.to == ["dona@alfa.com.br"] and email.from_email == "fiscal <nao-responda@fiscal.exemplo.com.br>"
    for texto in partes(email):
        assert formatar_chave(nfe.chave) in texto
        assert "1234" in texto and "7" in texto
        assert "DISTRIBUIDORA AURORA LTDA" in texto and "11.222.333/0001-81" in texto
        assert "MERCADO BOM PRECO LTDA" in texto
        assert formatar_moeda(nfe.valor_total) in texto and "R$ " in texto
        assert "Autorizada" in texto
        assert f"https://fiscal.exemplo.com.br/admin/core/nfe/chave/{nfe.chave}/" in texto  # the admin page, not the API
        assert f"https://fiscal.exemplo.com.br/admin/core/nfe/chave/{nfe.chave}/xml/" in texto
        assert "/api/nfes/" not in texto
        assert "Comercial Alfa Ltda" in texto  # the organization, in the footer
        assert "https://fiscal.exemplo.com.br/api/notificacoes/preferencias/" in texto
    assert html(email).lstrip().startswith("<!DOCTYPE html>")


def test_cte_importado_shows_the_document(dona, cte, mailoutbox):
    assert NotificationService().notificar_cte_importado(dona, cte) is True

    [email] = mailoutbox
    assert email.subject == "CT-e 567 importado — TRANSPORTES RAPIDO SUL LTDA"
    for texto in partes(email):
        assert formatar_chave(cte.chave) in texto
        assert "567" in texto and "TRANSPORTES RAPIDO SUL LTDA" in texto and "19.131.243/0001-97" in texto
        assert "R$ 1.530,40" in texto
        assert f"https://fiscal.exemplo.com.br/admin/core/cte/chave/{cte.chave}/" in texto
        assert "/api/ctes/" not in texto


def test_a_reform_credit_note_shows_its_finalidade_and_its_ibs_cbs_and_is(org, dona, emissor, mailoutbox):
    from core.geracao.documentos import FUSO

    documento = gerar_nfe(certificado=emissor, data_emissao=datetime(2027, 2, 1, 10, tzinfo=FUSO), reforma=True,
                          imposto_seletivo=True, finalidade=5)  # fmt: skip
    importar_bytes(organizacao=org, nome="credito.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
    nota = escopo(NFe, org).get()
    assert NotificationService().notificar_nfe_importada(dona, nota) is True

    [email] = mailoutbox
    for texto in partes(email):
        assert "Nota de crédito" in texto
        assert formatar_moeda(nota.valor_total) in texto  # vNFTot: 2027 taxes are charged on top
        assert formatar_moeda(nota.valor_nf) in texto and "vNF" in texto
        for rotulo, valor in (("IBS", nota.valor_ibs), ("CBS", nota.valor_cbs), ("Imposto Seletivo", nota.valor_is)):
            assert rotulo in texto and formatar_moeda(valor) in texto


def test_a_document_without_the_reform_shows_no_reform_lines(dona, nfe, mailoutbox):
    NotificationService().notificar_nfe_importada(dona, nfe)
    [email] = mailoutbox
    for texto in partes(email):
        assert "CBS" not in texto and "Finalidade" not in texto


def test_erro_importacao_says_which_file_and_why(dona, mailoutbox):
    erro = {
        "arquivo": "lote.zip/nota-42.xml",
        "mensagem": "assinatura inválida: o digest não confere",
        "chave": "",
        "tipo_xml": "nfeProc",
    }

    assert NotificationService().notificar_erro_importacao(dona, erro) is True

    [email] = mailoutbox
    assert email.subject == "Erro ao importar nota-42.xml"
    for texto in partes(email):
        assert "lote.zip/nota-42.xml" in texto and "o digest não confere" in texto and "nfeProc" in texto
        assert "https://fiscal.exemplo.com.br/api/importacoes/?status=erro" in texto


def test_consulta_concluida_is_off_by_default_and_shows_the_counts_once_enabled(dona, org, mailoutbox):
    consulta = SimpleNamespace(
        documentos=12, nfe=9, cte=3, eventos=4, resumos=2, erros=0, cnpj="11222333000181", servico="nfe",
        ult_nsu=1520, max_nsu=1600, concluida_em=datetime(2026, 11, 29, 13, 5, tzinfo=ZoneInfo("UTC")),
        mensagem="Documento(s) localizado(s)",
    )  # fmt: skip
    assert NotificationService().notificar_consulta_concluida(dona, consulta) is False
    assert mailoutbox == []

    atualizar_preferencias(usuario=dona, organizacao=org, campos={"consulta_concluida": True})
    assert NotificationService().notificar_consulta_concluida(dona, consulta) is True

    [email] = mailoutbox
    assert email.subject == "Consulta à SEFAZ concluída — 12 documentos novos"
    for texto in partes(email):
        assert "11.222.333/0001-81" in texto and "NF-e" in texto
        assert "29/11/2026 10:05" in texto  # local time (America/Sao_Paulo)
        assert "1520" in texto and "1600" in texto and "Documento(s) localizado(s)" in texto


def test_resumo_diario_shows_totals_and_rankings(dona, mailoutbox):
    estatisticas = {
        "data": date(2026, 11, 28),
        "nfe": {"quantidade": 1234, "valor": Decimal("987654.32")},
        "cte": {"quantidade": 56, "valor": Decimal("7890.10")},
        "top_emitentes": [
            {"nome": "DISTRIBUIDORA AURORA LTDA", "documento": "11222333000181", "quantidade": 40, "valor": 5000}
        ],
        "top_rotas": [{"uf_inicio": "SP", "uf_fim": "RJ", "quantidade": 12, "valor": Decimal("3200.5")}],
        "erros_importacao": 3,
        "falhas_webhook": 1,
        "certificados_vencendo": [
            {"titular": "AURORA", "cnpj": "11222333000181", "validade_fim": date(2026, 12, 5), "dias": 7}
        ],
    }

    assert NotificationService().enviar_resumo_diario(dona, estatisticas) is True

    [email] = mailoutbox
    assert email.subject == "Resumo de 28/11/2026 — 1.234 NF-e, 56 CT-e"
    for texto in partes(email):
        assert "R$ 987.654,32" in texto and "R$ 7.890,10" in texto
        assert "DISTRIBUIDORA AURORA LTDA" in texto and "R$ 5.000,00" in texto
        assert "SP → RJ" in texto and "R$ 3.200,50" in texto
        assert "05/12/2026" in texto


@pytest.mark.parametrize(
    ("dias", "assunto"),
    [
        (15, "Certificado digital vence em 15 dias — DISTRIBUIDORA AURORA LTDA"),
        (1, "Certificado digital vence amanhã — DISTRIBUIDORA AURORA LTDA"),
        (0, "Certificado digital vence hoje — DISTRIBUIDORA AURORA LTDA"),
        (-3, "Certificado digital venceu há 3 dias — DISTRIBUIDORA AURORA LTDA"),
    ],
)
def test_certificado_vencendo_names_the_certificate_and_its_deadline(dona, mailoutbox, dias, assunto):
    certificado = SimpleNamespace(
        titular="DISTRIBUIDORA AURORA LTDA", cnpj="11222333000181", validade_fim=date(2026, 12, 14),
        emissor="AC TESTE v5", numero_serie="0A1B2C",
    )  # fmt: skip

    assert NotificationService().notificar_certificado_vencendo(dona, certificado, dias) is True

    [email] = mailoutbox
    assert email.subject == assunto
    for texto in partes(email):
        assert "DISTRIBUIDORA AURORA LTDA" in texto and "11.222.333/0001-81" in texto and "14/12/2026" in texto
        assert "AC TESTE v5" in texto


def test_a_dict_works_as_well_as_an_object(dona, mailoutbox):
    certificado = {"titular": "AURORA", "cnpj": "11222333000181", "validade_fim": "2026-12-14"}
    assert NotificationService().notificar_certificado_vencendo(dona, certificado, 30) is True
    assert "14/12/2026" in mailoutbox[0].body


# -- who may receive --------------------------------------------------------------------------


def test_nothing_goes_to_inactive_users_users_without_address_or_who_turned_it_off(org, dona, nfe, mailoutbox):
    inativo = criar_membro(org, "inativo@alfa.com.br", is_active=False)
    sem_email = criar_membro(org, "")
    atualizar_preferencias(usuario=dona, organizacao=org, campos={"nfe_importada": False})
    servico = NotificationService()

    assert [servico.notificar_nfe_importada(u, nfe) for u in (inativo, sem_email, dona)] == [False, False, False]
    assert mailoutbox == []


def test_a_document_is_never_emailed_to_another_organization(estranho, nfe, mailoutbox):
    assert NotificationService().notificar_nfe_importada(estranho, nfe) is False
    assert mailoutbox == []


def test_a_user_without_organization_gets_nothing(nfe, mailoutbox, django_user_model):
    solto = django_user_model.objects.create_user(username="solto", email="solto@exemplo.com.br")
    assert NotificationService().notificar_nfe_importada(solto, nfe) is False


def test_names_from_the_xml_are_escaped_in_html_and_kept_on_one_subject_line(dona, mailoutbox):
    nome = "A&B <script>x</script>\nLTDA"
    dados = {"chave": "3" * 44, "modelo": "55", "numero": 9, "serie": 1, "emitente": {"nome": nome}}

    assert NotificationService().notificar_nfe_importada(dona, dados) is True

    [email] = mailoutbox
    assert email.subject == "NF-e 9 importada — A&B <script>x</script> LTDA"
    assert "<script>" not in html(email) and "A&amp;B &lt;script&gt;" in html(email)
    assert "A&B <script>x</script>" in email.body  # the text part is not HTML


def test_a_failing_mail_server_is_logged_and_never_raises(dona, nfe, settings, caplog, mailoutbox):
    settings.EMAIL_BACKEND = "tests.notificacoes.test_servico.BackendQuebrado"

    with caplog.at_level(logging.ERROR, logger="core.notifications"):
        assert NotificationService().notificar_nfe_importada(dona, nfe) is False

    assert "nfe_importada" in caplog.text and "SMTPServerDisconnected" in caplog.text
    assert "dona@alfa.com.br" not in caplog.text  # no personal data in logs


def test_many_recipients_share_one_connection(org, dona, colega, nfe, mailoutbox):
    from core.notifications import destinatarios as pessoas

    todos = pessoas(org)
    servico = NotificationService(preferencias={d.usuario.pk: d.preferencia for d in todos})
    with servico.conexao():
        enviados = [servico.notificar_nfe_importada(d.usuario, nfe) for d in todos]

    assert enviados == [True, True]
    assert destinatarios(mailoutbox) == ["colega@alfa.com.br", "dona@alfa.com.br"]
    assert "Olá, Carla." in mailoutbox[1].body
