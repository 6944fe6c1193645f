"""The admin: upload form for certificates, editable options and defaults, read-only SEFAZ history."""

import base64
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.certificados import atualizar_certificado, cadastrar_certificado
from core.models import CertificadoDigital, ConfiguracaoConsulta, ConsultaSEFAZ, CursorDistribuicao
from core.tenancy import escopo, inserir
from tests.certificados.conftest import SENHA
from tests.formulario_html import dados_do_formulario

pytestmark = pytest.mark.django_db

ADICIONAR = reverse("admin:core_certificadodigital_add")


@pytest.fixture
def membro(client, nova_org):
    """A staff member of `org` (not a superuser): sees and manages only `org`."""
    client.force_login(nova_org.usuario)
    return client


@pytest.fixture
def superusuario(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@x.com", "senha-forte-123"))
    return client


def formulario(arquivo, senha=SENHA, **campos):
    return {"arquivo": arquivo.upload(), "senha": senha, "ambiente": "1", "ciencia_automatica": "unknown", **campos}


def sem_segredos(resposta, arquivo):
    assert SENHA.encode() not in resposta.content
    assert base64.b64encode(arquivo.pfx)[:24] not in resposta.content


def test_the_add_form_uploads_a_certificate(membro, org, e_cnpj):
    pagina = membro.get(ADICIONAR)
    assert pagina.status_code == 200
    assert b'type="file"' in pagina.content and b'name="organizacao"' not in pagina.content

    resposta = membro.post(ADICIONAR, formulario(e_cnpj, uf="35", consulta_automatica="on", intervalo_minutos="120",
                                                 servicos=["nfe"], nome="Matriz"))  # fmt: skip

    assert resposta.status_code == 302, resposta.context["adminform"].form.errors
    certificado = escopo(CertificadoDigital, org).get()
    assert (certificado.cnpj, certificado.uf, certificado.consulta_automatica) == ("11222333000181", "35", True)
    assert (certificado.intervalo_minutos, certificado.servicos, certificado.ciencia_automatica, certificado.nome) == (
        120, ["nfe"], None, "Matriz"
    )  # fmt: skip
    assert certificado.senha == SENHA


@pytest.mark.parametrize(
    ("arquivo", "senha", "campos", "campo", "trecho"),
    [
        ("e_cnpj", "errada", {}, "senha", "Senha incorreta"),
        ("vencido", SENHA, {}, "arquivo", "venceu em"),
        ("sem_documento", SENHA, {}, "arquivo", "não traz CNPJ nem CPF"),
        ("e_cnpj", SENHA, {"consulta_automatica": "on"}, "uf", "Informe a UF"),
    ],
)
def test_errors_are_shown_on_the_form_fields(membro, org, request, arquivo, senha, campos, campo, trecho):
    dados = request.getfixturevalue(arquivo)

    resposta = membro.post(ADICIONAR, formulario(dados, senha=senha, **campos))

    assert resposta.status_code == 200
    erros = resposta.context["adminform"].form.errors
    assert list(erros) == [campo] and trecho in erros[campo][0]
    sem_segredos(resposta, dados)  # the password is not rendered back into the form
    assert not escopo(CertificadoDigital, org).exists()


def test_a_duplicate_is_shown_on_the_file_field(membro, org, e_cnpj):
    existente = cadastrar_certificado(org, e_cnpj.pfx, SENHA)
    resposta = membro.post(ADICIONAR, formulario(e_cnpj))
    assert f"id {existente.pk}" in resposta.context["adminform"].form.errors["arquivo"][0]


def test_the_add_form_refuses_homologacao_saying_what_to_change(membro, org, e_cnpj):
    resposta = membro.post(ADICIONAR, formulario(e_cnpj, ambiente="2"))

    assert resposta.status_code == 200
    [erro] = resposta.context["adminform"].form.errors["ambiente"]
    assert "FISCAL_ACEITAR_HOMOLOGACAO=true" in erro and "ambiente 1 (produção)" in erro
    assert not escopo(CertificadoDigital, org).exists()


def test_the_change_form_edits_options_and_never_shows_the_secrets(membro, org, e_cnpj, settings):
    settings.FISCAL_ACEITAR_HOMOLOGACAO = True  # the form sets ambiente 2
    certificado = cadastrar_certificado(org, e_cnpj.pfx, SENHA, uf="SP")
    escopo(CertificadoDigital, org).update(problema="593: CNPJ-Base difere")
    url = reverse("admin:core_certificadodigital_change", args=[certificado.pk])

    pagina = membro.get(url)

    assert pagina.status_code == 200
    assert b"DISTRIBUIDORA AURORA LTDA" in pagina.content and certificado.thumbprint.encode() in pagina.content
    sem_segredos(pagina, e_cnpj)
    assert b'name="senha"' not in pagina.content and b'name="pfx"' not in pagina.content

    resposta = membro.post(url, {"uf": "33", "ambiente": "2", "intervalo_minutos": "", "ciencia_automatica": "true",
                                 "servicos": ["cte"], "nome": "Filial", "resolver_problema": "on"})  # fmt: skip

    assert resposta.status_code == 302, resposta.context["adminform"].form.errors
    salvo = escopo(CertificadoDigital, org).get()
    assert (salvo.uf, salvo.ambiente, salvo.ciencia_automatica, salvo.servicos, salvo.nome) == ("33", 2, True, ["cte"], "Filial")
    assert salvo.problema == "" and bytes(salvo.pfx) == e_cnpj.pfx


def pagina_aberta(cliente, url, formulario="certificadodigital_form") -> dict:
    """The change form as the browser would send it back, hidden initial values included."""
    pagina = cliente.get(url)
    assert pagina.status_code == 200
    return dados_do_formulario(pagina.content.decode(), formulario)


def test_an_old_change_page_writes_only_what_the_person_changed(membro, org, e_cnpj):
    certificado = cadastrar_certificado(org, e_cnpj.pfx, SENHA, uf="SP")
    url = reverse("admin:core_certificadodigital_change", args=[certificado.pk])
    dados = pagina_aberta(membro, url)
    # given: while the page is open, the API changes the interval and the services
    atualizar_certificado(escopo(CertificadoDigital, org).get(), intervalo_minutos=240, servicos=["cte"])

    # when: the person saves the old page with only a new name
    resposta = membro.post(url, {**dados, "nome": ["Matriz"]})

    # then
    assert resposta.status_code == 302, resposta.context["adminform"].form.errors
    salvo = escopo(CertificadoDigital, org).get()
    assert (salvo.nome, salvo.intervalo_minutos, salvo.servicos) == ("Matriz", 240, ["cte"])


def test_an_old_change_page_still_applies_what_the_person_changed(membro, org, e_cnpj):
    certificado = cadastrar_certificado(org, e_cnpj.pfx, SENHA, uf="SP", intervalo_minutos=240, nome="Matriz")
    url = reverse("admin:core_certificadodigital_change", args=[certificado.pk])
    dados = pagina_aberta(membro, url)
    atualizar_certificado(escopo(CertificadoDigital, org).get(), nome="Nome da API", consulta_automatica=True)

    resposta = membro.post(url, {**dados, "intervalo_minutos": [""], "servicos": ["nfe"]})

    assert resposta.status_code == 302, resposta.context["adminform"].form.errors
    salvo = escopo(CertificadoDigital, org).get()
    assert (salvo.nome, salvo.consulta_automatica) == ("Nome da API", True)
    assert (salvo.intervalo_minutos, salvo.servicos) == (None, ["nfe"])


def test_resolving_on_an_old_page_leaves_a_problem_recorded_after_it_was_opened(membro, org, e_cnpj):
    certificado = cadastrar_certificado(org, e_cnpj.pfx, SENHA, uf="SP")
    lido = timezone.now() - timedelta(hours=1)
    escopo(CertificadoDigital, org).update(problema="593: CNPJ-Base difere", problema_em=lido)
    url = reverse("admin:core_certificadodigital_change", args=[certificado.pk])
    dados = pagina_aberta(membro, url)
    # given: the capture records a new problem while the page is open
    escopo(CertificadoDigital, org).update(problema="656: consumo indevido", problema_em=timezone.now())

    resposta = membro.post(url, {**dados, "nome": ["Matriz"], "resolver_problema": ["on"]}, follow=True)

    salvo = escopo(CertificadoDigital, org).get()
    assert (salvo.nome, salvo.problema) == ("Matriz", "656: consumo indevido")
    [aviso] = [str(m) for m in resposta.context["messages"] if "problema" in str(m)]
    assert "656: consumo indevido" in aviso


def test_resolving_the_problem_the_page_showed_clears_it(membro, org, e_cnpj):
    certificado = cadastrar_certificado(org, e_cnpj.pfx, SENHA, uf="SP")
    escopo(CertificadoDigital, org).update(problema="593: CNPJ-Base difere", problema_em=timezone.now())
    url = reverse("admin:core_certificadodigital_change", args=[certificado.pk])
    dados = pagina_aberta(membro, url)

    resposta = membro.post(url, {**dados, "resolver_problema": ["on"]})

    assert resposta.status_code == 302, resposta.context["adminform"].form.errors
    assert escopo(CertificadoDigital, org).get().problema == ""


def test_the_list_shows_only_the_organizations_certificates(membro, org, outra_org, e_cnpj, outro_e_cnpj, vencido):
    cadastrar_certificado(org, e_cnpj.pfx, SENHA)
    cadastrar_certificado(outra_org, outro_e_cnpj.pfx, SENHA)
    deles = escopo(CertificadoDigital, outra_org).get()

    lista = membro.get(reverse("admin:core_certificadodigital_changelist"))

    assert lista.context["cl"].result_count == 1
    assert b"DISTRIBUIDORA AURORA" in lista.content and b"TRANSPORTES RAPIDO SUL" not in lista.content
    assert membro.get(reverse("admin:core_certificadodigital_change", args=[deles.pk])).status_code == 302


def test_a_superuser_chooses_the_organization(superusuario, outra_org, e_cpf):
    assert b'name="organizacao"' in superusuario.get(ADICIONAR).content

    resposta = superusuario.post(ADICIONAR, formulario(e_cpf, organizacao=str(outra_org.pk)))

    assert resposta.status_code == 302
    assert escopo(CertificadoDigital, outra_org).get().cpf == "52998224725"


def test_deleting_in_the_admin(membro, org, e_cnpj):
    certificado = cadastrar_certificado(org, e_cnpj.pfx, SENHA)
    url = reverse("admin:core_certificadodigital_delete", args=[certificado.pk])
    assert membro.post(url, {"post": "yes"}).status_code == 302
    assert not escopo(CertificadoDigital, org).exists()


def test_the_configuration_is_edited_in_place(membro, org):
    lista = membro.get(reverse("admin:core_configuracaoconsulta_changelist"))
    configuracao = escopo(ConfiguracaoConsulta, org).get()
    url = reverse("admin:core_configuracaoconsulta_change", args=[configuracao.pk])
    assert lista.status_code == 302 and lista.url == url

    resposta = membro.post(url, {"intervalo_minutos": "90", "servicos": ["nfe"], "ciencia_automatica": "on",
                                 "destinatarios": "Fiscal@Alfa.com.br\nti@alfa.com.br"})  # fmt: skip

    assert resposta.status_code == 302, resposta.context["adminform"].form.errors
    configuracao.refresh_from_db()
    assert (configuracao.intervalo_minutos, configuracao.servicos, configuracao.ciencia_automatica) == (90, ["nfe"], True)
    assert configuracao.destinatarios == ["fiscal@alfa.com.br", "ti@alfa.com.br"]
    invalida = membro.post(url, {"intervalo_minutos": "90", "servicos": ["nfe"], "destinatarios": "nao-e-email"})
    assert "destinatarios" in invalida.context["adminform"].form.errors


def test_cursors_and_queries_are_read_only(membro, org, outra_org, e_cnpj):
    certificado = cadastrar_certificado(org, e_cnpj.pfx, SENHA)
    # A cursor is the CNPJ's: a member sees those of the CNPJs their organization holds a certificate of.
    for organizacao, documento in ((org, "11222333000181"), (outra_org, "61585865000151")):
        cursor = CursorDistribuicao.objects.create(documento=documento, servico="nfe", ambiente=1, ult_nsu=7)
        inserir(ConsultaSEFAZ, organizacao, [ConsultaSEFAZ(
            organizacao=organizacao, cursor=cursor, documento=documento, servico="nfe", ambiente=1,
            tipo="distNSU", cstat=138, xmotivo="Documento(s) localizado(s)",
        )])  # fmt: skip
    CursorDistribuicao.objects.filter(documento="11222333000181").update(certificado=certificado)

    for modelo in ("cursordistribuicao", "consultasefaz"):
        lista = membro.get(reverse(f"admin:core_{modelo}_changelist"))
        assert lista.status_code == 200 and lista.context["cl"].result_count == 1
        assert membro.get(reverse(f"admin:core_{modelo}_add")).status_code == 403
        pk = lista.context["cl"].result_list[0].pk
        detalhe = membro.get(reverse(f"admin:core_{modelo}_change", args=[pk]))
        assert detalhe.status_code == 200 and b'type="submit" value="Salvar"' not in detalhe.content
        assert membro.get(reverse(f"admin:core_{modelo}_delete", args=[pk])).status_code == 403


def test_a_superuser_lists_every_organizations_configuration(superusuario, org, outra_org):
    from core.certificados import configuracao_da_organizacao

    for organizacao in (org, outra_org):
        configuracao_da_organizacao(organizacao)
    lista = superusuario.get(reverse("admin:core_configuracaoconsulta_changelist"))
    assert lista.status_code == 200 and lista.context["cl"].result_count == 2
    assert superusuario.get(reverse("admin:core_certificadodigital_changelist")).status_code == 200


def test_an_old_configuration_page_saves_only_what_the_person_changed(membro, org):
    from core.certificados import configuracao_da_organizacao
    from core.certificados.opcoes import atualizar_configuracao

    configuracao = configuracao_da_organizacao(org)
    url = reverse("admin:core_configuracaoconsulta_change", args=[configuracao.pk])
    dados = pagina_aberta(membro, url, "configuracaoconsulta_form")
    assert "initial-intervalo_minutos" in dados  # the page carries what it showed
    # given: the API changes the interval and the addresses while the page is open
    atualizar_configuracao(escopo(ConfiguracaoConsulta, org).get(), intervalo_minutos=240, destinatarios=["ti@alfa.com.br"])

    # when: the old page is saved with only the ciência turned on
    resposta = membro.post(url, {**dados, "ciencia_automatica": ["on"]})

    # then
    assert resposta.status_code == 302, resposta.context["adminform"].form.errors
    salvo = escopo(ConfiguracaoConsulta, org).get()
    assert (salvo.ciencia_automatica, salvo.intervalo_minutos, salvo.destinatarios) == (True, 240, ["ti@alfa.com.br"])
