"""The webhook health page (admin/core/webhook/saude/): deliveries of the last 24 hours, failures by class,
disabled webhooks and the backlog of the webhook and e-mail queues, per organization."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.models import EnvioEmail, WebhookLog
from core.models.emails import TipoDeEmail
from core.tenancy import escopo
from tests.admin.conftest import disparar, novo_webhook, usuario_de, webhooks_de

pytestmark = pytest.mark.django_db
SAUDE = reverse("admin:core_webhook_saude")
Status = WebhookLog.Status


def valor(pagina: bytes, identificador: str) -> str:
    return re.search(rf'id="{identificador}">([^<]*)<'.encode(), pagina).group(1).decode()


def fila(pagina: bytes, nome: str) -> list[str]:
    linha = pagina.split(f'data-fila="{nome}"'.encode())[1].split(b"</tr>")[0]
    return [c.decode() for c in re.findall(rb'<td class="valor">([^<]*)</td>', linha)]


def entregas(organizacao, *resultados):
    """One delivery attempt per (status, classe_falha) in `resultados`, concluded like the worker does."""
    for status, classe in resultados:
        disparar(organizacao)
        ultima = escopo(WebhookLog, organizacao).filter(status=Status.PENDENTE).order_by("-id").first()
        codigo = 500 if classe == "http" else None
        escopo(WebhookLog, organizacao).filter(pk=ultima.pk).update(status=status, classe_falha=classe, codigo_http=codigo)


@pytest.fixture
def movimento(org, outra_org):
    """org: "ERP Alfa" with 3 successes, 1 HTTP failure and 1 timeout in the last 24 hours, 1 HTTP failure from
    two days ago; "ERP antigo" disabled; then 2 deliveries left pending; 3 e-mails pending (1 not due yet).
    outra_org: its own webhook with 5 failures."""
    novo_webhook(org, "http://127.0.0.1:9/hook", nome="ERP Alfa")
    entregas(org, *[(Status.SUCESSO, "")] * 3, (Status.DESISTIU, "http"), (Status.FALHA, "tempo_esgotado"),
             (Status.DESISTIU, "http"))  # fmt: skip
    antiga = escopo(WebhookLog, org).order_by("-id").first()
    escopo(WebhookLog, org).filter(pk=antiga.pk).update(criado_em=timezone.now() - timedelta(days=2))
    antigo = novo_webhook(org, "http://127.0.0.1:9/velho", nome="ERP antigo")
    webhooks_de(org).filter(pk=antigo.pk).update(ativo=False, desativado_em=timezone.now(), motivo_desativacao="HTTP 410 Gone")
    disparar(org)
    disparar(org)
    escopo(EnvioEmail, org).delete()  # the events' own e-mails: the queue below is exactly these three
    usuario, agora = usuario_de(org), timezone.now()
    for n, quando in enumerate((agora - timedelta(minutes=5), agora - timedelta(minutes=1), agora + timedelta(hours=1))):
        EnvioEmail.objects.create(organizacao=org, usuario=usuario, tipo=TipoDeEmail.RESUMO_DIARIO, chave=f"t{n}",
                                  proxima_tentativa_em=quando)  # fmt: skip
    novo_webhook(outra_org, "http://127.0.0.1:9/hook", nome="Integração Beta")
    entregas(outra_org, *[(Status.DESISTIU, "rede")] * 5)


def test_it_shows_the_last_24_hours_failures_by_class_disabled_webhooks_and_backlogs(membro, movimento):
    pagina = membro.get(SAUDE)

    assert pagina.status_code == 200
    conteudo = pagina.content
    assert (valor(conteudo, "saude-total"), valor(conteudo, "saude-sucessos"), valor(conteudo, "saude-falhas")) == ("5", "3", "2")
    assert valor(conteudo, "saude-taxa") == "40,0%"
    classes = re.findall(rb'data-classe="([a-z_]+)"><td>[^<]*</td><td class="valor">(\d+)</td><td class="valor">([^<]*)</td>', conteudo)
    assert classes == [(b"http", b"1", b"20,0%"), (b"tempo_esgotado", b"1", b"20,0%")]
    desativados = conteudo.split(b'id="saude-desativados"')[1].split(b"</ul>")[0]
    assert b"ERP antigo" in desativados and b"HTTP 410 Gone" in desativados and b"ERP Alfa" not in desativados
    assert fila(conteudo, "webhooks") == ["2", "2"]  # the two pending deliveries of the active webhook, both due
    assert fila(conteudo, "emails") == ["3", "2"]
    assert b"ERP Alfa: 60,0%" in conteudo  # the per-webhook chart
    assert "Integração Beta".encode() not in conteudo and b"rede" not in conteudo.split(b'id="saude"')[1]


def test_it_is_linked_from_the_index_and_the_webhook_list(membro, movimento):
    ligacao = f'href="{SAUDE}"'.encode()
    assert ligacao in membro.get(reverse("admin:index")).content
    assert ligacao in membro.get(reverse("admin:core_webhook_changelist")).content


def test_a_superuser_chooses_the_organization(superusuario, movimento, outra_org):
    conteudo = superusuario.get(SAUDE, {"organizacao": outra_org.pk}).content
    assert valor(conteudo, "saude-total") == "5" and valor(conteudo, "saude-taxa") == "100,0%"
    assert re.search(rb'data-classe="rede"><td>Rede', conteudo)


def test_anonymous_visitors_go_to_the_login(client):
    resposta = client.get(SAUDE)
    assert resposta.status_code == 302 and resposta["Location"].startswith(reverse("admin:login"))


def test_the_page_costs_the_same_queries_for_more_data(membro, org):
    novo_webhook(org, "http://127.0.0.1:9/hook", nome="Um")
    entregas(org, (Status.SUCESSO, ""))
    membro.get(SAUDE)
    with CaptureQueriesContext(connection) as pouco:
        membro.get(SAUDE)

    for nome in ("Dois", "Três"):
        novo_webhook(org, "http://127.0.0.1:9/hook", nome=nome)
    entregas(org, *[(Status.FALHA, classe) for classe in ("rede", "tls", "http", "interna")])
    webhooks_de(org).filter(nome="Dois").update(ativo=False)
    with CaptureQueriesContext(connection) as muito:
        membro.get(SAUDE)

    assert len(muito) == len(pouco), [q["sql"] for q in muito.captured_queries]
