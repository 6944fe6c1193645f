"""Admin fixtures: a member (staff of `org`), a superuser, and one row of every model in two tenants.

`linhas` fills `org` and `outra_org` alike, so every page can be checked both for rendering and for
never showing the other tenant's rows; `segredos` lists what must never appear in any page.
"""

import base64
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from core.certificados import cadastrar_certificado, configuracao_da_organizacao
from core.documentos.importacao import importar_bytes
from core.geracao.documentos import gerar_cte, gerar_evento_nfe, gerar_gtve, gerar_nfe
from core.models import (
    APIRequestLog,
    ConsultaSEFAZ,
    CursorDistribuicao,
    ExecucaoDeTarefa,
    Membro,
    Origem,
    RelatorioEnviado,
    TravaDeTarefa,
    Webhook,
    WebhookLog,
)
from core.models.sefaz import Manifestacao, TentativaDeManifestacao
from core.notifications.preferencias import atualizar_preferencias
from core.tenancy import escopo, inserir
from core.tokens import criar_token
from core.webhooks.gestao import criar_webhook, rotacionar_segredo

SENHA_PFX = "Senha-do-PFX-7q2w!"
TOKEN_NA_URL = "token-na-url-9f8e7d"
VALOR_DE_CABECALHO = "Bearer cabecalho-secreto-1a2b"
Status = WebhookLog.Status


@pytest.fixture(autouse=True)
def _webhooks_locais(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True  # receivers on 127.0.0.1
    settings.WEBHOOK_ENTREGA_IMEDIATA = False  # delivery only when a test asks for it
    settings.WEBHOOK_RETRY_SCHEDULE = "0,0,0"


@pytest.fixture
def membro(nova_org):
    """Staff member (administrador) of `org`, not a superuser."""
    cliente = Client()
    cliente.force_login(nova_org.usuario)
    return cliente


@pytest.fixture
def superusuario(db, django_user_model):
    cliente = Client()
    cliente.force_login(django_user_model.objects.create_superuser("root", "root@x.com", "senha-forte-123"))
    return cliente


@pytest.fixture
def clientes(membro, superusuario):
    return {"membro": membro, "superusuario": superusuario}


def usuario_de(organizacao):
    return Membro.objects.select_related("usuario").get(organizacao=organizacao).usuario


def novo_webhook(organizacao, url, **campos):
    campos.setdefault("nome", f"ERP {organizacao.nome}")
    webhook, _segredo = criar_webhook(organizacao, url=url, **campos)
    return webhook


@dataclass
class Linhas:
    segredos: list[bytes] = field(default_factory=list)
    webhooks: dict = field(default_factory=dict)


def _uma_de_cada(organizacao, certificado, linhas: Linhas, numero: int):
    usuario = usuario_de(organizacao)
    webhook, segredo = criar_webhook(
        organizacao, nome=f"ERP {organizacao.nome}", url=f"http://127.0.0.1:9/hook?token={TOKEN_NA_URL}",
        headers={"Authorization": VALOR_DE_CABECALHO},
    )  # fmt: skip
    novo, _expira = rotacionar_segredo(webhook)  # so there is a previous secret too
    linhas.segredos += [segredo.encode(), novo.encode()]
    linhas.webhooks[organizacao.pk] = webhook

    # Documents (and their events, import logs and pending deliveries to the webhook).
    nfe = gerar_nfe(certificado=certificado, numero=numero)
    for documento in (nfe, gerar_evento_nfe(certificado=certificado, chave=nfe.chave, tipo_evento="210210"),
                      gerar_cte(certificado=certificado, numero=numero),
                      gerar_gtve(certificado=certificado, numero=numero)):  # fmt: skip
        importar_bytes(organizacao=organizacao, nome="x.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
    entregas = escopo(WebhookLog, organizacao).order_by("id")
    entregas.filter(pk=entregas[0].pk).update(status=Status.SUCESSO, codigo_http=200, duracao_ms=12)
    entregas.filter(pk=entregas[1].pk).update(status=Status.DESISTIU, codigo_http=500, erro="HTTP 500")

    pfx = certificado.pfx(SENHA_PFX.encode())
    linhas.segredos += [SENHA_PFX.encode(), base64.b64encode(pfx)[:24]]
    cadastrado = cadastrar_certificado(organizacao, pfx, SENHA_PFX, uf="SP")
    configuracao_da_organizacao(organizacao)
    cursor = CursorDistribuicao.objects.create(  # shared by CNPJ, not owned by the organization
        documento=cadastrado.cnpj, servico="nfe", ambiente=1, ult_nsu=7, certificado=cadastrado,
    )
    inserir(ConsultaSEFAZ, organizacao, [ConsultaSEFAZ(
        organizacao=organizacao, cursor=cursor, documento=cadastrado.cnpj, servico="nfe", ambiente=1,
        tipo="distNSU", cstat=138, xmotivo="Documento(s) localizado(s)",
    )])  # fmt: skip
    [manifestacao] = inserir(Manifestacao, organizacao, [Manifestacao(
        organizacao=organizacao, chave=nfe.chave, tipo="ciencia", documento=cadastrado.cnpj, tentativas=1,
        erro="HTTP 503 da SEFAZ",
    )])  # fmt: skip
    inserir(TentativaDeManifestacao, organizacao, [TentativaDeManifestacao(
        organizacao=organizacao, manifestacao=manifestacao, erro="HTTP 503 da SEFAZ",
    )])  # fmt: skip

    APIRequestLog.objects.create(
        metodo="GET", caminho="/api/nfes/", status=200, duracao_ms=8, ip="10.0.0.1", user_agent="teste",
        usuario=usuario, organizacao=organizacao, criado_em=timezone.now(),
    )  # fmt: skip
    RelatorioEnviado.objects.create(organizacao=organizacao, usuario=usuario, dia=date.today() - timedelta(days=1))
    atualizar_preferencias(usuario=usuario, organizacao=organizacao, campos={"resumo_diario": False})
    token = criar_token(organizacao=organizacao, usuario=usuario, nome=f"ERP {organizacao.nome}")
    linhas.segredos += [token.chave.encode(), token.token.hash.encode()]


@pytest.fixture
def linhas(org, outra_org, emissor, transportadora) -> Linhas:
    """One row of every model in `org` and in `outra_org`, plus the service-wide rows."""
    resultado = Linhas()
    _uma_de_cada(org, emissor, resultado, 111)
    _uma_de_cada(outra_org, transportadora, resultado, 222)
    resultado.segredos += [TOKEN_NA_URL.encode(), VALOR_DE_CABECALHO.encode()]
    # An anonymous API call: no organization, a superuser's only.
    APIRequestLog.objects.create(metodo="GET", caminho="/api/nfes/", status=401, duracao_ms=1, criado_em=timezone.now())
    agora = timezone.now()
    ExecucaoDeTarefa.objects.create(tarefa="limpeza_logs", resultado="sucesso", resumo="0 linhas", iniciada_em=agora)
    TravaDeTarefa.objects.create(
        nome="consultas_sefaz", dono="host:1", adquirida_em=agora, expira_em=agora + timedelta(minutes=5)
    )
    return resultado


def disparar(organizacao, tipo="nfe_importada", **dados):
    """One event, queued for the organization's webhooks as an import would (committed outbox rows)."""
    from core.eventos.emissao import disparar_webhook

    with transaction.atomic():
        return disparar_webhook(tipo, {"chave": "3" * 44, **dados}, organizacao)


def webhooks_de(organizacao):
    return escopo(Webhook, organizacao)
