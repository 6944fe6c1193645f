"""Every registered model's changelist, add page and change page render, for a superuser and for an
organization's staff member, show only what that user may see, and never a secret."""

from datetime import date

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone

from core.certificados import configuracao_da_organizacao
from core.models import (
    APIRequestLog, CertificadoDigital, CursorDistribuicao, Membro, Organizacao, RelatorioEnviado, WebhookLog,
)  # fmt: skip
from core.models.base import DaOrganizacao
from core.organizacoes import criar_organizacao
from core.tenancy import escopo
from tests.admin.conftest import disparar, novo_webhook, usuario_de

pytestmark = pytest.mark.django_db

REGISTRADOS = sorted(m._meta.label_lower for m in admin.site._registry)
# Not in the admin on purpose: the stored original XML (downloaded from its document's page) and the
# NF-e items (inline in their NF-e), the tries of a manifestation (inline in it).
# ContadorDeRequisicoes: the rate limiter's per-minute counters, a few minutes of rows, nothing to read.
FORA_DO_ADMIN = {"core.arquivoxml", "core.nfeitem", "core.tentativademanifestacao", "core.contadorderequisicoes",
                 # the rollups: signed delta rows kept by triggers, read through the dashboard, never edited
                 "core.agregadonfe", "core.agregadocte", "core.agregadoemitente", "core.agregadorota"}  # fmt: skip
# Pages an organization's staff member may not open at all.
SO_DO_SUPERUSUARIO = {
    "core.execucaodetarefa", "core.travadetarefa", "auth.user", "auth.group",
}  # fmt: skip
PODE_ADICIONAR = {
    "membro": {"core.certificadodigital", "core.preferencianotificacao", "core.tokendeapi"},
    "superusuario": {
        "core.organizacao", "core.membro", "core.certificadodigital", "core.preferencianotificacao",
        "core.tokendeapi", "auth.user", "auth.group",
    },
}  # fmt: skip


def url(label, pagina, *args):
    app, modelo = label.split(".")
    return reverse(f"admin:{app}_{modelo}_{pagina}", args=args)


def sem_segredos(resposta, linhas):
    for segredo in linhas.segredos:
        assert segredo not in resposta.content, f"{segredo!r} em {resposta.request['PATH_INFO']}"


def da_organizacao(linha, organizacao) -> bool:
    if isinstance(linha, Organizacao):
        return linha.pk == organizacao.pk
    if isinstance(linha, (DaOrganizacao, APIRequestLog, RelatorioEnviado, Membro)):
        return linha.organizacao_id == organizacao.pk
    if isinstance(linha, CursorDistribuicao):  # the CNPJ's, shared by the organizations holding its certificate
        return escopo(CertificadoDigital, organizacao).filter(cnpj=linha.documento).exists()
    raise AssertionError(f"{type(linha).__name__}: o membro não deveria ver esta lista")


def test_it_registers_every_core_model_but_the_two_shown_elsewhere():
    core = {m._meta.label_lower for m in apps.get_app_config("core").get_models()}
    assert core - set(REGISTRADOS) == FORA_DO_ADMIN


@pytest.mark.parametrize("label", REGISTRADOS)
def test_a_superuser_opens_every_page_of_every_model(superusuario, linhas, label):
    lista = superusuario.get(url(label, "changelist"))

    assert lista.status_code == 200
    sem_segredos(lista, linhas)
    cl = lista.context["cl"]
    assert cl.result_list, f"nenhuma linha de {label} para abrir"
    detalhe = superusuario.get(cl.url_for_result(cl.result_list[0]))
    assert detalhe.status_code == 200
    sem_segredos(detalhe, linhas)
    adicionar = superusuario.get(url(label, "add"))
    assert adicionar.status_code == (200 if label in PODE_ADICIONAR["superusuario"] else 403)


@pytest.mark.parametrize("label", REGISTRADOS)
def test_a_member_opens_their_organizations_pages_and_nothing_else(membro, linhas, org, label):
    lista = membro.get(url(label, "changelist"), follow=label == "core.configuracaoconsulta")

    if label in SO_DO_SUPERUSUARIO:
        assert lista.status_code == 403
        assert membro.get(url(label, "add")).status_code == 403
        return
    assert lista.status_code == 200
    sem_segredos(lista, linhas)
    if "cl" in lista.context:
        linhas_visiveis = list(lista.context["cl"].result_list)
        assert linhas_visiveis and all(da_organizacao(linha, org) for linha in linhas_visiveis)
        detalhe = membro.get(lista.context["cl"].url_for_result(linhas_visiveis[0]))
        assert detalhe.status_code == 200
        sem_segredos(detalhe, linhas)
    else:  # the organization's one configuration opens straight away
        assert lista.context["original"].organizacao_id == org.pk
    adicionar = membro.get(url(label, "add"))
    assert adicionar.status_code == (200 if label in PODE_ADICIONAR["membro"] else 403)
    sem_segredos(adicionar, linhas)


def _linhas_de(organizacao):
    """(label, pk) of one row of `organizacao` per organization-owned model in the admin."""
    for modelo in admin.site._registry:
        label = modelo._meta.label_lower
        if issubclass(modelo, DaOrganizacao):
            linha = modelo._default_manager.filter(organizacao=organizacao).first()
        elif modelo in (APIRequestLog, RelatorioEnviado):
            linha = modelo._default_manager.filter(organizacao=organizacao).first()
        elif modelo is Organizacao:
            linha = organizacao
        else:
            continue
        assert linha is not None, label
        yield label, linha.pk


def test_a_member_cannot_open_another_organizations_rows_by_url(membro, linhas, outra_org):
    for label, pk in _linhas_de(outra_org):
        for pagina in ("change", "history", "delete"):
            resposta = membro.get(url(label, pagina, quote(pk)))
            # "Does not exist" is a redirect to the index for the admin; read-only models answer 403
            # to delete before looking the row up.
            assert resposta.status_code in (302, 403, 404), (label, pagina, resposta.status_code)
            assert resposta.status_code != 302 or resposta.url == reverse("admin:index"), (label, pagina)


def test_a_member_never_sees_the_other_organizations_names_in_lists_or_filters(membro, linhas, outra_org):
    outro_webhook = linhas.webhooks[outra_org.pk]
    listas = ("core.webhook", "core.webhooklog", "core.evento", "core.apirequestlog", "core.preferencianotificacao")
    for label in listas:
        resposta = membro.get(url(label, "changelist"))
        assert outro_webhook.nome.encode() not in resposta.content, label
        assert b"dono@beta.com.br" not in resposta.content, label


def test_a_superuser_sees_every_organization_with_a_column_to_tell_them_apart(superusuario, linhas, org, outra_org):
    resposta = superusuario.get(url("core.webhook", "changelist"))
    assert resposta.context["cl"].result_count == 2
    assert org.nome.encode() in resposta.content and outra_org.nome.encode() in resposta.content
    filtrada = superusuario.get(url("core.webhook", "changelist"), {"organizacao__id__exact": outra_org.pk})
    assert [w.organizacao_id for w in filtrada.context["cl"].result_list] == [outra_org.pk]
    # Anonymous API calls (no organization) are listed for the superuser only.
    assert superusuario.get(url("core.apirequestlog", "changelist")).context["cl"].result_count == 3


def test_a_superuser_deletes_a_webhook_or_an_organization_with_its_audit_rows(superusuario, linhas, org, outra_org):
    # The logs are never deleted from their own lists, but they must not block a cascade.
    webhook = linhas.webhooks[org.pk]
    assert superusuario.post(url("core.webhook", "delete", webhook.pk), {"post": "yes"}).status_code == 302
    assert not WebhookLog.objects.filter(webhook_id=webhook.pk).exists()
    assert superusuario.get(url("core.webhooklog", "changelist")).context["action_form"] is None  # no bulk delete

    # An organization with documents is protected (they are legal records)...
    assert superusuario.get(url("core.organizacao", "delete", outra_org.pk)).context["protected"]
    # ...one with only operating rows (webhooks, deliveries, events, API log, reports, settings) is not.
    nova = criar_organizacao(nome="Gama Ltda", email="gama@gama.com.br").organizacao
    novo_webhook(nova, "http://127.0.0.1:9/hook")
    disparar(nova)
    configuracao_da_organizacao(nova)
    APIRequestLog.objects.create(metodo="GET", caminho="/api/", status=200, duracao_ms=1, organizacao=nova,
                                 criado_em=timezone.now())  # fmt: skip
    RelatorioEnviado.objects.create(organizacao=nova, usuario=usuario_de(nova), dia=date(2026, 1, 1))
    confirmacao = superusuario.get(url("core.organizacao", "delete", nova.pk))
    assert not confirmacao.context["perms_lacking"] and not confirmacao.context["protected"]
    assert superusuario.post(url("core.organizacao", "delete", nova.pk), {"post": "yes"}).status_code == 302
    assert not Organizacao.objects.filter(pk=nova.pk).exists()
