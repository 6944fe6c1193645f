"""Who may change what in the admin (README, "Papéis"): a `membro` reads the management pages (webhooks,
certificates, capture defaults, members) and changes none; an `administrador` manages them and the
members' roles, never leaving the organization without one; a deactivated organization's staff read
only, told why; a superuser is never affected."""

import pytest
from django.test import Client
from django.urls import reverse

from core.admin.base import AVISO_INATIVA
from core.certificados import configuracao_da_organizacao
from core.models import CertificadoDigital, ImportLog, Membro, Organizacao, PreferenciaNotificacao, Webhook
from core.notifications.preferencias import atualizar_preferencias
from core.tenancy import escopo
from tests.admin.conftest import usuario_de
from tests.membros import novo_membro

pytestmark = pytest.mark.django_db


@pytest.fixture
def caio(org, linhas):
    """A staff `membro` of `org` (not an administrador), next to its owner (`nova_org.usuario`)."""
    return novo_membro(org, "caio@alfa.com.br")


@pytest.fixture
def cliente_caio(caio):
    cliente = Client()
    cliente.force_login(caio)
    return cliente


def url(modelo, pagina, *args):
    return reverse(f"admin:core_{modelo}_{pagina}", args=args)


def mensagens(resposta) -> list[str]:
    return [str(m) for m in resposta.context["messages"]]


def desativar(organizacao, ativa=False):
    Organizacao.objects.filter(pk=organizacao.pk).update(ativa=ativa)


# --- A membro -------------------------------------------------------------------------------------


def test_a_membro_reads_the_management_pages_and_changes_nothing(cliente_caio, linhas, org, nova_org):
    webhook = escopo(Webhook, org).get()
    certificado = escopo(CertificadoDigital, org).get()
    configuracao = configuracao_da_organizacao(org)
    dono = Membro.objects.get(usuario=nova_org.usuario)

    for modelo, pk in (("webhook", webhook.pk), ("certificadodigital", certificado.pk),
                       ("configuracaoconsulta", configuracao.pk), ("membro", dono.pk)):  # fmt: skip
        assert cliente_caio.get(url(modelo, "changelist"), follow=True).status_code == 200, modelo
        pagina = cliente_caio.get(url(modelo, "change", pk))
        assert pagina.status_code == 200, modelo
        assert not pagina.context["has_change_permission"] and not pagina.context["has_delete_permission"], modelo
        assert cliente_caio.post(url(modelo, "change", pk), {"nome": "x", "papel": "membro"}).status_code == 403, modelo
        assert cliente_caio.post(url(modelo, "delete", pk), {"post": "yes"}).status_code == 403, modelo
    assert cliente_caio.get(url("certificadodigital", "add")).status_code == 403
    assert cliente_caio.get(url("webhook", "changelist")).context["action_form"] is None  # no testar / reenviar
    assert escopo(Webhook, org).get().nome == webhook.nome and escopo(CertificadoDigital, org).exists()
    assert Membro.objects.get(pk=dono.pk).papel == Membro.Papel.ADMINISTRADOR


def test_a_membro_still_reprocesses_imports(cliente_caio, linhas):
    acoes = cliente_caio.get(url("importlog", "changelist")).context["action_form"].fields["action"].choices
    assert "reprocessar" in [nome for nome, _ in acoes]


def test_a_membro_changes_only_their_own_email_choices(cliente_caio, caio, linhas, org, nova_org):
    minha = atualizar_preferencias(usuario=caio, organizacao=org, campos={"resumo_diario": True})
    da_dona = escopo(PreferenciaNotificacao, org).get(usuario=nova_org.usuario)

    assert cliente_caio.post(url("preferencianotificacao", "change", da_dona.pk), {}).status_code == 403
    resposta = cliente_caio.post(url("preferencianotificacao", "change", minha.pk), {"resumo_diario": ""})

    assert resposta.status_code == 302
    assert escopo(PreferenciaNotificacao, org).get(pk=minha.pk).resumo_diario is False


# --- An administrador -----------------------------------------------------------------------------


def test_an_administrador_changes_roles_within_the_organization_only(membro, caio, linhas, org, outra_org):
    eu = Membro.objects.get(usuario=caio)
    lista = membro.get(url("membro", "changelist"))
    assert {m.organizacao_id for m in lista.context["cl"].result_list} == {org.pk}

    resposta = membro.post(url("membro", "change", eu.pk), {"papel": "administrador", "organizacao": outra_org.pk,
                                                            "usuario": usuario_de(outra_org).pk})  # fmt: skip

    assert resposta.status_code == 302
    eu.refresh_from_db()
    assert (eu.papel, eu.organizacao_id, eu.usuario_id) == (Membro.Papel.ADMINISTRADOR, org.pk, caio.pk)
    caio.refresh_from_db()
    assert not caio.is_superuser
    assert membro.get(url("membro", "add")).status_code == 403  # people are added by the operator


def test_the_last_administrador_can_be_neither_demoted_nor_removed(membro, caio, linhas, nova_org):
    dona = Membro.objects.get(usuario=nova_org.usuario)

    rebaixar = membro.post(url("membro", "change", dona.pk), {"papel": "membro"})
    assert rebaixar.status_code == 200 and rebaixar.context["adminform"].form.errors["papel"]
    assert membro.get(url("membro", "delete", dona.pk)).status_code == 403
    assert Membro.objects.get(pk=dona.pk).papel == Membro.Papel.ADMINISTRADOR

    # with a second administrador, the first may step down
    Membro.objects.filter(usuario=caio).update(papel=Membro.Papel.ADMINISTRADOR)
    assert membro.post(url("membro", "change", dona.pk), {"papel": "membro"}).status_code == 302
    assert Membro.objects.get(pk=dona.pk).papel == Membro.Papel.MEMBRO


def test_an_administrador_removes_a_member(membro, caio, linhas):
    eu = Membro.objects.get(usuario=caio)

    assert membro.post(url("membro", "delete", eu.pk), {"post": "yes"}).status_code == 302

    assert not Membro.objects.filter(pk=eu.pk).exists()


# --- A deactivated organization -------------------------------------------------------------------


def test_a_deactivated_organizations_staff_read_only_and_are_told_why(membro, linhas, org):
    webhook = escopo(Webhook, org).get()
    log = escopo(ImportLog, org).first()
    desativar(org)

    for modelo in ("webhook", "certificadodigital", "importlog", "preferencianotificacao", "membro", "nfe"):
        lista = membro.get(url(modelo, "changelist"))
        assert lista.status_code == 200 and AVISO_INATIVA in mensagens(lista), modelo
        assert lista.context["action_form"] is None, modelo
    pagina = membro.get(url("webhook", "change", webhook.pk))
    assert AVISO_INATIVA in mensagens(pagina) and not pagina.context["has_change_permission"]
    assert membro.post(url("webhook", "change", webhook.pk), {"nome": "x"}).status_code == 403
    assert membro.get(url("certificadodigital", "add")).status_code == 403
    assert membro.get(url("tokendeapi", "add")).status_code == 403
    acao = {"action": "reprocessar", "_selected_action": [log.pk]}
    membro.post(url("importlog", "changelist"), acao)
    assert escopo(ImportLog, org).count() == escopo(ImportLog, org).filter(reprocessado_de__isnull=True).count()

    desativar(org, ativa=True)
    assert membro.get(url("certificadodigital", "add")).status_code == 200


def test_a_superuser_is_not_affected(superusuario, linhas, org):
    webhook = escopo(Webhook, org).get()
    desativar(org)

    lista = superusuario.get(url("webhook", "changelist"))

    assert AVISO_INATIVA not in mensagens(lista) and lista.context["action_form"] is not None
    assert superusuario.get(url("certificadodigital", "add")).status_code == 200
    assert superusuario.get(url("webhook", "change", webhook.pk)).context["has_change_permission"]
