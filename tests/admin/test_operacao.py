"""Operating models in the admin: request log filters and scoping, superuser-only task pages,
members' notification choices, and certificate validity at a glance."""

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from core.certificados import cadastrar_certificado
from core.geracao.certificado import gerar_certificado
from core.models import APIRequestLog, CertificadoDigital, Membro, PreferenciaNotificacao
from core.tenancy import escopo
from tests.admin.conftest import SENHA_PFX, usuario_de

pytestmark = pytest.mark.django_db
REQUISICOES = reverse("admin:core_apirequestlog_changelist")
PREFERENCIAS_NOVA = reverse("admin:core_preferencianotificacao_add")


def requisicao(organizacao, caminho, status):
    return APIRequestLog.objects.create(
        metodo="GET", caminho=caminho, status=status, duracao_ms=5, organizacao=organizacao, criado_em=timezone.now()
    )


def test_the_request_log_filters_by_status_range_and_api_path(membro, org, outra_org):
    requisicao(org, "/api/nfes/", 200)
    requisicao(org, "/api/nfes/123/", 404)
    requisicao(org, "/api/webhooks/", 429)
    requisicao(org, "/api/ctes/", 500)
    requisicao(outra_org, "/api/nfes/", 500)
    requisicao(None, "/api/nfes/", 401)

    def quantos(**filtros):
        return membro.get(REQUISICOES, filtros).context["cl"].result_count

    assert quantos() == 4  # neither the other organization's nor the anonymous rows
    assert quantos(faixa="4xx") == 2 and quantos(faixa="429") == 1 and quantos(faixa="5xx") == 1
    assert quantos(caminho="/api/nfes/") == 2
    assert quantos(caminho="/api/nfes/", faixa="4xx") == 1
    assert quantos(q="/api/nfes") == 2  # the search: path prefix or exact IP (text on PostgreSQL's inet too)
    APIRequestLog.objects.filter(caminho="/api/ctes/").update(ip="10.9.8.7")
    assert quantos(q="10.9.8.7") == 1
    pagina = membro.get(REQUISICOES).content.decode()
    assert '<strong style="color:#ba2121">500</strong>' in pagina and "/api/webhooks/" in pagina


def test_task_pages_are_superuser_only_even_with_the_permission(membro, nova_org):
    nova_org.usuario.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_execucaodetarefa", "view_travadetarefa"])
    )
    for modelo in ("execucaodetarefa", "travadetarefa"):
        assert membro.get(reverse(f"admin:core_{modelo}_changelist")).status_code == 403
    assert b"execucaodetarefa" not in membro.get(reverse("admin:index")).content


def test_a_member_sets_a_colleagues_notification_choices(membro, nova_org, org, outra_org, django_user_model):
    dona = nova_org.usuario
    colega = django_user_model.objects.create_user("colega@alfa.com.br", email="colega@alfa.com.br")
    Membro.objects.create(usuario=colega, organizacao=org)
    pagina = membro.get(PREFERENCIAS_NOVA)
    opcoes = pagina.context["adminform"].form.fields["usuario"].queryset
    assert set(opcoes) == {dona, colega}  # nobody from the other organization

    resposta = membro.post(PREFERENCIAS_NOVA, {"usuario": colega.pk, "nfe_importada": "on", "resumo_diario": "on"})

    assert resposta.status_code == 302, resposta.context["adminform"].form.errors
    salva = escopo(PreferenciaNotificacao, org).get(usuario=colega)
    assert (salva.nfe_importada, salva.resumo_diario, salva.cte_importado) == (True, True, False)

    duplicada = membro.post(PREFERENCIAS_NOVA, {"usuario": colega.pk})
    assert "usuario" in duplicada.context["adminform"].form.errors
    de_fora = membro.post(PREFERENCIAS_NOVA, {"usuario": usuario_de(outra_org).pk})
    assert "usuario" in de_fora.context["adminform"].form.errors

    alterar = reverse("admin:core_preferencianotificacao_change", args=[salva.pk])
    assert membro.post(alterar, {"cte_importado": "on"}).status_code == 302
    salva.refresh_from_db()
    assert (salva.nfe_importada, salva.cte_importado, salva.usuario) == (False, True, colega)


def test_a_superuser_adds_choices_in_the_chosen_users_organization(superusuario, outra_org):
    dono = usuario_de(outra_org)
    resposta = superusuario.post(PREFERENCIAS_NOVA, {"usuario": dono.pk, "erro_importacao": "on"})
    assert resposta.status_code == 302
    assert escopo(PreferenciaNotificacao, outra_org).get(usuario=dono).erro_importacao is True


def test_certificate_validity_is_highlighted_and_filterable(membro, org):
    agora = timezone.now()
    for cnpj, dias_de_sobra in (("11444777000161", 300), ("19131243000197", 20), ("11222333000181", 200)):
        inicio = agora - timedelta(days=365 - dias_de_sobra)
        gerado = gerar_certificado(cnpj=cnpj, inicio=inicio, dias_validade=365, rotulo_chave=cnpj)
        cadastrar_certificado(org, gerado.pfx(SENHA_PFX.encode()), SENHA_PFX)
    # One that expired since it was stored (an expired file is refused at upload).
    escopo(CertificadoDigital, org).filter(cnpj="11222333000181").update(validade_fim=agora - timedelta(days=2))
    lista = reverse("admin:core_certificadodigital_changelist")

    pagina = membro.get(lista).content.decode()

    vencido = (agora - timedelta(days=2)).strftime("%d/%m/%Y")
    assert f'<strong style="color:#ba2121">vencido em {vencido}</strong>' in pagina
    assert '<strong style="color:#c86400">' in pagina and "(19 dias)" in pagina
    assert SENHA_PFX not in pagina

    def cnpjs(validade):
        return {c.cnpj for c in membro.get(lista, {"validade": validade}).context["cl"].result_list}

    assert cnpjs("vencido") == {"11222333000181"}
    assert cnpjs("vencendo") == {"19131243000197"}
    assert cnpjs("valido") == {"11444777000161"}


def test_daily_reports_sent_are_listed_for_the_organization_only(membro, org, outra_org):
    from core.models import RelatorioEnviado

    ontem = date.today() - timedelta(days=1)
    RelatorioEnviado.objects.create(organizacao=org, usuario=usuario_de(org), dia=ontem)
    RelatorioEnviado.objects.create(organizacao=outra_org, usuario=usuario_de(outra_org), dia=ontem)

    lista = membro.get(reverse("admin:core_relatorioenviado_changelist"))

    assert [r.organizacao_id for r in lista.context["cl"].result_list] == [org.pk]
