"""Values read the Brazilian way in the admin (core.formatacao): masked CNPJ/CPF, the chave in blocks of
four, R$ 1.234,56, dates in settings.TIME_ZONE, and codes by name, on list and detail pages."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from lxml import html

from core import formatacao as fmt
from core.documentos.importacao import importar_bytes
from core.geracao.documentos import FUSO, gerar_cte, gerar_evento_nfe, gerar_nfe
from core.models import CTe, NFe, Origem
from core.notifications import formatacao as formatacao_dos_emails
from core.tenancy import escopo

CNPJ_EMITENTE, CPF = "11222333000181", "52998224725"
# 23:30 in Brasília is 02:30 UTC of the next day: the admin must show the 31st.
NOITE_DE_31 = datetime(2026, 1, 31, 23, 30, tzinfo=FUSO)


# --- the formatters


@pytest.mark.parametrize(
    ("documento", "esperado"),
    [(CNPJ_EMITENTE, "11.222.333/0001-81"), (CPF, "529.982.247-25"), ("12ABC34501DE35", "12.ABC.345/01DE-35"),
     ("", ""), ("123", "123")],
)  # fmt: skip
def test_it_masks_cnpj_and_cpf(documento, esperado):
    assert fmt.formatar_documento(documento) == esperado


def test_it_groups_the_chave_in_blocks_of_four():
    chave = "35260111222333000181550010000001231000000019"
    assert fmt.formatar_chave(chave) == "3526 0111 2223 3300 0181 5500 1000 0001 2310 0000 0019"


@pytest.mark.parametrize(
    ("valor", "esperado"),
    [(Decimal("1234.56"), "R$ 1.234,56"), ("1234567.8", "R$ 1.234.567,80"), (0, "R$ 0,00"), (None, "R$ 0,00"),
     (Decimal("-1234.5"), "-R$ 1.234,50")],
)  # fmt: skip
def test_it_writes_money_the_brazilian_way(valor, esperado):
    assert fmt.formatar_moeda(valor) == esperado


def test_unit_prices_keep_their_decimals_without_a_tail_of_zeros():
    assert fmt.formatar_preco(Decimal("592.6600000000")) == "R$ 592,66"
    assert fmt.formatar_preco(Decimal("1234.3375000000")) == "R$ 1.234,3375"
    assert fmt.formatar_preco(Decimal("10")) == "R$ 10,00"


def test_dates_are_shown_in_the_installations_time_zone():
    em_utc = NOITE_DE_31.astimezone(UTC)
    assert em_utc.day == 1
    assert fmt.formatar_data_hora(em_utc) == "31/01/2026 23:30"
    assert fmt.formatar_data(em_utc) == "31/01/2026"
    assert fmt.formatar_data(date(2026, 2, 1)) == "01/02/2026"
    assert fmt.formatar_data_hora(None) == ""


def test_codes_are_shown_by_name_with_the_code():
    assert fmt.nome_do_modal("01") == "01 Rodoviário"
    assert fmt.nome_do_modal("06") == "06 Multimodal"
    assert fmt.nome_do_ambiente(1) == "1 Produção"
    assert fmt.nome_do_ambiente(2) == "2 Homologação"
    assert fmt.nome_da_finalidade(4) == "4 Devolução/retorno"
    assert fmt.nome_do_tipo_cte("0") == "0 Normal"
    assert fmt.nome_do_tipo_servico("1") == "1 Subcontratação"
    assert fmt.nome_do_papel_tomador("3") == "3 Destinatário"
    assert fmt.nome_da_situacao("autorizada") == "Autorizada"
    assert fmt.nome_do_tipo_evento("nfe", "210210") == "210210 Ciência da Operação"
    assert fmt.nome_do_modal("99") == "99"  # unknown: the code as is
    assert fmt.nome_do_modal("") == fmt.VAZIO


def test_the_emails_use_the_same_formatters():
    for nome in ("formatar_chave", "formatar_documento", "formatar_moeda", "formatar_data_hora", "formatar_data"):
        assert getattr(formatacao_dos_emails, nome) is getattr(fmt, nome)


# --- the pages


@pytest.fixture
def documentos(db, org, emissor, transportadora, a1_destinatario, settings):
    settings.FISCAL_ACEITAR_HOMOLOGACAO = True  # the NF-e is a homologation one, to show ambiente 2 by name
    nfe = gerar_nfe(certificado=emissor, emitente_cnpj=CNPJ_EMITENTE, destinatario="cpf", destinatario_documento=CPF,
                    destinatario_nome="MARIA DA SILVA", data_emissao=NOITE_DE_31, finalidade=4, ambiente=2)  # fmt: skip
    cte = gerar_cte(certificado=transportadora, modal="01", tipo_servico="1", tomador="4", tomador_documento=CPF,
                    chaves_nfe=[nfe.chave])  # fmt: skip
    ciencia = gerar_evento_nfe(certificado=a1_destinatario, chave=nfe.chave, tipo_evento="210210")
    for documento in (nfe, cte, ciencia):
        resultados = importar_bytes(organizacao=org, nome="x.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
        assert all(r.ok for r in resultados), [r.mensagem for r in resultados]
    return escopo(NFe, org).get(), escopo(CTe, org).get()


def pagina(cliente, nome: str, *args, **parametros):
    resposta = cliente.get(reverse(f"admin:core_{nome}", args=args), parametros)
    assert resposta.status_code == 200
    return html.fromstring(resposta.content.decode())


def cabecalhos(arvore) -> list[str]:
    return [th.text_content().strip() for th in arvore.xpath('//table[@id="result_list"]/thead/tr/th')]


def linhas_da_lista(arvore) -> list[str]:
    return [" ".join(" ".join(tr.itertext()).split()) for tr in arvore.xpath('//table[@id="result_list"]/tbody/tr')]


def campos(arvore) -> dict[str, str]:
    """Label -> shown value of a read-only change page."""
    return {
        " ".join(linha.xpath(".//label")[0].text_content().split()).rstrip(":"): " ".join(
            linha.xpath('.//div[@class="readonly"]')[0].text_content().split()
        )
        for linha in arvore.xpath('//div[contains(@class, "form-row")]//div[contains(@class, "fieldBox") or '
                                  'contains(@class, "flex-container")][.//div[@class="readonly"]]')
    }  # fmt: skip


def test_the_nfe_list_shows_masked_parties_money_local_dates_and_names(membro, documentos):
    nfe, _ = documentos
    arvore = pagina(membro, "nfe_changelist")

    assert cabecalhos(arvore)[1:] == ["Número/série", "Emissão", "Emitente", "Valor total", "Situação", "Manifestação"]
    (linha,) = linhas_da_lista(arvore)
    assert f"{nfe.numero}/{nfe.serie}" in linha
    assert "31/01/2026 23:30" in linha
    assert "11.222.333/0001-81" in linha
    assert fmt.formatar_moeda(nfe.valor_total) in linha and "R$ " in linha
    assert "Autorizada" in linha
    assert f"{nfe.get_manifestacao_display()} prazo {fmt.formatar_data(nfe.prazo_manifestacao)}" in linha


def test_the_nfe_page_shows_the_grouped_chave_masks_money_and_code_names(membro, documentos):
    nfe, _ = documentos
    arvore = pagina(membro, "nfe_change", nfe.pk)
    valores = campos(arvore)

    assert valores["Chave de acesso"] == fmt.formatar_chave(nfe.chave)
    assert valores["CNPJ/CPF do emitente"] == "11.222.333/0001-81"
    assert valores["CNPJ/CPF do destinatário"] == "529.982.247-25"
    assert valores["Destinatário"] == nfe.destinatario_nome
    assert valores["Emissão"] == "31/01/2026 23:30"
    assert valores["Valor total"] == fmt.formatar_moeda(nfe.valor_total)
    assert valores["Valor dos produtos"] == fmt.formatar_moeda(nfe.valor_produtos)
    assert valores["Situação"] == "Autorizada"
    assert valores["Ambiente"] == "2 Homologação"
    assert valores["Finalidade"] == "4 Devolução/retorno"
    assert valores["Modelo"] == "NF-e"
    # the items and events below the fields
    texto = " ".join(" ".join(arvore.itertext()).split())
    for item in nfe.itens.all():
        assert f"{fmt.formatar_preco(item.valor_unitario)} {fmt.formatar_moeda(item.valor_total)}" in texto
    assert "Ciência da Operação (210210)" in texto  # the events timeline (there is no events table besides it)
    assert valores["Tipo de documento do destinatário"] == "CPF"
    assert f"NF-e {nfe.numero}/{nfe.serie} · {fmt.formatar_chave(nfe.chave)}" in texto  # title and breadcrumb
    assert "CST do IBS/CBS" not in texto  # the reform's item columns only on a note that has the reform's groups


def test_the_cte_list_and_page_show_the_modal_and_service_by_name(membro, documentos):
    _, cte = documentos
    (linha,) = linhas_da_lista(pagina(membro, "cte_changelist"))
    assert f"01 Rodoviário {cte.uf_inicio} → {cte.uf_fim}" in linha
    assert fmt.formatar_documento(cte.emitente_documento) in linha
    assert fmt.formatar_moeda(cte.valor_prestacao) in linha

    valores = campos(pagina(membro, "cte_change", cte.pk))
    assert valores["Modal"] == "01 Rodoviário"
    assert valores["Tipo de serviço"] == "1 Subcontratação"
    assert valores["Tipo de CT-e"] == "0 Normal"
    assert valores["Valor da prestação"] == fmt.formatar_moeda(cte.valor_prestacao)
    assert valores["CNPJ/CPF do tomador"] == "529.982.247-25"
    arvore = pagina(membro, "cte_change", cte.pk)
    texto = " ".join(" ".join(arvore.itertext()).split())
    assert cte.chaves_nfe and all(fmt.formatar_chave(chave) in texto for chave in cte.chaves_nfe)
    assert '["' not in texto  # the list of NF-e is not shown as JSON
    # a CT-e without the reform's groups keeps that section folded
    (secao,) = [f for f in arvore.iter("fieldset") if "Reforma tributária" in " ".join(f.itertext())]
    assert "collapse" in secao.get("class", "")


def test_the_events_list_names_the_event_type_and_groups_the_chave(membro, documentos):
    nfe, _ = documentos
    arvore = pagina(membro, "eventodocumento_changelist")
    assert "Tipo de evento" in cabecalhos(arvore)
    (linha,) = linhas_da_lista(arvore)
    assert "210210 Ciência da Operação" in linha
    assert fmt.formatar_chave(nfe.chave) in linha


def test_certificates_sefaz_queries_manifestations_and_imports_show_masks(membro, org, linhas):
    from core.models import CertificadoDigital, ConsultaSEFAZ, ImportLog
    from core.models.sefaz import Manifestacao

    certificado = escopo(CertificadoDigital, org).get()
    cnpj = fmt.formatar_documento(certificado.cnpj)
    (linha,) = linhas_da_lista(pagina(membro, "certificadodigital_changelist"))
    assert cnpj in linha and certificado.cnpj not in linha
    assert campos(pagina(membro, "certificadodigital_change", certificado.pk))["CNPJ"] == cnpj
    # the search takes the CNPJ with its mask
    assert len(linhas_da_lista(pagina(membro, "certificadodigital_changelist", q=cnpj))) == 1

    (linha,) = linhas_da_lista(pagina(membro, "consultasefaz_changelist"))
    assert cnpj in linha
    manifestacao = escopo(Manifestacao, org).get()
    (linha,) = linhas_da_lista(pagina(membro, "manifestacao_changelist"))
    assert fmt.formatar_chave(manifestacao.chave) in linha
    assert campos(pagina(membro, "consultasefaz_change", escopo(ConsultaSEFAZ, org).get().pk))["CNPJ/CPF"] == cnpj
    importacao = escopo(ImportLog, org).exclude(chave="").first()
    assert any(fmt.formatar_chave(importacao.chave) in linha for linha in linhas_da_lista(pagina(membro, "importlog_changelist")))
    # the exact searches take the chave as printed and the masked CNPJ
    assert len(linhas_da_lista(pagina(membro, "manifestacao_changelist", q=fmt.formatar_chave(manifestacao.chave)))) == 1
    assert len(linhas_da_lista(pagina(membro, "consultasefaz_changelist", q=cnpj))) == 1
    assert fmt.formatar_chave(importacao.chave) in linhas_da_lista(
        pagina(membro, "importlog_changelist", q=fmt.formatar_chave(importacao.chave))
    )[0]
