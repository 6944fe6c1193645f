"""Scheduled-task fixtures: rows with controlled dates, and the command run as cron runs it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.eventos.emissao import menor_id_de_evento
from core.models import APIRequestLog, CertificadoDigital, Evento, ImportLog, Webhook, WebhookLog
from core.tarefas import TAREFAS
from core.tenancy import escopo, inserir
from core.webhooks.assinatura import gerar_segredo


@pytest.fixture(autouse=True)
def _config(settings):
    settings.WEBHOOK_ENTREGA_IMEDIATA = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.FISCAL_URL_PUBLICA = "https://fiscal.exemplo.com.br"


@dataclass
class Saida:
    out: str
    err: str
    codigo: int  # what manage.py would exit with


def rodar(*argumentos: str) -> Saida:
    out, err = StringIO(), StringIO()
    try:
        call_command("run_scheduled_tasks", *argumentos, stdout=out, stderr=err)
        codigo = 0
    except CommandError as erro:
        err.write(str(erro))
        codigo = erro.returncode
    return Saida(out.getvalue(), err.getvalue(), codigo)


class Espiao:
    """Stands in for a task: records its calls and answers a summary (or raises `erro`)."""

    def __init__(self, nome: str, erro: Exception | None = None):
        self.nome, self.erro, self.chamadas = nome, erro, []

    def __call__(self, *, simular: bool, escrever) -> str:
        self.chamadas.append(simular)
        if self.erro is not None:
            raise self.erro
        return f"{self.nome}: feito."


@pytest.fixture
def espioes(monkeypatch) -> dict[str, Espiao]:
    """Every task replaced by a spy (the runner looks TAREFAS up at run time)."""
    todos = {}
    for nome, tarefa in list(TAREFAS.items()):
        todos[nome] = Espiao(nome)
        monkeypatch.setitem(TAREFAS, nome, replace(tarefa, executar=todos[nome]))
    return todos


def falhar(monkeypatch, nome: str, erro: Exception) -> Espiao:
    espiao = Espiao(nome, erro)
    monkeypatch.setitem(TAREFAS, nome, replace(TAREFAS[nome], executar=espiao))
    return espiao


# --- rows with controlled dates (insert them oldest first: ids grow with time) ---------------------


def dias_atras(dias: float, agora: datetime | None = None) -> datetime:
    return (agora or timezone.now()) - timedelta(days=dias)


def requisicao(quando: datetime, **campos) -> APIRequestLog:
    campos = {"metodo": "GET", "caminho": "/api/nfe/", "status": 200, "duracao_ms": 5, **campos}
    return APIRequestLog.objects.create(criado_em=quando, **campos)


def importacao(org, quando: datetime, status: str = ImportLog.Status.SUCESSO) -> ImportLog:
    [linha] = inserir(ImportLog, org, [ImportLog(organizacao=org, arquivo="a.xml", status=status, origem="upload")])
    escopo(ImportLog, org).filter(pk=linha.pk).update(criado_em=quando)  # auto_now_add: set afterwards
    return linha


def evento(org, quando: datetime, tipo: str = "teste") -> Evento:
    # The id carries its creation time (a ULID), as novo_id_de_evento makes it.
    linha = Evento(id=menor_id_de_evento(quando), organizacao=org, tipo=tipo, criado_em=quando, payload={})
    return inserir(Evento, org, [linha])[0]


def webhook(org, **campos) -> Webhook:
    campos = {"nome": "ERP", "url": "https://erp.exemplo.com.br/hook", "segredo": gerar_segredo(), **campos}
    return inserir(Webhook, org, [Webhook(organizacao=org, **campos)])[0]


def tentativa(org, gancho: Webhook, ev: Evento, quando: datetime, status: str, tentativa: int = 1) -> WebhookLog:
    linha = WebhookLog(organizacao=org, webhook=gancho, evento=ev, tentativa=tentativa, status=status,
                       proxima_tentativa_em=quando)  # fmt: skip
    [linha] = inserir(WebhookLog, org, [linha])
    escopo(WebhookLog, org).filter(pk=linha.pk).update(criado_em=quando, atualizado_em=quando)
    return linha


def certificado(org, validade_fim: datetime, titular: str = "DISTRIBUIDORA AURORA LTDA", **campos):
    campos = {
        "cnpj": "11222333000181", "emissor": "AC TESTE", "numero_serie": "0A1B", "thumbprint": titular.encode().hex()[:64],
        "pfx": b"nao-usado", "senha": "nao-usada", **campos,
    }  # fmt: skip
    linha = CertificadoDigital(organizacao=org, titular=titular, validade_inicio=validade_fim - timedelta(days=365),
                               validade_fim=validade_fim, **campos)  # fmt: skip
    return inserir(CertificadoDigital, org, [linha])[0]
