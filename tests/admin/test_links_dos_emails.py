"""E-mail links open the document's admin page (not the API's JSON, which answers 401 in a browser): the
NF-e and CT-e e-mails and the import digest, rendered by the e-mail queue at send time; a click goes
through the admin login and lands on the document."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from core.documentos.importacao import Entrada, importar
from core.geracao.documentos import gerar_cte, gerar_nfe
from core.models import CTe, NFe, Origem
from core.tenancy import escopo
from tests.notificacoes.conftest import enviar_fila, html

pytestmark = pytest.mark.django_db
BASE = "https://fiscal.exemplo.com.br"
SENHA = "senha-forte-123"  # nova_org's owner (tests/conftest.py)


@pytest.fixture(autouse=True)
def _config(settings):
    settings.FISCAL_URL_PUBLICA = BASE
    settings.FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL = 3
    settings.WEBHOOK_ENTREGA_IMEDIATA = False


def importar_e_enviar(org, *documentos):
    list(importar(organizacao=org, entradas=[Entrada(f"{d.chave}.xml", d.xml) for d in documentos], origem=Origem.UPLOAD))
    mail.outbox.clear()
    enviar_fila()
    return list(mail.outbox)


def links(email) -> list[str]:
    return re.findall(r'href="([^"]+)"', html(email))


def abrir_sem_sessao(link: str, usuario) -> Client:
    """A browser without a session: the admin's login first, then back to the link, then the document."""
    navegador = Client()
    caminho = urlsplit(link).path
    login = navegador.get(caminho)
    assert login.status_code == 302 and login["Location"] == f"{reverse('admin:login')}?next={caminho}"
    entrada = navegador.post(login["Location"], {"username": usuario.get_username(), "password": SENHA, "next": caminho})
    assert entrada.status_code == 302 and entrada["Location"] == caminho
    return navegador.get(caminho, follow=True)


def test_the_nfe_and_cte_emails_link_to_their_admin_pages_through_the_login(org, nova_org, emissor, transportadora):
    nfe_xml, cte_xml = gerar_nfe(certificado=emissor, numero=11), gerar_cte(certificado=transportadora, numero=12)
    emails = importar_e_enviar(org, nfe_xml, cte_xml)
    nfe, cte = escopo(NFe, org).get(chave=nfe_xml.chave), escopo(CTe, org).get(chave=cte_xml.chave)

    [do_nfe] = [e for e in emails if e.subject.startswith("NF-e")]
    [do_cte] = [e for e in emails if e.subject.startswith("CT-e")]
    link_nfe = f"{BASE}{reverse('admin:core_nfe_chave', args=[nfe.chave])}"
    link_cte = f"{BASE}{reverse('admin:core_cte_chave', args=[cte.chave])}"
    assert link_nfe in links(do_nfe) and link_nfe in do_nfe.body
    assert link_cte in links(do_cte) and link_cte in do_cte.body
    assert not [link for e in (do_nfe, do_cte) for link in links(e) if "/api/nfes/" in link or "/api/ctes/" in link]

    pagina = abrir_sem_sessao(link_nfe, nova_org.usuario)
    assert pagina.redirect_chain[-1][0] == reverse("admin:core_nfe_change", args=[nfe.pk]) and pagina.status_code == 200
    pagina = abrir_sem_sessao(link_cte, nova_org.usuario)
    assert pagina.redirect_chain[-1][0] == reverse("admin:core_cte_change", args=[cte.pk]) and pagina.status_code == 200


def test_the_xml_link_downloads_the_original(org, membro, emissor):
    nota = gerar_nfe(certificado=emissor, numero=13)
    [email] = importar_e_enviar(org, nota)
    link = f"{BASE}{reverse('admin:core_nfe_chave_xml', args=[nota.chave])}"
    assert link in links(email)

    resposta = membro.get(urlsplit(link).path, follow=True)
    assert resposta.status_code == 200 and b"".join(resposta.streaming_content if resposta.streaming else [resposta.content]) == nota.xml


def test_the_import_digest_links_each_document_to_its_admin_page(org, emissor):
    notas = [gerar_nfe(certificado=emissor, numero=n, itens=1) for n in range(20, 25)]
    [resumo] = importar_e_enviar(org, *notas)

    for nota in notas:
        assert f"{BASE}{reverse('admin:core_nfe_chave', args=[nota.chave])}" in links(resumo)
    assert not [link for link in links(resumo) if "/api/nfes/" in link]


def test_another_organizations_member_finds_nothing_at_the_link(org, outra_org, emissor, django_user_model):
    from core.models import Membro

    nota = gerar_nfe(certificado=emissor, numero=14)
    importar_e_enviar(org, nota)
    estranho = django_user_model.objects.create_user("estranho", password=SENHA, is_staff=True)
    Membro.objects.create(usuario=estranho, organizacao=outra_org)
    navegador = Client()
    navegador.force_login(estranho)

    assert navegador.get(reverse("admin:core_nfe_chave", args=[nota.chave])).status_code == 404
