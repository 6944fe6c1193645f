"""The import log in the admin: download what an attempt received, reprocess it with the same function as the API."""

import pytest
from django.urls import reverse

from core.documentos.importacao import importar_bytes
from core.geracao.documentos import gerar_nfe
from core.models import ImportLog, NFe, Origem
from core.tenancy import escopo

pytestmark = pytest.mark.django_db

QUEBRADO = b"<nfeProc><NFe>truncado"


@pytest.fixture
def cliente(client, nova_org):
    client.force_login(nova_org.usuario)
    return client


def importar(organizacao, nome, conteudo):
    [resultado] = importar_bytes(organizacao=organizacao, nome=nome, conteudo=conteudo, origem=Origem.UPLOAD)
    return resultado.log


def test_the_list_links_each_kept_file_and_serves_it(cliente, org):
    log = importar(org, "quebrado.xml", QUEBRADO)
    url = reverse("admin:core_importlog_xml", args=[log.pk])

    pagina = cliente.get(reverse("admin:core_importlog_changelist"))
    resposta = cliente.get(url)

    assert url in pagina.content.decode()
    assert resposta.status_code == 200 and resposta.content == QUEBRADO
    assert resposta["Content-Disposition"] == 'attachment; filename="quebrado.xml"'


def test_another_organizations_file_is_not_found(cliente, outra_org):
    log = importar(outra_org, "quebrado.xml", QUEBRADO)

    assert cliente.get(reverse("admin:core_importlog_xml", args=[log.pk])).status_code == 404


def test_the_reprocess_action_runs_the_pipeline_again(cliente, nova_org, org, emissor, settings):
    nfe = gerar_nfe(certificado=emissor, ambiente=2)
    recusada, quebrada = importar(org, "homologacao.xml", nfe.xml), importar(org, "quebrado.xml", QUEBRADO)
    settings.FISCAL_ACEITAR_HOMOLOGACAO = True

    resposta = cliente.post(
        reverse("admin:core_importlog_changelist"),
        {"action": "reprocessar", "_selected_action": [recusada.pk, quebrada.pk]},
        follow=True,
    )

    mensagens = [str(m) for m in resposta.context["messages"]]
    assert "Reprocessadas 2 importação(ões): 1 erro, 1 sucesso." in mensagens
    assert any(m.startswith("quebrado.xml: não é XML válido") for m in mensagens)
    assert escopo(NFe, org).filter(chave=nfe.chave).exists()
    novos = escopo(ImportLog, org).filter(reprocessado_de__isnull=False)
    assert sorted(novos.values_list("reprocessado_de_id", flat=True)) == sorted([recusada.pk, quebrada.pk])
    assert {log.usuario_id for log in novos} == {nova_org.usuario.pk}
