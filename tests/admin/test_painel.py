"""The admin index dashboard: documents per day and webhook health, as inline SVG, per organization."""

import re
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.documentos.importacao import importar_bytes
from core.geracao.documentos import gerar_cte, gerar_nfe
from core.models import Origem, WebhookLog
from core.tenancy import escopo
from tests.admin.conftest import disparar, novo_webhook

pytestmark = pytest.mark.django_db
INDICE = reverse("admin:index")
Status = WebhookLog.Status


def emitido_ha(dias: int) -> datetime:
    hoje = timezone.localdate()
    return datetime.combine(hoje - timedelta(days=dias), time(10, 0), tzinfo=timezone.get_current_timezone())


def importar(organizacao, *documentos):
    for documento in documentos:
        importar_bytes(organizacao=organizacao, nome="x.xml", conteudo=documento.xml, origem=Origem.UPLOAD)


def numero(pagina: bytes, caixa: str) -> str:
    return re.search(rf'id="{caixa}"><strong>([^<]+)</strong>'.encode(), pagina).group(1).decode()


@pytest.fixture
def movimento(org, outra_org, emissor, transportadora):
    """org: 2 NF-e today, 1 NF-e 3 days ago, 1 CT-e yesterday, 1 NF-e 40 days ago (outside the window);
    webhook "ERP Alfa" with 3 successes and 1 failure. outra_org: 5 NF-e today and its own webhook."""
    importar(org, *(gerar_nfe(certificado=emissor, numero=n, data_emissao=emitido_ha(0)) for n in (1, 2)))
    importar(org, gerar_nfe(certificado=emissor, numero=3, data_emissao=emitido_ha(3)))
    importar(org, gerar_nfe(certificado=emissor, numero=4, data_emissao=emitido_ha(40)))
    importar(org, gerar_cte(certificado=transportadora, numero=5, data_emissao=emitido_ha(1)))
    webhook = novo_webhook(org, "http://127.0.0.1:9/hook", nome="ERP Alfa")
    for _ in range(4):
        disparar(org)
    entregas = list(escopo(WebhookLog, org).order_by("id").values_list("pk", flat=True))
    escopo(WebhookLog, org).filter(pk__in=entregas[:3]).update(status=Status.SUCESSO, codigo_http=200)
    escopo(WebhookLog, org).filter(pk=entregas[3]).update(status=Status.DESISTIU, codigo_http=500)
    escopo(type(webhook), org).update(falhas_consecutivas=1)
    deles = (gerar_nfe(certificado=transportadora, numero=n, data_emissao=emitido_ha(0)) for n in range(10, 15))
    importar(outra_org, *deles)
    novo_webhook(outra_org, "http://127.0.0.1:9/hook", nome="Integração Beta")
    return webhook


def test_it_shows_the_organizations_documents_per_day_and_webhook_health(membro, movimento):
    pagina = membro.get(INDICE)

    assert pagina.status_code == 200
    conteudo = pagina.content
    assert numero(conteudo, "painel-nfe") == "3"  # the one from 40 days ago is outside the window
    assert numero(conteudo, "painel-cte") == "1"
    assert numero(conteudo, "painel-entregas") == "4"
    assert numero(conteudo, "painel-taxa") == "75,0%"
    assert numero(conteudo, "painel-falhando") == "1"
    hoje, ontem = timezone.localdate(), timezone.localdate() - timedelta(days=1)
    assert f"{hoje:%d/%m}: 2 NF-e, 0 CT-e".encode() in conteudo  # the bar's tooltip
    assert f"{ontem:%d/%m}: 0 NF-e, 1 CT-e".encode() in conteudo
    assert conteudo.count(b"<svg xmlns") >= 2 and b'aria-label="Documentos por dia' in conteudo
    assert b"ERP Alfa: 75,0% \xc2\xb7 4 entregas \xc2\xb7 1 falhas \xc2\xb7 1 falhas seguidas" in conteudo
    assert b"Integra\xc3\xa7\xc3\xa3o Beta" not in conteudo  # another organization's webhook


def test_the_dashboard_loads_nothing_from_outside_and_runs_no_script(membro, movimento):
    painel = membro.get(INDICE).content.split(b'id="painel"')[1].split(b'id="content-main"')[0]
    assert b"<script" not in painel
    assert not re.search(rb'(src|href)="(https?:)?//', painel)
    assert set(re.findall(rb"https?://[^\s\"'<>]+", painel)) == {b"http://www.w3.org/2000/svg"}


def test_a_superuser_chooses_the_organization(superusuario, movimento, org, outra_org):
    padrao = superusuario.get(INDICE).content
    assert b'name="organizacao"' in padrao
    assert numero(padrao, "painel-nfe") == "3"  # the first organization by name: Comercial Alfa

    outra = superusuario.get(INDICE, {"organizacao": outra_org.pk}).content

    assert numero(outra, "painel-nfe") == "5" and numero(outra, "painel-entregas") == "0"
    assert b"Integra\xc3\xa7\xc3\xa3o Beta: sem entregas" in outra


def test_a_member_cannot_choose_another_organization(membro, movimento, outra_org):
    pagina = membro.get(INDICE, {"organizacao": outra_org.pk}).content
    assert numero(pagina, "painel-nfe") == "3" and b'name="organizacao"' not in pagina


def test_staff_without_an_organization_get_the_plain_index(client, django_user_model, movimento):
    client.force_login(django_user_model.objects.create_user("avulso", password="x", is_staff=True))
    pagina = client.get(INDICE)
    assert pagina.status_code == 200 and b'id="painel"' not in pagina.content


def test_the_dashboard_costs_the_same_queries_for_more_data(membro, org, emissor, transportadora):
    webhook = novo_webhook(org, "http://127.0.0.1:9/hook", nome="Um")
    importar(org, gerar_nfe(certificado=emissor, numero=1, data_emissao=emitido_ha(0)))
    membro.get(INDICE)
    with CaptureQueriesContext(connection) as pouco:
        membro.get(INDICE)

    importar(org, *(gerar_nfe(certificado=emissor, numero=n, data_emissao=emitido_ha(n % 29)) for n in range(2, 22)))
    importar(org, *(gerar_cte(certificado=transportadora, numero=n, data_emissao=emitido_ha(n)) for n in range(1, 6)))
    for nome in ("Dois", "Três", "Quatro"):
        novo_webhook(org, "http://127.0.0.1:9/hook", nome=nome)
    disparar(org)
    with CaptureQueriesContext(connection) as muito:
        pagina = membro.get(INDICE)

    assert numero(pagina.content, "painel-nfe") == "21" and webhook.nome.encode() in pagina.content
    assert len(muito) == len(pouco), [q["sql"] for q in muito.captured_queries]
