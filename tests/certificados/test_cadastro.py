"""Registering certificates and their options in core.certificados: storage, encryption, defaults."""

import base64
import logging

import pytest
from django.db import connection

from core.certificados import (
    CertificadoDuplicado,
    CertificadoInvalido,
    OpcaoInvalida,
    OpcoesDeConsulta,
    a1_do_certificado,
    atualizar_certificado,
    atualizar_configuracao,
    cadastrar_certificado,
    configuracao_da_organizacao,
    excluir_certificado,
    opcoes_efetivas,
)
from core.models import CertificadoDigital, ConfiguracaoConsulta, CursorDistribuicao
from core.tenancy import escopo
from tests.certificados.conftest import SENHA

pytestmark = pytest.mark.django_db


def test_it_stores_the_metadata_and_the_options(org, e_cnpj, settings):
    settings.FISCAL_ACEITAR_HOMOLOGACAO = True
    certificado = cadastrar_certificado(org, e_cnpj.pfx, SENHA, nome="Matriz", uf="SP", ambiente=2, consulta_automatica=True)

    salvo = escopo(CertificadoDigital, org).get()
    assert salvo.pk == certificado.pk
    assert (salvo.cnpj, salvo.cpf, salvo.titular, salvo.emissor) == ("11222333000181", "", "DISTRIBUIDORA AURORA LTDA", "AC TESTE FISCAL")
    assert (salvo.nome, salvo.uf, salvo.ambiente, salvo.consulta_automatica) == ("Matriz", "35", 2, True)
    assert (salvo.intervalo_minutos, salvo.servicos, salvo.ciencia_automatica) == (None, None, None)
    assert len(salvo.thumbprint) == 64 and salvo.validade_inicio < salvo.validade_fim


def test_the_pfx_and_password_are_encrypted_at_rest(org, e_cnpj):
    certificado = cadastrar_certificado(org, e_cnpj.pfx, SENHA)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pfx, senha FROM core_certificadodigital WHERE id = %s", [certificado.pk])
        pfx_bruto, senha_bruta = cursor.fetchone()
    for bruto in (pfx_bruto, senha_bruta):
        assert SENHA not in bruto
        assert base64.b64encode(e_cnpj.pfx)[:32].decode() not in bruto
        assert base64.urlsafe_b64encode(e_cnpj.pfx)[:32].decode() not in bruto
        assert e_cnpj.pfx[:64].decode("latin-1") not in bruto
    recarregado = escopo(CertificadoDigital, org).get()
    assert bytes(recarregado.pfx) == e_cnpj.pfx and recarregado.senha == SENHA
    assert "Senha" not in repr(recarregado.senha) and SENHA not in repr(recarregado.pfx)


def test_a1_do_certificado_gives_back_the_same_certificate(org, e_cpf):
    certificado = cadastrar_certificado(org, e_cpf.pfx, SENHA)

    a1 = a1_do_certificado(escopo(CertificadoDigital, org).get(pk=certificado.pk))

    assert (a1.thumbprint, a1.cpf) == (certificado.thumbprint, "52998224725")


def test_the_same_file_twice_names_the_existing_certificate(org, outra_org, e_cnpj, e_cnpj_legado):
    primeiro = cadastrar_certificado(org, e_cnpj.pfx, SENHA)

    with pytest.raises(CertificadoDuplicado) as erro:
        cadastrar_certificado(org, e_cnpj_legado.pfx, SENHA)  # the same certificate in another wrapping

    assert erro.value.existente_id == primeiro.pk
    assert f"id {primeiro.pk}" in str(erro.value) and erro.value.campo == "arquivo"
    assert cadastrar_certificado(outra_org, e_cnpj.pfx, SENHA).pk != primeiro.pk  # other tenants are separate


def test_a_concurrent_duplicate_is_caught_by_the_constraint(org, e_cnpj, monkeypatch):
    primeiro = cadastrar_certificado(org, e_cnpj.pfx, SENHA)
    chamadas = iter([None, primeiro.pk])  # the pre-check misses it, as a concurrent insert would
    monkeypatch.setattr("core.certificados.cadastro._cadastrado", lambda *a: next(chamadas))

    with pytest.raises(CertificadoDuplicado) as erro:
        cadastrar_certificado(org, e_cnpj.pfx, SENHA)

    assert erro.value.existente_id == primeiro.pk
    assert escopo(CertificadoDigital, org).count() == 1


def test_the_uf_comes_from_the_certificate_subject_when_not_given(org, e_cnpj, autoassinado_com_cnpj_no_cn):
    assert cadastrar_certificado(org, autoassinado_com_cnpj_no_cn.pfx, SENHA).uf == "41"  # ST=PR
    assert cadastrar_certificado(org, e_cnpj.pfx, SENHA).uf == ""  # the test CA writes no ST


def test_automatic_capture_needs_a_uf(org, e_cnpj):
    with pytest.raises(OpcaoInvalida) as erro:
        cadastrar_certificado(org, e_cnpj.pfx, SENHA, consulta_automatica=True)
    assert erro.value.campo == "uf"
    assert not escopo(CertificadoDigital, org).exists()


@pytest.mark.parametrize(
    ("opcoes", "campo"),
    [
        ({"uf": "XX"}, "uf"),
        ({"uf": "91"}, "uf"),
        ({"ambiente": 3}, "ambiente"),
        ({"intervalo_minutos": 59}, "intervalo_minutos"),
        ({"intervalo_minutos": "abc"}, "intervalo_minutos"),
        ({"servicos": ["nfe", "mdfe"]}, "servicos"),
        ({"servicos": []}, "servicos"),
        ({"ciencia_automatica": "sim"}, "ciencia_automatica"),
    ],
)
def test_bad_options_name_their_field_and_store_nothing(org, e_cnpj, opcoes, campo):
    with pytest.raises(OpcaoInvalida) as erro:
        cadastrar_certificado(org, e_cnpj.pfx, SENHA, **opcoes)
    assert erro.value.campo == campo
    assert not escopo(CertificadoDigital, org).exists()


def test_options_are_normalised(org, e_cnpj, settings):
    settings.FISCAL_ACEITAR_HOMOLOGACAO = True
    certificado = cadastrar_certificado(
        org, e_cnpj.pfx, SENHA, uf="sp", ambiente="2", intervalo_minutos="90", servicos="cte, NFE, cte"
    )
    assert (certificado.uf, certificado.ambiente, certificado.intervalo_minutos, certificado.servicos) == (
        "35", 2, 90, ["nfe", "cte"]
    )  # fmt: skip


def test_an_unknown_option_is_a_programming_error(org, e_cnpj):
    with pytest.raises(TypeError):
        cadastrar_certificado(org, e_cnpj.pfx, SENHA, cor="azul")


def test_update_changes_only_the_options_given(org, e_cnpj):
    certificado = cadastrar_certificado(org, e_cnpj.pfx, SENHA, uf="35", nome="A")

    atualizar_certificado(certificado, uf="RJ", intervalo_minutos=120, consulta_automatica=True)

    salvo = escopo(CertificadoDigital, org).get()
    assert (salvo.uf, salvo.intervalo_minutos, salvo.consulta_automatica, salvo.nome) == ("33", 120, True, "A")
    with pytest.raises(OpcaoInvalida):
        atualizar_certificado(salvo, uf="")  # automatic capture is on: the UF is needed


def test_a_problem_can_only_be_cleared(org, e_cnpj):
    certificado = cadastrar_certificado(org, e_cnpj.pfx, SENHA)
    escopo(CertificadoDigital, org).update(problema="593: CNPJ difere", problema_em=certificado.criado_em)
    certificado.refresh_from_db()

    with pytest.raises(OpcaoInvalida):
        atualizar_certificado(certificado, problema="outro")
    atualizar_certificado(certificado, problema="")

    salvo = escopo(CertificadoDigital, org).get()
    assert (salvo.problema, salvo.problema_em) == ("", None)


def test_deleting_a_certificate_keeps_the_nsu_cursor(org, e_cnpj):
    certificado = cadastrar_certificado(org, e_cnpj.pfx, SENHA)
    CursorDistribuicao.objects.create(
        certificado=certificado, documento="11222333000181", servico="nfe", ambiente=1, ult_nsu=42
    )

    excluir_certificado(certificado)

    cursor = CursorDistribuicao.objects.get()
    assert (cursor.ult_nsu, cursor.certificado_id) == (42, None)
    assert not escopo(CertificadoDigital, org).exists()


# --- Organization defaults -----------------------------------------------------------------------


def test_the_organization_configuration_is_created_once_with_defaults(org):
    primeira = configuracao_da_organizacao(org)
    assert configuracao_da_organizacao(org).pk == primeira.pk
    assert (primeira.intervalo_minutos, primeira.servicos, primeira.ciencia_automatica, primeira.destinatarios) == (
        60, ["nfe", "cte"], False, []
    )  # fmt: skip
    assert escopo(ConfiguracaoConsulta, org).count() == 1


def test_the_configuration_validates_and_normalises(org):
    configuracao = configuracao_da_organizacao(org)

    atualizar_configuracao(configuracao, servicos="nfe", destinatarios="Fiscal@Alfa.com.br; ti@alfa.com.br")

    salva = escopo(ConfiguracaoConsulta, org).get()
    assert salva.servicos == ["nfe"] and salva.destinatarios == ["fiscal@alfa.com.br", "ti@alfa.com.br"]
    for campos, campo in [({"intervalo_minutos": 30}, "intervalo_minutos"), ({"destinatarios": ["x@"]}, "destinatarios"),
                          ({"intervalo_minutos": None}, "intervalo_minutos")]:  # fmt: skip
        with pytest.raises(OpcaoInvalida) as erro:
            atualizar_configuracao(configuracao, **campos)
        assert erro.value.campo == campo


def test_effective_options_fall_back_to_the_organization_defaults(org, e_cnpj, e_cpf, settings):
    settings.FISCAL_ACEITAR_HOMOLOGACAO = True
    padrao = cadastrar_certificado(org, e_cnpj.pfx, SENHA, uf="PR", ambiente=2)
    proprio = cadastrar_certificado(
        org, e_cpf.pfx, SENHA, uf="35", intervalo_minutos=180, servicos=["cte"], ciencia_automatica=False
    )
    assert opcoes_efetivas(padrao) == OpcoesDeConsulta(60, ["nfe", "cte"], False, "41", 2)
    assert not escopo(ConfiguracaoConsulta, org).exists()  # reading the defaults creates nothing

    atualizar_configuracao(configuracao_da_organizacao(org), intervalo_minutos=120, ciencia_automatica=True, servicos=["nfe"])

    assert opcoes_efetivas(padrao) == OpcoesDeConsulta(120, ["nfe"], True, "41", 2)
    assert opcoes_efetivas(proprio) == OpcoesDeConsulta(180, ["cte"], False, "35", 1)


# --- Secrets never in logs -----------------------------------------------------------------------


def test_the_password_never_reaches_the_logs(org, e_cnpj, vencido, caplog):
    caplog.set_level(logging.DEBUG)

    certificado = cadastrar_certificado(org, e_cnpj.pfx, SENHA, uf="SP")
    pk = certificado.pk
    for arquivo, senha in [(e_cnpj, "errada-" + SENHA), (vencido, SENHA), (e_cnpj, SENHA)]:
        with pytest.raises(CertificadoInvalido):
            cadastrar_certificado(org, arquivo.pfx, senha)
    a1_do_certificado(certificado)
    excluir_certificado(certificado)

    assert f"certificado {pk} cadastrado" in caplog.text and f"certificado {pk} excluído" in caplog.text
    assert SENHA not in caplog.text
    assert base64.b64encode(e_cnpj.pfx)[:24].decode() not in caplog.text
