"""Who may do what through the API (README, "Papéis"): a `membro` reads, imports, reprocesses, manifests,
captures and edits their own e-mail choices; only an `administrador` manages webhooks and certificates.

Every management endpoint is tried twice on the same rows: as a `membro` (403 with the one message, and
nothing changed) and then as an `administrador` (the real thing, against a real receiver on 127.0.0.1).
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.certificados import cadastrar_certificado, configuracao_da_organizacao
from core.eventos.emissao import disparar_webhook
from core.models import CertificadoDigital, ImportLog, Membro, Origem, PreferenciaNotificacao, Webhook, WebhookLog
from core.tenancy import escopo
from core.webhooks.gestao import criar_webhook
from tests.membros import novo_membro

pytestmark = pytest.mark.django_db

SENHA = "senha-do-a1"
SO_ADMINISTRADORES = "Somente administradores da organização podem fazer isto."


@pytest.fixture(autouse=True)
def _webhooks_locais(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_ENTREGA_IMEDIATA = False
    settings.WEBHOOK_RETRY_SCHEDULE = "0,0,0"


@pytest.fixture
def api_membro(org):
    cliente = APIClient()
    cliente.force_login(novo_membro(org, "caio@alfa.com.br"))
    return cliente


@pytest.fixture
def linhas(org, receptor, a1_destinatario):
    """A webhook with one failed delivery, a certificate and the capture defaults of `org`."""
    webhook, _segredo = criar_webhook(org, nome="ERP", url=receptor.url)
    disparar_webhook("teste", {"mensagem": "oi"}, org)
    log = escopo(WebhookLog, org).get()
    escopo(WebhookLog, org).filter(pk=log.pk).update(status=WebhookLog.Status.DESISTIU, codigo_http=500)
    certificado = cadastrar_certificado(org, a1_destinatario.pfx(SENHA.encode()), SENHA, uf="41")
    configuracao_da_organizacao(org)
    return {"webhook": webhook.pk, "log": log.pk, "certificado": certificado.pk}


def _upload(a1):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return {"arquivo": SimpleUploadedFile("a1.pfx", a1.pfx(SENHA.encode())), "senha": SENHA}


# (method, path, body, format, the administrador's status)
GESTAO = {
    "criar webhook": ("post", "/api/webhooks/", lambda r, a: {"nome": "Outro", "url": r.url}, "json", 201),
    "alterar webhook": ("patch", "/api/webhooks/{webhook}/", lambda r, a: {"nome": "Novo nome"}, "json", 200),
    "excluir webhook": ("delete", "/api/webhooks/{webhook}/", None, "json", 204),
    "testar webhook": ("post", "/api/webhooks/{webhook}/testar/", None, "json", 200),
    "reenviar entrega": ("post", "/api/webhooks/{webhook}/logs/{log}/reenviar/", None, "json", 200),
    "recuperar eventos": (
        "post", "/api/webhooks/{webhook}/recuperar/",
        lambda r, a: {"desde": (timezone.now() - timedelta(days=1)).isoformat()}, "json", 202,
    ),  # fmt: skip
    "rotacionar segredo": ("post", "/api/webhooks/{webhook}/rotacionar-segredo/", lambda r, a: {}, "json", 200),
    "disparar evento": ("post", "/api/integracoes/disparar/", lambda r, a: {"evento": "teste"}, "json", 201),
    "testar url": ("post", "/api/integracoes/testar/", lambda r, a: {"url": r.url}, "json", 200),
    "cadastrar certificado": ("post", "/api/certificados/", lambda r, a: _upload(a), "multipart", 409),
    "alterar certificado": ("patch", "/api/certificados/{certificado}/", lambda r, a: {"nome": "Matriz"}, "json", 200),
    "excluir certificado": ("delete", "/api/certificados/{certificado}/", None, "json", 204),
    "configurar captura": ("patch", "/api/certificados/configuracao/", lambda r, a: {"intervalo_minutos": 120}, "json", 200),
}


def _estado(org):
    """What a refused request must leave untouched."""
    return (
        list(escopo(Webhook, org).order_by("pk").values_list("nome", "segredo", "ativo")),
        escopo(WebhookLog, org).count(),
        list(escopo(CertificadoDigital, org).values_list("pk", "nome")),
        configuracao_da_organizacao(org).intervalo_minutos,
    )


@pytest.mark.parametrize("nome", GESTAO)
def test_only_an_administrador_manages(nome, api, api_membro, org, linhas, receptor, a1_destinatario):
    metodo, caminho, corpo, formato, esperado = GESTAO[nome]
    url = caminho.format(**linhas)
    antes = _estado(org)

    negada = getattr(api_membro, metodo)(url, corpo(receptor, a1_destinatario) if corpo else None, format=formato)

    assert negada.status_code == 403, negada.content
    assert negada.json() == {"erro": SO_ADMINISTRADORES, "detalhes": {}}
    assert _estado(org) == antes and receptor.recebidos == []

    # the administrador: the same request works (a second upload of the same A1 is a 409, past the role check)
    feita = getattr(api, metodo)(url, corpo(receptor, a1_destinatario) if corpo else None, format=formato)
    assert feita.status_code == esperado, feita.content


LEITURAS = [
    "/api/webhooks/", "/api/webhooks/{webhook}/", "/api/webhooks/{webhook}/logs/", "/api/webhooks/estatisticas/",
    "/api/certificados/", "/api/certificados/{certificado}/", "/api/certificados/configuracao/",
    "/api/nfes/", "/api/importacoes/", "/api/consultas/", "/api/manifestacoes/", "/api/eventos/",
    "/api/notificacoes/preferencias/", "/api/dashboard/",
]  # fmt: skip


@pytest.mark.parametrize("caminho", LEITURAS)
def test_a_membro_reads_everything_of_the_organization(caminho, api_membro, linhas):
    resposta = api_membro.get(caminho.format(**linhas))

    assert resposta.status_code == 200, resposta.content


def test_a_membro_imports_and_reprocesses(api_membro, org, emissor):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from core.geracao.documentos import gerar_nfe

    nota = gerar_nfe(certificado=emissor, numero=7)
    envio = api_membro.post("/api/importar/", {"arquivos": [SimpleUploadedFile("n.xml", nota.xml)]}, format="multipart")
    assert envio.status_code == 200, envio.content
    log = escopo(ImportLog, org).get(origem=Origem.UPLOAD)

    reprocessada = api_membro.post(f"/api/importacoes/{log.pk}/reprocessar/", {}, format="json")

    assert reprocessada.status_code == 200, reprocessada.content


def test_a_membro_edits_their_own_notification_choices(api_membro, org):
    resposta = api_membro.patch("/api/notificacoes/preferencias/", {"resumo_diario": False}, format="json")

    assert resposta.status_code == 200, resposta.content
    membro = Membro.objects.get(organizacao=org, papel=Membro.Papel.MEMBRO).usuario
    assert escopo(PreferenciaNotificacao, org).get(usuario=membro).resumo_diario is False


def test_a_membro_captures_from_sefaz_and_manifests(api_membro, sim, org, a1_destinatario, emissor):
    from tests.sefaz.test_distribuicao import DESTINATARIO, notas

    certificado = cadastrar_certificado(org, a1_destinatario.pfx(SENHA.encode()), SENHA, uf="41", servicos=["nfe"])
    [nota] = notas(emissor, 1)
    sim.publicar_para_destinatario(DESTINATARIO, nota.xml)

    captura = api_membro.post(f"/api/certificados/{certificado.pk}/consultar/", {}, format="json")
    assert captura.status_code == 200, captura.content

    manifestacao = api_membro.post("/api/nfes/manifestar/", {"tipo": "ciencia", "chaves": [nota.chave]}, format="json")
    assert manifestacao.status_code == 200, manifestacao.content
    assert [r["registrada"] for r in manifestacao.json()["resultados"]] == [True]


def test_an_administrador_made_membro_loses_management_at_once(api, org, nova_org, receptor):
    Membro.objects.filter(usuario=nova_org.usuario).update(papel=Membro.Papel.MEMBRO)

    resposta = api.post("/api/webhooks/", {"nome": "ERP", "url": receptor.url}, format="json")

    assert resposta.status_code == 403 and resposta.json()["erro"] == SO_ADMINISTRADORES
