"""The NF-e and CT-e pages of the admin: DANFE/DACTE inline, the original XML, the events timeline and the
recipient's manifestation, whose buttons call the same `manifestar()` as the API, here against the TLS
SEFAZ simulator."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from core.certificados import cadastrar_certificado
from core.documentos.importacao import importar_bytes
from core.geracao.documentos import gerar_cte, gerar_cte_os, gerar_evento_nfe, gerar_nfe
from core.models import CTe, Membro, NFe, Organizacao, Origem
from core.models.sefaz import Manifestacao
from core.sefaz.distribuicao import consultar_certificado
from core.tenancy import escopo
from tests.membros import novo_membro

pytestmark = pytest.mark.django_db

DESTINATARIO = "61585865000151"  # a1_destinatario's CNPJ
SENHA = "senha-do-a1"
BOTOES = ["Ciência da operação", "Confirmação da operação", "Desconhecimento da operação", "Operação não realizada"]


def importar(organizacao, *documentos):
    for documento in documentos:
        [resultado] = importar_bytes(organizacao=organizacao, nome="d.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
        assert resultado.ok, resultado.mensagem


def url(modelo, pagina, *args):
    return reverse(f"admin:core_{modelo}_{pagina}", args=args)


def mensagens(resposta) -> list[str]:
    return [str(m) for m in resposta.context["messages"]]


@pytest.fixture
def certificado(org, a1_destinatario):
    return cadastrar_certificado(org, a1_destinatario.pfx(SENHA.encode()), SENHA, uf="41", servicos=["nfe"])


@pytest.fixture
def cliente(nova_org):
    cliente = Client()
    cliente.force_login(nova_org.usuario)
    return cliente


@pytest.fixture
def nfe(org, certificado, emissor):
    """An NF-e addressed to `org`'s certificate, imported from a file (SEFAZ does not know it)."""
    importar(org, gerar_nfe(certificado=emissor, numero=7, destinatario_documento=DESTINATARIO))
    return escopo(NFe, org).get()


@pytest.fixture
def da_sefaz(sim, org, certificado, emissor):
    """An NF-e the simulator published to the recipient and the capture brought in: SEFAZ will register
    manifestations of it."""
    nota = gerar_nfe(certificado=emissor, numero=8, destinatario_documento=DESTINATARIO)
    sim.publicar_para_destinatario(DESTINATARIO, nota.xml)
    consultar_certificado(certificado, origem="agendada", servicos=["nfe"])
    return escopo(NFe, org).get(chave=nota.chave)


# --- PDF and XML --------------------------------------------------------------------------------------


def test_ver_danfe_opens_the_pdf_inline(cliente, nfe):
    resposta = cliente.get(url("nfe", "pdf", nfe.pk))

    assert resposta.status_code == 200 and resposta["Content-Type"] == "application/pdf"
    assert resposta.content.startswith(b"%PDF")
    assert resposta["Content-Disposition"] == f'inline; filename="{nfe.chave}-danfe.pdf"'


@pytest.mark.parametrize("gerar", [gerar_cte, gerar_cte_os], ids=["cte", "cte_os"])
def test_ver_dacte_opens_the_pdf_inline_for_a_cte_and_a_cte_os(cliente, org, transportadora, gerar):
    importar(org, gerar(certificado=transportadora))
    cte = escopo(CTe, org).get()

    resposta = cliente.get(url("cte", "pdf", cte.pk))

    assert resposta.status_code == 200 and resposta.content.startswith(b"%PDF")
    assert resposta["Content-Disposition"].startswith("inline;")


def test_a_summary_has_no_danfe_and_the_page_says_why(cliente, org, emissor):
    from core.geracao.documentos import gerar_resumo_nfe

    importar(org, gerar_resumo_nfe(nfe=gerar_nfe(certificado=emissor)))
    resumo = escopo(NFe, org).get()

    resposta = cliente.get(url("nfe", "pdf", resumo.pk), follow=True)

    assert resposta.redirect_chain[-1][0] == url("nfe", "change", resumo.pk)
    assert any("só tem o resumo" in m for m in mensagens(resposta))


def test_baixar_xml_gives_the_stored_original_named_by_the_chave(cliente, org, nfe, transportadora):
    resposta = cliente.get(url("nfe", "baixar_xml", nfe.pk))

    assert resposta.status_code == 200 and resposta.content == nfe.arquivo.bytes_originais()
    assert resposta["Content-Disposition"] == f'attachment; filename="{nfe.chave}.xml"'
    importar(org, gerar_cte(certificado=transportadora))
    cte = escopo(CTe, org).get()
    assert cliente.get(url("cte", "baixar_xml", cte.pk)).content == cte.arquivo.bytes_originais()


def test_another_organizations_document_is_not_found(cliente, outra_org, emissor, transportadora):
    importar(outra_org, gerar_nfe(certificado=emissor), gerar_cte(certificado=transportadora))
    deles, cte = escopo(NFe, outra_org).get(), escopo(CTe, outra_org).get()

    for endereco in (url("nfe", "pdf", deles.pk), url("nfe", "baixar_xml", deles.pk), url("cte", "pdf", cte.pk),
                     url("cte", "baixar_xml", cte.pk)):  # fmt: skip
        assert cliente.get(endereco).status_code == 404, endereco
    resposta = cliente.post(url("nfe", "manifestar", deles.pk), {"tipo": "ciencia"})
    assert resposta.status_code == 404


def test_the_pages_show_the_buttons(cliente, org, nfe, transportadora):
    pagina = cliente.get(url("nfe", "change", nfe.pk)).content.decode()
    for rotulo in ["Ver DANFE", "Baixar XML", *BOTOES]:
        assert rotulo in pagina, rotulo
    assert url("nfe", "pdf", nfe.pk) in pagina and url("nfe", "baixar_xml", nfe.pk) in pagina

    importar(org, gerar_cte(certificado=transportadora))
    cte = escopo(CTe, org).get()
    pagina = cliente.get(url("cte", "change", cte.pk)).content.decode()
    assert "Ver DACTE" in pagina and "Baixar XML" in pagina and "Ciência da operação" not in pagina


# --- The events timeline ------------------------------------------------------------------------------


def protocolo(documento) -> str:
    return etree.fromstring(documento.xml).findtext(".//{*}retEvento/{*}infEvento/{*}nProt")


def test_the_timeline_lists_the_events_by_date_with_names_and_the_cancelled_one(cliente, org, nfe, emissor, a1_destinatario):
    inicio = timezone.now() - timedelta(days=3)
    pagamento = gerar_evento_nfe(certificado=emissor, chave=nfe.chave, tipo_evento="112110", data_evento=inicio)
    cancelamento = gerar_evento_nfe(
        certificado=emissor, chave=nfe.chave, tipo_evento="110001", data_evento=inicio + timedelta(days=2),
        detalhes={"tpEventoAut": "112110", "nProtEvento": protocolo(pagamento)},
    )  # fmt: skip
    ciencia = gerar_evento_nfe(certificado=a1_destinatario, chave=nfe.chave, tipo_evento="210210",
                               data_evento=inicio + timedelta(days=1))  # fmt: skip
    importar(org, cancelamento, ciencia, pagamento)  # out of order: the page sorts by date

    resposta = cliente.get(url("nfe", "change", nfe.pk))

    linha = resposta.context["linha_do_tempo"]
    assert [item["evento"].tipo_evento for item in linha] == ["112110", "210210", "110001"]
    assert [item["evento"].cancelado for item in linha] == [True, False, False]
    assert linha[1]["autor"] == "61.585.865/0001-51"  # the recipient's ciência, its CNPJ masked
    assert linha[1]["data"] == timezone.localtime(inicio + timedelta(days=1)).strftime("%d/%m/%Y %H:%M")
    pagina = resposta.content.decode()
    linhas = pagina[pagina.index('id="linha-do-tempo"') :].split('<tr class="evento-da-linha')[1:]
    assert ["Informação de efetivo pagamento" in linhas[0], "Ciência da Operação" in linhas[1],
            "Cancelamento de Evento" in linhas[2] and "(110001)" in linhas[2]] == [True, True, True]  # fmt: skip
    assert "Cancelado por Cancelamento de Evento" in linhas[0] and protocolo(ciencia) in linhas[1]
    # the recipient's ciência is the manifestation state, with its history
    assert resposta.context["manifestacao"]["situacao"] == "ciencia"
    assert [h["nome"] for h in resposta.context["historico_manifestacao"]] == ["Ciência da operação"]


# --- The manifestation --------------------------------------------------------------------------------


def test_ciencia_button_registers_at_the_sefaz_simulator_and_says_so(cliente, sim, org, da_sefaz):
    resposta = cliente.post(url("nfe", "manifestar", da_sefaz.pk), {"tipo": "ciencia"}, follow=True)

    assert resposta.redirect_chain[-1][0] == url("nfe", "change", da_sefaz.pk)
    [registrado] = sim.eventos_registrados
    assert (registrado.chave, registrado.tipo_evento) == (da_sefaz.chave, "210210")
    [aviso] = mensagens(resposta)
    assert f"Ciência da operação registrada na SEFAZ para a NF-e {da_sefaz.chave} (protocolo {registrado.protocolo})" in aviso
    nfe = escopo(NFe, org).get(pk=da_sefaz.pk)
    assert (nfe.manifestacao, nfe.manifestacao_protocolo) == ("ciencia", registrado.protocolo)
    assert escopo(Manifestacao, org).get().origem == "admin"
    assert resposta.context["manifestacao"]["nome"] == "Ciência da operação"


@pytest.mark.parametrize("tipo, corpo, evento", [
    ("confirmacao", {}, "210200"),
    ("desconhecimento", {}, "210220"),
    ("nao_realizada", {"justificativa": "mercadoria devolvida na portaria"}, "210240"),
])  # fmt: skip
def test_each_conclusive_button_registers_its_event(cliente, sim, org, da_sefaz, tipo, corpo, evento):
    resposta = cliente.post(url("nfe", "manifestar", da_sefaz.pk), {"tipo": tipo, **corpo}, follow=True)

    assert [e.tipo_evento for e in sim.eventos_registrados] == [evento]
    assert "registrada na SEFAZ" in mensagens(resposta)[0]
    assert escopo(NFe, org).get(pk=da_sefaz.pk).manifestacao == tipo


def test_a_sefaz_rejection_shows_its_cstat_and_message(cliente, sim, org, nfe):
    # the simulator never authorized this NF-e (it was imported from a file): SEFAZ refuses with 580
    resposta = cliente.post(url("nfe", "manifestar", nfe.pk), {"tipo": "confirmacao"}, follow=True)

    [erro] = mensagens(resposta)
    assert "recusada pela SEFAZ: cStat 580" in erro and "NF-e autorizada" in erro
    assert escopo(NFe, org).get(pk=nfe.pk).manifestacao == ""


def test_operacao_nao_realizada_needs_15_to_255_characters(cliente, sim, nfe):
    for justificativa in ("", "curta demais", "x" * 256):
        resposta = cliente.post(url("nfe", "manifestar", nfe.pk), {"tipo": "nao_realizada",
                                                                    "justificativa": justificativa}, follow=True)  # fmt: skip
        [erro] = mensagens(resposta)
        assert erro.startswith("Manifestação não enviada:") and "15 a 255" in erro, justificativa
    assert sim.chamadas == []


def test_a_membro_manifests_and_an_inactive_organizations_staff_cannot(sim, org, da_sefaz):
    caio = Client()
    caio.force_login(novo_membro(org, "caio@alfa.com.br", Membro.Papel.MEMBRO))
    assert caio.get(url("nfe", "change", da_sefaz.pk)).context["pode_manifestar"] is True

    Organizacao.objects.filter(pk=org.pk).update(ativa=False)

    pagina = caio.get(url("nfe", "change", da_sefaz.pk))
    assert pagina.context["pode_manifestar"] is False and "Ciência da operação" not in pagina.content.decode()
    assert caio.post(url("nfe", "manifestar", da_sefaz.pk), {"tipo": "ciencia"}).status_code == 403
    assert sim.eventos_registrados == []


def test_the_manifestation_is_only_shown_to_the_recipient(cliente, org, emissor):
    # an NF-e the organization received as someone else (no certificate of it is the destinatário)
    importar(org, gerar_nfe(certificado=emissor, destinatario_documento="19131243000197"))
    outra = escopo(NFe, org).get()

    resposta = cliente.get(url("nfe", "change", outra.pk))

    assert "manifestacao" not in resposta.context and "Ciência da operação" not in resposta.content.decode()
    assert "Ver DANFE" in resposta.content.decode()


def test_the_page_has_one_xml_download_the_button(cliente, nfe):
    pagina = cliente.get(url("nfe", "change", nfe.pk)).content.decode()

    assert pagina.count(url("nfe", "baixar_xml", nfe.pk)) == 1 and url("nfe", "xml", nfe.pk) not in pagina
