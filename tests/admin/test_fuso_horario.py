"""Dates and times in the organization's own zone (Organizacao.fuso_horario): an NF-e emitted at 23:30 in
Brasília is 22:30 for a company in Manaus (UTC−4), on its admin pages and on its dashboard; nothing of
one request's zone is left for the next one."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from lxml import html

from core import formatacao as fmt
from core.consultas.painel_admin import painel_admin
from core.documentos.importacao import importar_bytes
from core.geracao.documentos import gerar_nfe
from core.models import NFe, Organizacao, Origem
from core.tenancy import escopo

from .conftest import usuario_de
from .test_painel import linha

SAO_PAULO, MANAUS = "America/Sao_Paulo", "America/Manaus"
NOITE_DE_31 = datetime(2026, 1, 31, 23, 30, tzinfo=ZoneInfo(SAO_PAULO))


def _com_fuso(organizacao, fuso):
    Organizacao.objects.filter(pk=organizacao.pk).update(fuso_horario=fuso)
    organizacao.refresh_from_db()
    return organizacao


def _importar(organizacao, nfe):
    (resultado,) = importar_bytes(organizacao=organizacao, nome="n.xml", conteudo=nfe.xml, origem=Origem.UPLOAD)
    assert resultado.ok, resultado.mensagem
    return escopo(NFe, organizacao).get(chave=nfe.chave)


@pytest.fixture
def nfe_das_duas(org, outra_org, emissor):
    """The same NF-e, emitted 2026-01-31 23:30 -03:00, in a São Paulo organization and a Manaus one."""
    nfe = gerar_nfe(certificado=emissor, data_emissao=NOITE_DE_31)
    _com_fuso(outra_org, MANAUS)
    return {SAO_PAULO: (org, _importar(org, nfe)), MANAUS: (outra_org, _importar(outra_org, nfe))}


def _cliente_de(organizacao) -> Client:
    cliente = Client()
    cliente.force_login(usuario_de(organizacao))
    return cliente


def _emissao_na_pagina(cliente, nfe, **parametros) -> str:
    arvore = html.fromstring(cliente.get(reverse("admin:core_nfe_change", args=[nfe.pk]), parametros).content.decode())
    (campo,) = arvore.xpath('//div[contains(@class, "field-data_emissao")]//div[@class="readonly"]')
    return " ".join(campo.text_content().split())


def _linha_da_lista(cliente) -> str:
    arvore = html.fromstring(cliente.get(reverse("admin:core_nfe_changelist")).content.decode())
    (linha,) = arvore.xpath('//table[@id="result_list"]/tbody/tr')
    return " ".join(" ".join(linha.itertext()).split())


@pytest.mark.parametrize(("fuso", "hora"), [(SAO_PAULO, "31/01/2026 23:30"), (MANAUS, "31/01/2026 22:30")])
def test_it_shows_the_nfe_in_the_organizations_time_zone(nfe_das_duas, fuso, hora):
    organizacao, nfe = nfe_das_duas[fuso]
    cliente = _cliente_de(organizacao)

    assert _emissao_na_pagina(cliente, nfe) == hora
    assert hora in _linha_da_lista(cliente)


def test_it_leaves_no_zone_behind_for_the_next_request(nfe_das_duas, superusuario):
    manaus, nfe_de_manaus = nfe_das_duas[MANAUS]
    _, nfe_de_sao_paulo = nfe_das_duas[SAO_PAULO]
    assert "22:30" in _linha_da_lista(_cliente_de(manaus))

    # then: the thread is back in settings.TIME_ZONE, for code outside a request and the next request alike
    assert timezone.get_current_timezone_name() == SAO_PAULO
    assert fmt.formatar_data_hora(nfe_de_manaus.data_emissao) == "31/01/2026 23:30"
    # a superuser without an organization picked reads settings.TIME_ZONE, even on Manaus's NF-e
    assert _emissao_na_pagina(superusuario, nfe_de_manaus) == "31/01/2026 23:30"
    assert _emissao_na_pagina(superusuario, nfe_de_sao_paulo) == "31/01/2026 23:30"


def test_a_superuser_reads_in_the_zone_of_the_organization_picked(nfe_das_duas, superusuario):
    manaus, nfe = nfe_das_duas[MANAUS]

    assert _emissao_na_pagina(superusuario, nfe, organizacao=str(manaus.pk)) == "31/01/2026 22:30"
    assert _emissao_na_pagina(superusuario, nfe, organizacao="999999") == "31/01/2026 23:30"


def test_the_dashboard_month_and_days_are_the_organizations(org, emissor):
    # given: 00:30 of February 1st in Brasília is still January 31st in Manaus
    madrugada = datetime(2026, 2, 1, 0, 30, tzinfo=ZoneInfo(SAO_PAULO))
    _importar(org, gerar_nfe(certificado=emissor, data_emissao=madrugada))
    fim_de_janeiro = datetime(2026, 1, 31, 12, 0, tzinfo=ZoneInfo(SAO_PAULO))

    # when / then
    painel = painel_admin(organizacao=org, agora=fim_de_janeiro)
    assert painel["documentos"]["nfe"]["quantidade"] == 0  # February's, in Brasília
    with timezone.override(ZoneInfo(MANAUS)):
        painel = painel_admin(organizacao=_com_fuso(org, MANAUS), agora=fim_de_janeiro)
    assert painel["documentos"]["nfe"]["quantidade"] == 1
    assert [d["nfe"] for d in painel["dias"] if d["nfe"]] == [1]
    assert [d["dia"].day for d in painel["dias"] if d["nfe"]] == [31]


def test_the_dashboard_of_a_manaus_member_counts_by_manaus_days(org, emissor):
    # The month of today: a document of 00:30 on day 1 in Brasília is last month's in Manaus.
    hoje = timezone.localdate()
    primeiro = datetime(hoje.year, hoje.month, 1, 0, 30, tzinfo=ZoneInfo(SAO_PAULO))
    _importar(org, gerar_nfe(certificado=emissor, data_emissao=primeiro))
    cliente = _cliente_de(org)
    assert linha(cliente.get(reverse("admin:index")).content, "painel-nfe", "total")[0] == "1"

    _com_fuso(org, MANAUS)
    assert linha(cliente.get(reverse("admin:index")).content, "painel-nfe", "total")[0] == "0"


def test_a_superuser_edits_the_organizations_time_zone(org, superusuario):
    url = reverse("admin:core_organizacao_change", args=[org.pk])
    assert 'name="fuso_horario"' in superusuario.get(url).content.decode()

    resposta = superusuario.post(url, {"nome": org.nome, "slug": org.slug, "ativa": "on", "fuso_horario": MANAUS})

    assert resposta.status_code == 302, resposta.content.decode()[:2000]
    org.refresh_from_db()
    assert org.fuso_horario == MANAUS
