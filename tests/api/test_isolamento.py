"""Walks every GET route of the API with another organization's token: none may leak our data."""

import re

import pytest
from django.urls import URLResolver, get_resolver

from core.documentos.importacao import Entrada, importar
from core.geracao.certificado import gerar_certificado
from core.geracao.documentos import gerar_cte, gerar_evento_nfe, gerar_nfe, gerar_resumo_nfe
from core.eventos.emissao import disparar_webhook
from core.models import Origem, Webhook
from core.tenancy import inserir
from core.webhooks.assinatura import gerar_segredo
from core.webhooks.entrega import entregar_pendentes

pytestmark = pytest.mark.django_db

FORA_DO_ESCOPO = {"schema", "docs", "login", "logout", "rota-inexistente"}  # public, not tenant data, or the 404
PARAMETROS = {
    "buscar": {"q": "SEGREDO ALFA"},
    "nfe-exportar": {"formato": "csv"},
    "cte-exportar": {"formato": "csv"},
}


def _rotas(padroes, prefixo=""):
    for padrao in padroes:
        if isinstance(padrao, URLResolver):
            yield from _rotas(padrao.url_patterns, prefixo + str(padrao.pattern))
        else:
            yield prefixo + str(padrao.pattern), padrao.name


def rotas_get_da_api():
    vistas = set()
    for rota, nome in _rotas(get_resolver().url_patterns):
        if not rota.startswith("api/") or "format" in rota or nome in FORA_DO_ESCOPO:
            continue
        caminho = "/" + rota.replace("^", "").replace("$", "").replace("\\", "")
        if caminho not in vistas:
            vistas.add(caminho)
            yield caminho, nome


@pytest.fixture
def segredos(org, transportadora, importar_docs):
    """Data of `org` that must never appear in another organization's answers."""
    alfa = gerar_certificado(cnpj="45723174000110", nome="SEGREDO ALFA INDUSTRIA LTDA")
    nfe = gerar_nfe(certificado=alfa, numero=31337)
    cte = gerar_cte(certificado=transportadora, chaves_nfe=[nfe.chave])
    resumo = gerar_resumo_nfe(emitente_cnpj="45723174000110", nome="SEGREDO ALFA INDUSTRIA LTDA", valor="7.77")
    importar_docs(org, nfe, cte, resumo)
    importar_docs(org, gerar_evento_nfe(certificado=alfa, chave=nfe.chave, tipo_evento="210210"))
    list(importar(organizacao=org, entradas=[Entrada("segredo-alfa-quebrado.xml", b"<x")], origem=Origem.UPLOAD))
    [webhook] = inserir(Webhook, org, [Webhook(organizacao=org, nome="SEGREDO ALFA ERP", segredo=gerar_segredo(),
                                               url="https://segredo-alfa.invalid/hook")])  # fmt: skip
    disparar_webhook("teste", {"mensagem": "SEGREDO ALFA"}, org)
    entregar_pendentes(limite=100)  # fails (the host does not resolve): logs with errors exist
    return {"nfe": nfe.chave, "cte": cte.chave, "resumo": resumo.chave, "webhook": str(webhook.pk)}


@pytest.fixture
def dados_da_outra(outra_org, emissor, importar_docs):
    importar_docs(outra_org, gerar_nfe(certificado=emissor, numero=1))


def test_the_walk_covers_the_api():
    nomes = {nome for _, nome in rotas_get_da_api()}
    assert {"nfe-list", "nfe-detail", "nfe-xml", "nfe-totais", "cte-list", "cte-detail"} <= nomes
    assert {"webhook-list", "webhook-detail", "webhook-logs", "webhook-estatisticas"} <= nomes


def test_no_route_leaks_another_organizations_data(api_outra, segredos, dados_da_outra):
    proibidos = [
        *(v for k, v in segredos.items() if k != "webhook"),
        "SEGREDO ALFA", "segredo-alfa.invalid", "45723174000110", "segredo-alfa",
    ]  # fmt: skip
    visitados = []
    for caminho, nome in rotas_get_da_api():
        modelo = "cte" if nome and nome.startswith("cte") else "nfe"
        url = re.sub(r"\(\?P<chave>[^)]*\)", segredos[modelo], caminho)
        if nome and nome.startswith("webhook"):
            url = re.sub(r"<int:pk>|\(\?P<pk>[^)]*\)", segredos["webhook"], url)
        url = re.sub(r"<[^>]+>|\(\?P<[^>]+>[^)]*\)", "1", url)
        resposta = api_outra.get(url, PARAMETROS.get(nome, {}))
        visitados.append((url, resposta.status_code))
        assert resposta.status_code < 500, (url, resposta.status_code)
        corpo = b"".join(resposta.streaming_content) if resposta.streaming else resposta.content
        texto = corpo.decode("utf-8", "replace")
        vazou = [p for p in proibidos if p in texto]
        assert not vazou, f"{url} devolveu dados de outra organização: {vazou}"
        if segredos[modelo] in url or f"/webhooks/{segredos['webhook']}/" in url:
            assert resposta.status_code in (404, 405), (url, resposta.status_code)  # 405: POST-only action
    assert len(visitados) >= 10
