"""The fiscal team's admin pages in headless Chromium at 1366x768 (issue 15): the index, the NF-e list and
page, the CT-e page, the webhooks and the certificates.

Each test reads what the browser shows (the DOM's visible text, element positions), fails on any console
error and leaves a screenshot in var/capturas/<page>.png. The data is made once for the module: one
organization, the recipient of NF-e from the demo's supplier (CNPJ 11.222.333/0001-81), one of them
cancelled, with a CT-e, a webhook and its A1 certificate.
"""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from core.certificados import cadastrar_certificado
from core.documentos.importacao import importar_bytes
from core.geracao.documentos import gerar_cte, gerar_evento_nfe, gerar_nfe
from core.models import CTe, NFe, Origem, Situacao
from core.organizacoes import criar_organizacao
from core.tenancy import escopo
from core.webhooks.gestao import criar_webhook

from .conftest import Admin, erros_no_console

pytestmark = pytest.mark.django_db

SENHA_PFX = "senha-do-a1"
MANIFESTACAO = ["Ciência da operação", "Confirmação da operação", "Desconhecimento da operação", "Operação não realizada"]


@dataclass
class Fiscal:
    admin: Admin
    nfe: NFe
    cte: CTe
    nfes: list[NFe]


def reais(valor: Decimal) -> str:
    """R$ 1.234,56, written here apart from core.formatacao so the page is checked against the rule, not
    against itself."""
    return "R$ " + f"{valor:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def em_blocos_de_quatro(chave: str) -> str:
    return " ".join(chave[i : i + 4] for i in range(0, 44, 4))


def importar(organizacao, *documentos):
    for documento in documentos:
        importar_bytes(organizacao=organizacao, nome="x.xml", conteudo=documento.xml, origem=Origem.UPLOAD)


@pytest.fixture(scope="module")
def fiscal(banco_do_modulo, navegador, servidor, emissor, transportadora, a1_destinatario) -> Fiscal:
    # This hour's start: today in the local time zone and not in the future, so "the month" holds them all.
    emissao = timezone.localtime().replace(minute=0, second=0, microsecond=0)
    with override_settings(WEBHOOK_ALLOW_PRIVATE_NETWORKS=True, WEBHOOK_ENTREGA_IMEDIATA=False):
        nova = criar_organizacao(nome="Comercial Exemplo SA", email="fiscal@exemplo.com.br", senha="senha-forte-123")
        organizacao = nova.organizacao
        cadastrar_certificado(organizacao, a1_destinatario.pfx(SENHA_PFX.encode()), SENHA_PFX, uf="SP")
        criar_webhook(organizacao, nome="ERP Comercial Exemplo", url="http://127.0.0.1:9/fiscal/webhook")
        nfes = [
            gerar_nfe(certificado=emissor, numero=1000 + i, itens=1 + i % 3, data_emissao=emissao,
                      destinatario_documento=a1_destinatario.cnpj, destinatario_nome="COMERCIAL EXEMPLO SA")
            for i in range(5)
        ]  # fmt: skip
        cancelamento = gerar_evento_nfe(certificado=emissor, chave=nfes[4].chave, tipo_evento="110111",
                                        detalhes={"nProt": "135260000000001", "xJust": "Pedido cancelado pelo cliente"})  # fmt: skip
        cte = gerar_cte(certificado=transportadora, numero=77, data_emissao=emissao, chaves_nfe=[nfes[0].chave])
        importar(organizacao, *nfes, cancelamento, cte)
    admin = Admin(navegador, servidor)
    admin.entrar(nova.usuario)
    guardadas = escopo(NFe, organizacao)
    return Fiscal(admin, guardadas.get(chave=nfes[0].chave), escopo(CTe, organizacao).get(), list(guardadas.order_by("numero")))


def colunas_escondidas(cabecalhos) -> list[str]:
    """The list's columns that end past what the window shows."""
    return [f"{texto!r} termina em {direita} px, só se vê até {visivel} px" for texto, direita, visivel in cabecalhos if direita > visivel]


def sem_erros_no_console(pagina):
    assert erros_no_console(pagina) == [], f"erros no console do navegador em {pagina.nome}"


def test_the_console_check_sees_an_error(fiscal):
    # Without the browser log capability the checks below would pass on any page: prove they can fail.
    fiscal.admin.navegador.get(fiscal.admin.servidor.url + reverse("admin:index"))
    fiscal.admin.navegador.execute_script("console.error('erro de teste do console')")
    entradas = fiscal.admin.navegador.get_log("browser")
    assert any(e["level"] == "SEVERE" and "erro de teste do console" in e["message"] for e in entradas)


def test_the_index_shows_the_months_documents_with_totals_in_reais(fiscal):
    pagina = fiscal.admin.abrir(reverse("admin:index"), "indice")
    sem_erros_no_console(pagina)
    for titulo in ("Documentos do mês", "Recebidos por dia", "Manifestação pendente", "Certificados vencendo",
                   "Captura na SEFAZ"):  # fmt: skip
        assert titulo.casefold() in pagina.texto.casefold()  # the admin's CSS capitalizes some headings
    # Each total on the line of its situação (a table row reads as one line of text).
    linhas = pagina.texto.splitlines()
    nfes = escopo(NFe, fiscal.nfe.organizacao)
    for situacao in (Situacao.AUTORIZADA, Situacao.CANCELADA):
        total = nfes.filter(situacao=situacao).aggregate(total=Sum("valor_total"))["total"]
        assert any(linha.startswith(situacao.label) and reais(total) in linha for linha in linhas), (situacao, reais(total))
    cte = reais(fiscal.cte.valor_prestacao)
    assert any(linha.startswith(Situacao.AUTORIZADA.label) and cte in linha for linha in linhas), cte


def test_the_nfe_list_shows_masked_cnpj_and_reais_and_its_columns_fit_1366_px(fiscal):
    pagina = fiscal.admin.abrir(reverse("admin:core_nfe_changelist"), "lista-nfe")
    sem_erros_no_console(pagina)
    assert "11.222.333/0001-81" in pagina.texto
    assert "11222333000181" not in pagina.texto
    for nfe in fiscal.nfes:
        assert reais(nfe.valor_total) in pagina.texto
    assert fiscal.admin.largura_da_janela() == 1366
    cabecalhos = fiscal.admin.cabecalhos_da_lista()
    titulos = [texto.casefold() for texto, _, _ in cabecalhos]
    for coluna in ("Valor", "Situação"):  # pt-BR labels, with accents (the CSS shows them in capitals)
        assert any(titulo.startswith(coluna.casefold()) for titulo in titulos), f"coluna {coluna} não encontrada: {titulos}"
    # Those two were off-screen in the issue; every column must fit (issue 15, point 1).
    assert colunas_escondidas(cabecalhos) == []


def test_the_nfe_page_has_its_chave_in_blocks_masks_and_buttons(fiscal):
    nfe = fiscal.nfe
    pagina = fiscal.admin.abrir(reverse("admin:core_nfe_change", args=[nfe.pk]), "nfe")
    sem_erros_no_console(pagina)
    assert em_blocos_de_quatro(nfe.chave) in pagina.texto
    assert "11.222.333/0001-81" in pagina.texto
    assert reais(nfe.valor_total) in pagina.texto
    rotulos = fiscal.admin.botoes()
    for rotulo in ("Ver DANFE", "Baixar XML", *MANIFESTACAO):
        assert rotulo in rotulos, f"botão {rotulo!r} ausente; há {sorted(rotulos)}"


def test_the_cte_page_has_its_chave_in_blocks_masks_and_buttons(fiscal):
    cte = fiscal.cte
    pagina = fiscal.admin.abrir(reverse("admin:core_cte_change", args=[cte.pk]), "cte")
    sem_erros_no_console(pagina)
    assert em_blocos_de_quatro(cte.chave) in pagina.texto
    assert "19.131.243/0001-97" in pagina.texto
    assert reais(cte.valor_prestacao) in pagina.texto
    assert "Rodoviário" in pagina.texto  # modal 01, by name
    rotulos = fiscal.admin.botoes()
    for rotulo in ("Ver DACTE", "Baixar XML"):
        assert rotulo in rotulos, f"botão {rotulo!r} ausente; há {sorted(rotulos)}"


def test_the_webhooks_list(fiscal):
    pagina = fiscal.admin.abrir(reverse("admin:core_webhook_changelist"), "lista-webhooks")
    sem_erros_no_console(pagina)
    assert "ERP Comercial Exemplo" in pagina.texto
    assert "http://127.0.0.1:9/fiscal/webhook" in pagina.texto


def test_the_webhooks_list_fits_1366_px(fiscal):
    fiscal.admin.abrir(reverse("admin:core_webhook_changelist"), "lista-webhooks")
    assert colunas_escondidas(fiscal.admin.cabecalhos_da_lista()) == []


def test_the_certificates_list_shows_the_masked_cnpj(fiscal):
    pagina = fiscal.admin.abrir(reverse("admin:core_certificadodigital_changelist"), "lista-certificados")
    sem_erros_no_console(pagina)
    assert "61.585.865/0001-51" in pagina.texto
    assert "61585865000151" not in pagina.texto
    assert colunas_escondidas(fiscal.admin.cabecalhos_da_lista()) == []


def test_the_webhook_health_page(fiscal):
    pagina = fiscal.admin.abrir(reverse("admin:core_webhook_saude"), "saude-webhooks")
    sem_erros_no_console(pagina)
    assert "Saúde dos webhooks de Comercial Exemplo SA".casefold() in pagina.texto.casefold()
    assert "Entregas nas últimas 24 horas".casefold() in pagina.texto.casefold()
