"""The tax reform's groups (IBS, CBS, IS, vItem, vNFTot, vTotDFe) and finNFe: read, stored to the cent, NULL
where a document has none, and filled in for documents stored before by re-reading their kept XML."""

import io
import re
from datetime import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from lxml import etree

from core.documentos.importacao import importar_bytes
from core.documentos.leitura import DocumentoIncompleto, ler_nfe
from core.documentos.xml_seguro import ler_xml
from core.geracao.documentos import FUSO, gerar_cte, gerar_cte_os, gerar_nfe, gerar_resumo_nfe
from core.models import CTe, EventoDocumento, Finalidade, NFe, NFeItem, Origem
from core.tenancy import escopo

pytestmark = pytest.mark.django_db

N = {"n": "http://www.portalfiscal.inf.br/nfe"}
C = {"c": "http://www.portalfiscal.inf.br/cte"}
EM_2026 = datetime(2026, 3, 10, 9, 30, tzinfo=FUSO)
EM_2027 = datetime(2027, 2, 1, 14, 0, tzinfo=FUSO)


def importar(org, documento):
    [resultado] = importar_bytes(organizacao=org, nome=f"{documento.chave}.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
    assert resultado.status == "sucesso", resultado.mensagem
    return resultado


def valor(raiz, caminho, ns=N) -> Decimal | None:
    texto = raiz.xpath(f"string({caminho})", namespaces=ns)
    return Decimal(texto) if texto else None


def test_an_nfe_of_2027_keeps_every_reform_figure_of_its_xml_to_the_cent(org, emissor):
    documento = gerar_nfe(certificado=emissor, itens=3, data_emissao=EM_2027, reforma=True, imposto_seletivo=True)
    importar(org, documento)
    raiz = etree.fromstring(documento.xml)
    nfe = escopo(NFe, org).get(chave=documento.chave)

    total = "//n:total"
    assert nfe.valor_nf == valor(raiz, f"{total}/n:ICMSTot/n:vNF")
    assert nfe.valor_nf_tot == valor(raiz, f"{total}/n:vNFTot")
    assert nfe.valor_bc_ibs_cbs == valor(raiz, f"{total}/n:IBSCBSTot/n:vBCIBSCBS")
    assert nfe.valor_ibs == valor(raiz, f"{total}/n:IBSCBSTot/n:gIBS/n:vIBS")
    assert nfe.valor_ibs_uf == valor(raiz, f"{total}/n:IBSCBSTot/n:gIBS/n:gIBSUF/n:vIBSUF")
    assert nfe.valor_ibs_mun == valor(raiz, f"{total}/n:IBSCBSTot/n:gIBS/n:gIBSMun/n:vIBSMun")
    assert nfe.valor_cbs == valor(raiz, f"{total}/n:IBSCBSTot/n:gCBS/n:vCBS")
    assert nfe.valor_credito_presumido_ibs == valor(raiz, f"{total}/n:IBSCBSTot/n:gIBS/n:vCredPres")
    assert nfe.valor_credito_presumido_cbs == valor(raiz, f"{total}/n:IBSCBSTot/n:gCBS/n:vCredPres")
    assert nfe.valor_is == valor(raiz, f"{total}/n:ISTot/n:vIS") > 0
    # From 2027 the taxes are charged on top: vNFTot is the total, and it differs from vNF.
    assert nfe.valor_nf_tot == nfe.valor_nf + nfe.valor_ibs + nfe.valor_cbs + nfe.valor_is
    assert nfe.valor_total == nfe.valor_nf_tot != nfe.valor_nf
    assert nfe.tributos_reforma["IBSCBSTot"]["gCBS"]["vCBS"] == f"{nfe.valor_cbs:.2f}"
    assert nfe.tributos_reforma["vNFTot"] == f"{nfe.valor_nf_tot:.2f}"

    for item in escopo(NFeItem, org).filter(nfe=nfe):
        det = f"//n:det[@nItem='{item.numero}']"
        ibscbs = f"{det}/n:imposto/n:IBSCBS"
        assert item.valor_item == valor(raiz, f"{det}/n:vItem")
        assert (item.cst_ibs_cbs, item.classificacao_tributaria) == (
            raiz.xpath(f"string({ibscbs}/n:CST)", namespaces=N), raiz.xpath(f"string({ibscbs}/n:cClassTrib)", namespaces=N)
        )
        assert item.valor_bc_ibs_cbs == valor(raiz, f"{ibscbs}/n:gIBSCBS/n:vBC")
        assert item.aliquota_ibs_uf == valor(raiz, f"{ibscbs}/n:gIBSCBS/n:gIBSUF/n:pIBSUF")
        assert item.valor_ibs_uf == valor(raiz, f"{ibscbs}/n:gIBSCBS/n:gIBSUF/n:vIBSUF")
        assert item.aliquota_ibs_mun == valor(raiz, f"{ibscbs}/n:gIBSCBS/n:gIBSMun/n:pIBSMun")
        assert item.valor_ibs_mun == valor(raiz, f"{ibscbs}/n:gIBSCBS/n:gIBSMun/n:vIBSMun")
        assert item.valor_ibs == valor(raiz, f"{ibscbs}/n:gIBSCBS/n:vIBS")
        assert item.aliquota_cbs == valor(raiz, f"{ibscbs}/n:gIBSCBS/n:gCBS/n:pCBS")
        assert item.valor_cbs == valor(raiz, f"{ibscbs}/n:gIBSCBS/n:gCBS/n:vCBS")
        assert item.valor_is == valor(raiz, f"{det}/n:imposto/n:IS/n:vIS")
        assert item.valor_bc_is == valor(raiz, f"{det}/n:imposto/n:IS/n:vBCIS")
        assert item.aliquota_is == valor(raiz, f"{det}/n:imposto/n:IS/n:pIS")
        assert item.cst_is == raiz.xpath(f"string({det}/n:imposto/n:IS/n:CSTIS)", namespaces=N)
    itens = list(escopo(NFeItem, org).filter(nfe=nfe).order_by("numero"))
    assert sum(i.valor_item for i in itens) == nfe.valor_nf_tot
    assert sum(i.valor_cbs for i in itens) == nfe.valor_cbs
    assert [i.valor_is is not None for i in itens] == [True, False, False]  # IS only on the first item
    assert itens[1].cst_is == "" and itens[1].tributos_reforma.keys() == {"IBSCBS"}


def test_in_2026_the_reform_taxes_are_informed_but_not_added_to_the_total(org, emissor):
    documento = gerar_nfe(certificado=emissor, data_emissao=EM_2026, reforma=True)
    importar(org, documento)
    nfe = escopo(NFe, org).get(chave=documento.chave)
    assert nfe.valor_cbs > 0 and nfe.valor_ibs > 0
    assert nfe.valor_nf_tot == nfe.valor_nf == nfe.valor_total
    assert nfe.valor_is is None  # no ISTot: NULL, not zero


def test_an_nfe_without_the_reform_groups_has_nulls_not_zeros(org, emissor):
    documento = gerar_nfe(certificado=emissor, data_emissao=EM_2026)
    importar(org, documento)
    nfe = escopo(NFe, org).get(chave=documento.chave)
    reforma = ("valor_nf_tot", "valor_bc_ibs_cbs", "valor_ibs", "valor_ibs_uf", "valor_ibs_mun", "valor_cbs", "valor_is")
    assert [getattr(nfe, campo) for campo in reforma] == [None] * len(reforma)
    assert nfe.tributos_reforma == {}
    assert nfe.valor_total == nfe.valor_nf
    assert nfe.finalidade == Finalidade.NORMAL
    item = escopo(NFeItem, org).filter(nfe=nfe).first()
    assert (item.valor_item, item.valor_ibs, item.cst_ibs_cbs, item.tributos_reforma) == (None, None, "", {})


@pytest.mark.parametrize("finalidade", [2, 3, 4, 5, 6])
def test_finnfe_is_stored_with_its_name(org, emissor, finalidade):
    original = gerar_nfe(certificado=emissor)
    documento = gerar_nfe(certificado=emissor, finalidade=finalidade, referenciada=original.chave, reforma=True)
    importar(org, documento)
    nfe = escopo(NFe, org).get(chave=documento.chave)
    assert nfe.finalidade == finalidade
    assert nfe.get_finalidade_display() == dict(Finalidade.choices)[finalidade]


def test_a_summary_has_no_finalidade_and_the_full_xml_fills_it_and_the_reform(org, emissor):
    documento = gerar_nfe(certificado=emissor, data_emissao=EM_2027, reforma=True, finalidade=5)
    resumo = gerar_resumo_nfe(nfe=documento)
    [resultado] = importar_bytes(organizacao=org, nome="resumo.xml", conteudo=resumo.xml, origem=Origem.SEFAZ)
    assert resultado.status == "sucesso"
    nfe = escopo(NFe, org).get(chave=documento.chave)
    assert (nfe.finalidade, nfe.valor_cbs, nfe.valor_total) == (None, None, nfe.valor_nf)
    assert nfe.prazo_manifestacao is not None

    importar_bytes(organizacao=org, nome="nota.xml", conteudo=documento.xml, origem=Origem.SEFAZ)
    nfe.refresh_from_db()
    assert nfe.finalidade == Finalidade.CREDITO
    assert nfe.valor_cbs is not None and nfe.valor_total == nfe.valor_nf_tot


def test_a_cte_and_a_cte_os_keep_ibscbs_and_vtotdfe(org, transportadora):
    for gerar in (gerar_cte, gerar_cte_os):
        documento = gerar(certificado=transportadora, data_emissao=EM_2027, reforma=True)
        importar(org, documento)
        raiz = etree.fromstring(documento.xml)
        cte = escopo(CTe, org).get(chave=documento.chave)
        imp = "//c:infCte/c:imp"
        g = f"{imp}/c:IBSCBS/c:gIBSCBS"
        assert cte.valor_total_dfe == valor(raiz, f"{imp}/c:vTotDFe", C)
        assert cte.valor_total_dfe == cte.valor_prestacao + cte.valor_ibs + cte.valor_cbs
        assert cte.cst_ibs_cbs == raiz.xpath(f"string({imp}/c:IBSCBS/c:CST)", namespaces=C)
        assert cte.classificacao_tributaria == raiz.xpath(f"string({imp}/c:IBSCBS/c:cClassTrib)", namespaces=C)
        assert cte.valor_bc_ibs_cbs == valor(raiz, f"{g}/c:vBC", C)
        assert cte.aliquota_ibs_uf == valor(raiz, f"{g}/c:gIBSUF/c:pIBSUF", C)
        assert cte.valor_ibs_uf == valor(raiz, f"{g}/c:gIBSUF/c:vIBSUF", C)
        assert cte.aliquota_ibs_mun == valor(raiz, f"{g}/c:gIBSMun/c:pIBSMun", C)
        assert cte.valor_ibs_mun == valor(raiz, f"{g}/c:gIBSMun/c:vIBSMun", C)
        assert cte.valor_ibs == valor(raiz, f"{g}/c:vIBS", C)
        assert cte.aliquota_cbs == valor(raiz, f"{g}/c:gCBS/c:pCBS", C)
        assert cte.valor_cbs == valor(raiz, f"{g}/c:gCBS/c:vCBS", C)
        assert cte.tributos_reforma["IBSCBS"]["gIBSCBS"]["gCBS"]["vCBS"] == f"{cte.valor_cbs:.2f}"

    sem = gerar_cte(certificado=transportadora)
    importar(org, sem)
    cte = escopo(CTe, org).get(chave=sem.chave)
    assert (cte.valor_total_dfe, cte.valor_ibs, cte.cst_ibs_cbs, cte.tributos_reforma) == (None, None, "", {})


def _alterar(xml: bytes, caminho: str, novo: str | None) -> bytes:
    """Change (or, with None, duplicate) one element: the reader sees it before any signature check."""
    raiz = etree.fromstring(xml)
    el = raiz.xpath(caminho, namespaces=N)[0]
    if novo is None:
        el.addnext(etree.fromstring(etree.tostring(el)))
    else:
        el.text = novo
    return etree.tostring(raiz)


@pytest.mark.parametrize(
    ("caminho", "novo", "mensagem"),
    [
        ("//n:total/n:IBSCBSTot/n:gCBS/n:vCBS", "1,50", "IBSCBSTot/gCBS/vCBS"),
        ("//n:det[1]/n:imposto/n:IBSCBS/n:gIBSCBS/n:gIBSUF/n:pIBSUF", "NaN", "gIBSUF/pIBSUF"),
        ("//n:det[1]/n:vItem", "abc", "det[1]/vItem"),
        ("//n:ide/n:finNFe", "7", "ide/finNFe"),
        ("//n:total/n:IBSCBSTot", None, "IBSCBSTot aparece mais de uma vez"),
        ("//n:total/n:vNFTot", None, "vNFTot aparece mais de uma vez"),
        ("//n:det[1]/n:imposto/n:IBSCBS/n:gIBSCBS/n:gIBSUF", None,
         "elemento repetido: infNFe/det[1]/imposto/IBSCBS/gIBSCBS/gIBSUF aparece mais de uma vez"),
        ("//n:det[1]/n:imposto/n:IBSCBS/n:gIBSCBS/n:gCBS/n:vCBS", None, "IBSCBS/gIBSCBS/gCBS/vCBS aparece"),
        ("//n:det[1]/n:imposto/n:IBSCBS/n:CST", None, "det[1]/imposto/IBSCBS/CST aparece mais de uma vez"),
        ("//n:det[1]/n:imposto/n:IS/n:vIS", "", "valor decimal inválido em infNFe/det[1]/imposto/IS/vIS: ''"),
        ("//n:total/n:ISTot/n:vIS", "1e", "valor decimal inválido em infNFe/total/ISTot/vIS: '1e'"),
    ],
)
def test_a_malformed_reform_field_is_refused_naming_its_path(emissor, caminho, novo, mensagem):
    documento = gerar_nfe(certificado=emissor, data_emissao=EM_2027, reforma=True, imposto_seletivo=True)
    with pytest.raises(DocumentoIncompleto, match=re.escape(mensagem)):
        ler_nfe(ler_xml(_alterar(documento.xml, caminho, novo)))


def test_a_reform_group_without_its_cst_is_refused(emissor):
    documento = gerar_nfe(certificado=emissor, data_emissao=EM_2027, reforma=True)
    raiz = etree.fromstring(documento.xml)
    cst = raiz.xpath("//n:det[1]/n:imposto/n:IBSCBS/n:CST", namespaces=N)[0]
    cst.getparent().remove(cst)

    with pytest.raises(DocumentoIncompleto, match=re.escape("elemento obrigatório ausente: infNFe/det[1]/imposto/IBSCBS/CST")):
        ler_nfe(ler_xml(etree.tostring(raiz)))


def test_a_reform_value_in_a_foreign_namespace_is_not_read_as_the_schema_one(emissor):
    documento = gerar_nfe(certificado=emissor, data_emissao=EM_2027, reforma=True)
    raiz = etree.fromstring(documento.xml)
    gcbs = raiz.xpath("//n:det[1]/n:imposto/n:IBSCBS/n:gIBSCBS/n:gCBS", namespaces=N)[0]
    vcbs = gcbs.find(f"{{{N['n']}}}vCBS")
    gcbs.remove(vcbs)
    etree.SubElement(gcbs, "{urn:outro}vCBS").text = "999.99"

    [item, *_] = ler_nfe(ler_xml(etree.tostring(raiz))).itens

    assert item.valor_cbs is None
    assert item.tributos_reforma["IBSCBS"]["gIBSCBS"]["gCBS"]["{urn:outro}vCBS"] == "999.99"


def test_reler_documentos_fills_the_new_fields_of_documents_stored_before(org, emissor, transportadora):
    nfe_doc = gerar_nfe(certificado=emissor, data_emissao=EM_2027, reforma=True, imposto_seletivo=True, finalidade=6)
    cte_doc = gerar_cte(certificado=transportadora, data_emissao=EM_2027, reforma=True)
    importar(org, nfe_doc)
    importar(org, cte_doc)
    esperado_nfe = escopo(NFe, org).values().get(chave=nfe_doc.chave)
    esperado_itens = list(escopo(NFeItem, org).order_by("numero").values("valor_item", "valor_cbs", "valor_is", "tributos_reforma"))
    esperado_cte = escopo(CTe, org).values("valor_total_dfe", "valor_cbs", "tributos_reforma").get()
    # As a release before the reform left them: vNF as the total, nothing else.
    escopo(NFe, org).update(
        finalidade=None, valor_total=esperado_nfe["valor_nf"], valor_nf_tot=None, valor_cbs=None, valor_ibs=None,
        valor_is=None, tributos_reforma={},
    )  # fmt: skip
    escopo(NFeItem, org).update(valor_item=None, valor_cbs=None, valor_is=None, tributos_reforma={})
    escopo(CTe, org).update(valor_total_dfe=None, valor_cbs=None, tributos_reforma={})

    call_command("reler_documentos", stdout=(saida := io.StringIO()))

    nfe = escopo(NFe, org).values().get(chave=nfe_doc.chave)
    for campo in ("finalidade", "valor_total", "valor_nf_tot", "valor_cbs", "valor_ibs", "valor_is", "tributos_reforma"):
        assert nfe[campo] == esperado_nfe[campo], campo
    assert list(escopo(NFeItem, org).order_by("numero").values("valor_item", "valor_cbs", "valor_is", "tributos_reforma")) == esperado_itens
    assert escopo(CTe, org).values("valor_total_dfe", "valor_cbs", "tributos_reforma").get() == esperado_cte
    assert "2 documento(s) relidos" in saida.getvalue()

    # idempotent: a second run finds nothing to change
    call_command("reler_documentos", stdout=(saida := io.StringIO()))
    assert "0 documento(s) relidos" in saida.getvalue()


def test_reler_documentos_also_recomputes_the_manifestation_of_nfe_stored_before(org, emissor):
    from core.geracao.certificado import gerar_certificado
    from core.geracao.documentos import gerar_evento_nfe

    destinatario = gerar_certificado(cnpj="61585865000151", nome="COMERCIAL EXEMPLO SA")
    documento = gerar_nfe(certificado=emissor, destinatario_documento="61585865000151")
    confirmacao = gerar_evento_nfe(certificado=destinatario, chave=documento.chave, tipo_evento="210200")
    for arquivo in (documento, confirmacao):
        importar(org, arquivo)
    nfe = escopo(NFe, org).get()
    assert nfe.manifestacao == "confirmacao"
    escopo(NFe, org).update(manifestacao="", manifestacao_em=None, manifestacao_protocolo="")  # as 0011 left them

    call_command("reler_documentos", stdout=(saida := io.StringIO()))

    nfe.refresh_from_db()
    assert (nfe.manifestacao, nfe.manifestacao_protocolo) == ("confirmacao", escopo(EventoDocumento, org).get().protocolo)
    assert f"NFe {nfe.chave}: manifestacao" in saida.getvalue()


def test_reler_documentos_names_an_unknown_organization():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="organização 'nao-existe' não encontrada"):
        call_command("reler_documentos", "--organizacao", "nao-existe")
