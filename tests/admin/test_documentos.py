"""The admin shows each staff member only their organization's documents, read-only."""

import pytest
from django.urls import reverse

from core.documentos.importacao import importar_bytes
from core.formatacao import formatar_moeda
from core.geracao.documentos import gerar_cte, gerar_evento_nfe, gerar_nfe
from core.models import NFe, Origem
from core.tenancy import escopo

pytestmark = pytest.mark.django_db


@pytest.fixture
def documentos(org, outra_org, emissor, transportadora):
    nossa = gerar_nfe(certificado=emissor, numero=111)
    deles = gerar_nfe(certificado=emissor, numero=222)
    for organizacao, documento in [
        (org, nossa),
        (org, gerar_evento_nfe(certificado=emissor, chave=nossa.chave, tipo_evento="210210")),
        (org, gerar_cte(certificado=transportadora)),
        (outra_org, deles),
    ]:
        importar_bytes(organizacao=organizacao, nome="x.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
    return escopo(NFe, org).get(), escopo(NFe, outra_org).get()


@pytest.fixture
def cliente(client, nova_org):
    client.force_login(nova_org.usuario)
    return client


@pytest.mark.parametrize("modelo", ["nfe", "cte", "eventodocumento", "importlog"])
def test_member_lists_only_their_organization(cliente, documentos, modelo):
    resposta = cliente.get(reverse(f"admin:core_{modelo}_changelist"))
    assert resposta.status_code == 200
    total = {"nfe": 1, "cte": 1, "eventodocumento": 1, "importlog": 3}[modelo]
    assert resposta.context["cl"].result_count == total


def test_search_by_chave_numero_and_cnpj(cliente, documentos):
    nossa, _ = documentos
    url = reverse("admin:core_nfe_changelist")
    for termo in (nossa.chave, "111", nossa.emitente_documento, nossa.destinatario_nome.split()[0]):
        assert cliente.get(url, {"q": termo}).context["cl"].result_count == 1, termo


def test_detail_and_original_xml_of_own_document(cliente, documentos):
    nossa, _ = documentos
    assert cliente.get(reverse("admin:core_nfe_change", args=[nossa.pk])).status_code == 200
    resposta = cliente.get(reverse("admin:core_nfe_xml", args=[nossa.pk]))
    assert resposta.status_code == 200
    assert resposta.content == nossa.arquivo.bytes_originais()
    assert f'filename="{nossa.chave}-procNFe.xml"' in resposta["Content-Disposition"]


def test_another_organizations_document_is_not_found(cliente, documentos):
    _, deles = documentos
    assert cliente.get(reverse("admin:core_nfe_xml", args=[deles.pk])).status_code == 404
    resposta = cliente.get(reverse("admin:core_nfe_change", args=[deles.pk]))
    assert resposta.status_code == 302  # the admin redirects "does not exist" to the index


def test_documents_are_read_only(cliente, documentos):
    nossa, _ = documentos
    assert cliente.get(reverse("admin:core_nfe_add")).status_code == 403
    resposta = cliente.post(reverse("admin:core_nfe_change", args=[nossa.pk]), {"numero": 1})
    assert resposta.status_code == 403
    assert escopo(NFe, nossa.organizacao).get().numero == 111


def test_superuser_sees_every_organization(client, documentos, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@x.com", "senha-forte-123"))
    assert client.get(reverse("admin:core_nfe_changelist")).context["cl"].result_count == 2


def test_a_reform_document_shows_its_ibs_cbs_is_and_finalidade_in_a_section_of_their_own(cliente, org, emissor, transportadora):
    from datetime import datetime

    from core.geracao.documentos import FUSO, gerar_cte_os
    from core.models import CTe

    em_2027 = datetime(2027, 2, 1, 10, tzinfo=FUSO)
    nota = gerar_nfe(certificado=emissor, data_emissao=em_2027, reforma=True, imposto_seletivo=True, finalidade=6)
    cte = gerar_cte_os(certificado=transportadora, data_emissao=em_2027, reforma=True)
    for documento in (nota, cte):
        importar_bytes(organizacao=org, nome="x.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
    nfe = escopo(NFe, org).get()
    pagina = cliente.get(reverse("admin:core_nfe_change", args=[nfe.pk])).content.decode()
    assert "Reforma tributária (IBS, CBS, IS)" in pagina
    assert "Nota de débito" in pagina
    assert 'class="module aligned collapse"' not in pagina  # open: the note has the groups (folded only without)
    item = nfe.itens.order_by("numero").first()
    for valor in (nfe.valor_ibs, nfe.valor_cbs, nfe.valor_is, nfe.valor_nf_tot, item.valor_item, item.valor_cbs):
        assert formatar_moeda(valor) in pagina, valor
    # the list filters by finalidade
    lista = cliente.get(reverse("admin:core_nfe_changelist"), {"finalidade__exact": 6})
    assert lista.context["cl"].result_count == 1
    assert cliente.get(reverse("admin:core_nfe_changelist"), {"finalidade__exact": 5}).context["cl"].result_count == 0

    pagina_cte = cliente.get(reverse("admin:core_cte_change", args=[escopo(CTe, org).get().pk])).content.decode()
    assert "Reforma tributária (IBS, CBS, IS)" in pagina_cte
    assert formatar_moeda(escopo(CTe, org).get().valor_total_dfe) in pagina_cte
