"""Changelists cost the same number of queries for 1 row or 20: no query per row (N+1)."""

from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.documentos.importacao import importar_bytes
from core.geracao.documentos import gerar_nfe
from core.models import (
    APIRequestLog,
    ExecucaoDeTarefa,
    ImportLog,
    Membro,
    Origem,
    RelatorioEnviado,
    Webhook,
    WebhookLog,
)
from core.notifications.preferencias import atualizar_preferencias
from core.tenancy import escopo, inserir
from tests.admin.conftest import disparar, novo_webhook, usuario_de

pytestmark = pytest.mark.django_db


def _membros(organizacao, n, inicio):
    usuarios = [get_user_model().objects.create_user(f"u{inicio + i}@alfa.com.br") for i in range(n)]
    for usuario in usuarios:
        Membro.objects.create(usuario=usuario, organizacao=organizacao)
    return usuarios


def _webhooks(organizacao, n, inicio, **_):
    for i in range(n):
        novo_webhook(organizacao, "http://127.0.0.1:9/hook", nome=f"W{inicio + i}")
    disparar(organizacao)  # every webhook gets a delivery, so the health columns have data


def _entregas(organizacao, n, inicio, **_):
    if not escopo(Webhook, organizacao).exists():
        novo_webhook(organizacao, "http://127.0.0.1:9/hook")
    for _ in range(n):
        disparar(organizacao)
    escopo(WebhookLog, organizacao).filter(id__gt=0).update(status=WebhookLog.Status.SUCESSO, codigo_http=200)


def _eventos(organizacao, n, inicio, **_):
    for _ in range(n):
        disparar(organizacao)


def _requisicoes(organizacao, n, inicio, **_):
    usuario = usuario_de(organizacao)
    APIRequestLog.objects.bulk_create([
        APIRequestLog(metodo="GET", caminho=f"/api/nfes/{i}/", status=200 + i % 300, duracao_ms=i, ip="10.0.0.1",
                      usuario=usuario, organizacao=organizacao, criado_em=timezone.now())
        for i in range(n)
    ])  # fmt: skip


def _relatorios(organizacao, n, inicio, **_):
    for usuario in _membros(organizacao, n, inicio):
        RelatorioEnviado.objects.create(organizacao=organizacao, usuario=usuario, dia=date.today() - timedelta(days=1))


def _preferencias(organizacao, n, inicio, **_):
    for usuario in _membros(organizacao, n, inicio):
        atualizar_preferencias(usuario=usuario, organizacao=organizacao, campos={"resumo_diario": False})


def _execucoes(organizacao, n, inicio, **_):
    ExecucaoDeTarefa.objects.bulk_create(
        [ExecucaoDeTarefa(tarefa="limpeza_logs", resultado="sucesso", iniciada_em=timezone.now()) for _ in range(n)]
    )


def _nfes(organizacao, n, inicio, emissor):
    for i in range(n):
        documento = gerar_nfe(certificado=emissor, numero=inicio + i)
        importar_bytes(organizacao=organizacao, nome="x.xml", conteudo=documento.xml, origem=Origem.UPLOAD)


def _importacoes(organizacao, n, inicio, **_):
    inserir(ImportLog, organizacao, [
        ImportLog(organizacao=organizacao, arquivo=f"{inicio + i}.xml", status="erro", origem="upload")
        for i in range(n)
    ])  # fmt: skip


def _membros_da_org(organizacao, n, inicio, **_):
    _membros(organizacao, n, inicio)


CRIAR = {
    "webhook": _webhooks,
    "webhooklog": _entregas,
    "evento": _eventos,
    "apirequestlog": _requisicoes,
    "relatorioenviado": _relatorios,
    "preferencianotificacao": _preferencias,
    "nfe": _nfes,
    "importlog": _importacoes,
}
SO_SUPERUSUARIO = {"execucaodetarefa": _execucoes, "membro": _membros_da_org}


def consultas_da_lista(cliente, modelo) -> tuple[int, int, list[str]]:
    with CaptureQueriesContext(connection) as capturadas:
        resposta = cliente.get(reverse(f"admin:core_{modelo}_changelist"))
    assert resposta.status_code == 200
    return len(capturadas), len(resposta.context["cl"].result_list), [q["sql"] for q in capturadas.captured_queries]


@pytest.mark.parametrize(
    ("quem", "modelo"),
    [(quem, modelo) for quem in ("membro", "superusuario") for modelo in CRIAR]
    + [("superusuario", modelo) for modelo in SO_SUPERUSUARIO],
)
def test_a_changelist_costs_the_same_queries_for_1_or_20_rows(clientes, org, emissor, quem, modelo):
    criar = CRIAR.get(modelo) or SO_SUPERUSUARIO[modelo]
    cliente = clientes[quem]
    criar(org, 1, 1000, emissor=emissor)
    cliente.get(reverse(f"admin:core_{modelo}_changelist"))  # warm-up: per-process caches (content types)
    poucas, linhas_antes, _ = consultas_da_lista(cliente, modelo)

    criar(org, 19, 2000, emissor=emissor)
    muitas, linhas_depois, sql = consultas_da_lista(cliente, modelo)

    assert linhas_depois >= 20 > linhas_antes
    assert muitas == poucas, "\n".join(sql)
