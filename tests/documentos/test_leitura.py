"""Readers: schema-shaped XML built here -> the dataclasses of core.documentos.dados."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from core.documentos.dados import Parte, TipoDocumentoParte
from core.documentos.xml_seguro import ler_xml
from core.documentos.leitura import (
    NS_CTE,
    NS_NFE,
    STATUS_NAO_INFORMADO,
    DocumentoIncompleto,
    DocumentoNaoSuportado,
    elemento_assinado,
    identificar,
    ler_cte,
    ler_documento,
    ler_evento,
    ler_nfe,
    ler_resumo_nfe,
)

BRASILIA = timezone(timedelta(hours=-3))
CNPJ_EMIT = "34128745000152"
CNPJ_DEST = "07705364000116"
SIGNATURE = (
    '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/><SignatureValue>AA==</SignatureValue>'
    "</Signature>"
)


# --- builders ---------------------------------------------------------------------------------------


def dv(chave43: str) -> str:
    total, peso = 0, 2
    for caractere in reversed(chave43):
        total += (ord(caractere) - 48) * peso
        peso = 2 if peso == 9 else peso + 1
    resto = total % 11
    return "0" if resto < 2 else str(11 - resto)


def chave(cuf: str, cnpj: str, modelo: str, serie: int, numero: int, codigo: str, tp_emis: str = "1") -> str:
    base = f"{cuf}2501{cnpj}{modelo}{serie:03d}{numero:09d}{tp_emis}{codigo}"
    return base + dv(base)


def det(n: int, icms: str, ipi: str = "") -> str:
    return f"""
    <det nItem="{n}">
      <prod>
        <cProd>P{n:03d}</cProd><cEAN>SEM GTIN</cEAN><xProd>AÇÚCAR CRISTAL {n}</xProd><NCM>17019900</NCM>
        <CFOP>6101</CFOP><uCom>KG</uCom><qCom>2.5000</qCom><vUnCom>4.0000000000</vUnCom><vProd>10.00</vProd>
        <cEANTrib>SEM GTIN</cEANTrib><uTrib>KG</uTrib><qTrib>2.5000</qTrib><vUnTrib>4.0000000000</vUnTrib>
        <vDesc>0.50</vDesc><indTot>1</indTot>
      </prod>
      <imposto><vTotTrib>1.00</vTotTrib><ICMS>{icms}</ICMS>{ipi}
        <PIS><PISNT><CST>04</CST></PISNT></PIS><COFINS><COFINSNT><CST>04</CST></COFINSNT></COFINS>
      </imposto>
    </det>"""


ITENS_PADRAO = (
    det(1, "<ICMS00><orig>0</orig><CST>00</CST><modBC>3</modBC><vBC>10.00</vBC><pICMS>12.00</pICMS>"
        "<vICMS>1.20</vICMS></ICMS00>",
        "<IPI><cEnq>999</cEnq><IPITrib><CST>50</CST><vBC>10.00</vBC><pIPI>5.00</pIPI><vIPI>0.50</vIPI></IPITrib></IPI>"),
    det(2, "<ICMSSN900><orig>0</orig><CSOSN>900</CSOSN><modBC>3</modBC><vBC>10.00</vBC><pICMS>7.00</pICMS>"
        "<vICMS>0.70</vICMS></ICMSSN900>",
        "<IPI><cEnq>999</cEnq><IPINT><CST>53</CST></IPINT></IPI>"),
    det(3, "<ICMSSN102><orig>0</orig><CSOSN>102</CSOSN></ICMSSN102>"),
)

DEST_CNPJ = f"""<dest><CNPJ>{CNPJ_DEST}</CNPJ><xNome>COGERAL COMERCIO LTDA</xNome>
  <enderDest><xLgr>Rua A</xLgr><nro>1</nro><xBairro>Centro</xBairro><cMun>3106200</cMun>
  <xMun>Belo Horizonte</xMun><UF>MG</UF></enderDest><indIEDest>1</indIEDest><IE>0620000000123</IE></dest>"""


def nfe(
    *,
    modelo: str = "55",
    emit_doc: str = f"<CNPJ>{CNPJ_EMIT}</CNPJ>",
    cnpj_chave: str = CNPJ_EMIT,
    dest: str = DEST_CNPJ,
    itens: tuple[str, ...] = ITENS_PADRAO,
    dh_emi: str = "2025-01-07T09:19:15-03:00",
    v_nf: str = "30.00",
) -> str:
    k = chave("35", cnpj_chave, modelo, 1, 47428, "92000749")
    return f"""<NFe xmlns="{NS_NFE}">
  <infNFe versao="4.00" Id="NFe{k}">
    <ide><cUF>35</cUF><cNF>92000749</cNF><natOp>Venda de mercadoria</natOp><mod>{modelo}</mod><serie>1</serie>
      <nNF>47428</nNF><dhEmi>{dh_emi}</dhEmi><dhSaiEnt>2025-01-07T10:00:00-03:00</dhSaiEnt><tpNF>1</tpNF>
      <idDest>2</idDest><cMunFG>3549102</cMunFG><tpImp>1</tpImp><tpEmis>1</tpEmis><cDV>{k[-1]}</cDV><tpAmb>1</tpAmb>
      <finNFe>1</finNFe><indFinal>0</indFinal><indPres>9</indPres><procEmi>0</procEmi><verProc>teste</verProc></ide>
    <emit>{emit_doc}<xNome>Alimentos Ltda.</xNome><xFant>Alimentos</xFant>
      <enderEmit><xLgr>Rua B</xLgr><nro>2</nro><xBairro>Centro</xBairro><cMun>3549102</cMun>
      <xMun>Sao Joao da Boa Vista</xMun><UF>SP</UF><CEP>13870000</CEP></enderEmit>
      <IE>803879214167</IE><CRT>3</CRT></emit>
    {dest}
    {"".join(itens)}
    <total><ICMSTot><vBC>20.00</vBC><vICMS>1.90</vICMS><vICMSDeson>0.00</vICMSDeson><vFCP>0.00</vFCP>
      <vBCST>0.00</vBCST><vST>0.00</vST><vFCPST>0.00</vFCPST><vFCPSTRet>0.00</vFCPSTRet><vProd>30.00</vProd>
      <vFrete>2.64</vFrete><vSeg>0.00</vSeg><vDesc>1.50</vDesc><vII>0.00</vII><vIPI>0.50</vIPI>
      <vIPIDevol>0.00</vIPIDevol><vPIS>0.00</vPIS><vCOFINS>0.00</vCOFINS><vOutro>0.00</vOutro>
      <vNF>{v_nf}</vNF></ICMSTot></total>
    <transp><modFrete>0</modFrete></transp>
    <pag><detPag><tPag>01</tPag><vPag>{v_nf}</vPag></detPag></pag>
  </infNFe>
  {SIGNATURE}
</NFe>"""


def nfe_proc(**kwargs: str) -> str:
    documento = nfe(**kwargs)
    k = documento.split('Id="NFe', 1)[1][:44]
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<nfeProc xmlns="{NS_NFE}" versao="4.00">{documento}
  <protNFe versao="4.00"><infProt><tpAmb>1</tpAmb><verAplic>SP_NFE_PL009_V4</verAplic><chNFe>{k}</chNFe>
    <dhRecbto>2025-01-07T09:19:31-03:00</dhRecbto><nProt>135250527657478</nProt>
    <digVal>XDmAGrL0Fox6w2ycVL7O8auPEjA=</digVal><cStat>100</cStat><xMotivo>Autorizado o uso da NF-e</xMotivo>
  </infProt></protNFe>
</nfeProc>"""


def parte_cte(tag: str, endereco: str, documento: str, nome: str, cmun: str, xmun: str, uf: str) -> str:
    return f"""<{tag}>{documento}<IE>ISENTO</IE><xNome>{nome}</xNome>
  <{endereco}><xLgr>Rua</xLgr><nro>1</nro><xBairro>Centro</xBairro><cMun>{cmun}</cMun><xMun>{xmun}</xMun>
  <CEP>01311000</CEP><UF>{uf}</UF></{endereco}></{tag}>"""


REM = parte_cte("rem", "enderReme", "<CNPJ>12046835000161</CNPJ>", "REMETENTE SA", "3550308", "São Paulo", "SP")
EXPED = parte_cte("exped", "enderExped", "<CNPJ>22046835000162</CNPJ>", "EXPEDIDOR SA", "3509502", "Campinas", "SP")
RECEB = parte_cte("receb", "enderReceb", "<CNPJ>84148732000113</CNPJ>", "RECEBEDOR SA", "1302603", "Manaus", "AM")
DEST = parte_cte("dest", "enderDest", "<CPF>123.456.789-09</CPF>", "FULANO DE TAL", "1302603", "Manaus", "AM")
CHAVES_NFE = ("35250134128745000152550010000474281920007498", "35250134128745000152550010000474291920007493")


def cte(*, toma: str = "<toma3><toma>3</toma></toma3>", partes: str = REM + EXPED + RECEB + DEST,
        v_carga: str = "<vCarga>3016.92</vCarga>") -> str:
    k = chave("42", "92382301841312", "57", 2, 1234, "10821346")
    infs = "".join(f"<infNFe><chave>{c}</chave></infNFe>" for c in CHAVES_NFE)
    return f"""<CTe xmlns="{NS_CTE}">
  <infCte versao="4.00" Id="CTe{k}">
    <ide><cUF>42</cUF><cCT>10821346</cCT><CFOP>6353</CFOP><natOp>PRESTACAO DE SERVICO</natOp><mod>57</mod>
      <serie>2</serie><nCT>1234</nCT><dhEmi>2025-01-27T10:00:00-03:00</dhEmi><tpImp>1</tpImp><tpEmis>1</tpEmis>
      <cDV>{k[-1]}</cDV><tpAmb>1</tpAmb><tpCTe>0</tpCTe><procEmi>0</procEmi><verProc>4.0</verProc>
      <cMunEnv>4216305</cMunEnv><xMunEnv>SAO JOAO BATISTA</xMunEnv><UFEnv>SC</UFEnv><modal>01</modal>
      <tpServ>0</tpServ><cMunIni>4216305</cMunIni><xMunIni>SAO JOAO BATISTA</xMunIni><UFIni>SC</UFIni>
      <cMunFim>3556453</cMunFim><xMunFim>VARGEM GRANDE PAULISTA</xMunFim><UFFim>SP</UFFim><retira>1</retira>
      <indIEToma>1</indIEToma>{toma}</ide>
    <emit><CNPJ>92382301841312</CNPJ><IE>232412442</IE><xNome>FANTASMA TRANSPORTES LTDA</xNome>
      <enderEmit><xLgr>Rua</xLgr><nro>99</nro><xBairro>Centro</xBairro><cMun>4216305</cMun>
      <xMun>SAO JOAO BATISTA</xMun><CEP>88240000</CEP><UF>SC</UF></enderEmit><CRT>1</CRT></emit>
    {partes}
    <vPrest><vTPrest>221.19</vTPrest><vRec>200.00</vRec><Comp><xNome>FRETE</xNome><vComp>221.19</vComp></Comp></vPrest>
    <imp><ICMS><ICMS00><CST>00</CST><vBC>221.19</vBC><pICMS>12.00</pICMS><vICMS>26.54</vICMS></ICMS00></ICMS></imp>
    <infCTeNorm>
      <infCarga>{v_carga}<proPred>FITA GOMADA</proPred><infQ><cUnid>01</cUnid><tpMed>PESO</tpMed>
        <qCarga>209.8000</qCarga></infQ></infCarga>
      <infDoc>{infs}</infDoc>
      <infModal versaoModal="4.00"><rodo><RNTRC>23920392</RNTRC></rodo></infModal>
    </infCTeNorm>
  </infCte>
  {SIGNATURE}
</CTe>"""


def cte_proc(**kwargs: str) -> str:
    documento = cte(**kwargs)
    k = documento.split('Id="CTe', 1)[1][:44]
    return f"""<cteProc xmlns="{NS_CTE}" versao="4.00">{documento}
  <protCTe versao="4.00"><infProt><tpAmb>1</tpAmb><verAplic>RS20240301</verAplic><chCTe>{k}</chCTe>
    <dhRecbto>2025-01-27T10:01:16-03:00</dhRecbto><nProt>342250011249023</nProt>
    <digVal>UCtDCEsja/Ljq5GjpftJHAK3oHI=</digVal><cStat>100</cStat><xMotivo>Autorizado o uso do CT-e</xMotivo>
  </infProt></protCTe>
</cteProc>"""


def cte_os_proc(toma: str = "") -> str:
    k = chave("35", "99999999999999", "67", 0, 26, "30930144")
    toma = toma or """<toma><CNPJ>11222333000181</CNPJ><IE>999999999999</IE><xNome>TOMADOR OS LTDA</xNome>
      <enderToma><xLgr>Rua</xLgr><nro>209</nro><xBairro>Centro</xBairro><cMun>3550308</cMun><xMun>SAO PAULO</xMun>
      <CEP>01001000</CEP><UF>SP</UF></enderToma></toma>"""
    return f"""<cteOSProc xmlns="{NS_CTE}" versao="4.00">
<CTeOS versao="4.00">
  <infCte versao="4.00" Id="CTe{k}">
    <ide><cUF>35</cUF><cCT>30930144</cCT><CFOP>5357</CFOP><natOp>TRANSPORTE DE PESSOAS</natOp><mod>67</mod>
      <serie>0</serie><nCT>26</nCT><dhEmi>2025-01-26T11:47:36-03:00</dhEmi><tpImp>1</tpImp><tpEmis>1</tpEmis>
      <cDV>{k[-1]}</cDV><tpAmb>1</tpAmb><tpCTe>0</tpCTe><procEmi>0</procEmi><verProc>4.0</verProc>
      <cMunEnv>3550308</cMunEnv><xMunEnv>SAO PAULO</xMunEnv><UFEnv>SP</UFEnv><modal>01</modal><tpServ>6</tpServ>
      <indIEToma>1</indIEToma><cMunIni>3550308</cMunIni><xMunIni>SAO PAULO</xMunIni><UFIni>SP</UFIni>
      <cMunFim>3502507</cMunFim><xMunFim>APARECIDA</xMunFim><UFFim>SP</UFFim></ide>
    <emit><CNPJ>99999999999999</CNPJ><IE>999999999999</IE><xNome>VIACAO OS LTDA</xNome>
      <enderEmit><xLgr>Rua</xLgr><nro>720</nro><xBairro>Centro</xBairro><cMun>3550308</cMun>
      <xMun>SAO PAULO</xMun><CEP>01001000</CEP><UF>SP</UF></enderEmit><CRT>3</CRT></emit>
    {toma}
    <vPrest><vTPrest>2500.00</vTPrest><vRec>2500.00</vRec></vPrest>
    <imp><ICMS><ICMS00><CST>00</CST><vBC>2500.00</vBC><pICMS>18.00</pICMS><vICMS>450.00</vICMS></ICMS00></ICMS></imp>
    <infCTeNorm><infServico><xDescServ>FRETAMENTO</xDescServ></infServico></infCTeNorm>
  </infCte>
  {SIGNATURE}
</CTeOS>
<protCTe versao="4.00"><infProt><tpAmb>1</tpAmb><verAplic>SP</verAplic><chCTe>{k}</chCTe>
  <dhRecbto>2025-01-26T11:50:00-03:00</dhRecbto><nProt>135250000000001</nProt><cStat>100</cStat>
  <xMotivo>Autorizado o uso do CT-e</xMotivo></infProt></protCTe>
</cteOSProc>"""


CHAVE_NFE_EVENTO = "35250134128745000152550010000474281920007498"


def proc_evento_nfe(tp_evento: str, det_evento: str, *, c_stat: str = "135", n_seq: int = 1) -> str:
    id_evento = f"ID{tp_evento}{CHAVE_NFE_EVENTO}{n_seq:02d}"
    return f"""<procEventoNFe xmlns="{NS_NFE}" versao="1.00">
<evento versao="1.00"><infEvento Id="{id_evento}"><cOrgao>35</cOrgao><tpAmb>1</tpAmb><CNPJ>{CNPJ_EMIT}</CNPJ>
  <chNFe>{CHAVE_NFE_EVENTO}</chNFe><dhEvento>2025-01-08T17:34:36-03:00</dhEvento><tpEvento>{tp_evento}</tpEvento>
  <nSeqEvento>{n_seq}</nSeqEvento><verEvento>1.00</verEvento><detEvento versao="1.00">{det_evento}</detEvento>
</infEvento>{SIGNATURE}</evento>
<retEvento versao="1.00"><infEvento Id="ID135250043800804"><tpAmb>1</tpAmb><verAplic>SP_EVENTOS</verAplic>
  <cOrgao>35</cOrgao><cStat>{c_stat}</cStat><xMotivo>Evento registrado e vinculado a NF-e</xMotivo>
  <chNFe>{CHAVE_NFE_EVENTO}</chNFe><tpEvento>{tp_evento}</tpEvento><xEvento>Evento</xEvento>
  <nSeqEvento>{n_seq}</nSeqEvento><CNPJDest>{CNPJ_DEST}</CNPJDest>
  <dhRegEvento>2025-01-08T17:34:57-03:00</dhRegEvento><nProt>135250043800804</nProt></infEvento></retEvento>
</procEventoNFe>"""


CANCELAMENTO = "<descEvento>Cancelamento</descEvento><nProt>135250527657478</nProt><xJust>Erro na emissão do pedido</xJust>"
CCE = (
    "<descEvento>Carta de Correcao</descEvento><xCorrecao>Corrige o endereço de entrega</xCorrecao>"
    "<xCondUso>A Carta de Correcao e disciplinada pelo paragrafo 1o-A do art. 7o do Convenio S/N</xCondUso>"
)


def res_evento() -> str:
    return f"""<resEvento xmlns="{NS_NFE}" versao="1.01"><cOrgao>91</cOrgao><CNPJ>33683111000107</CNPJ>
<chNFe>{CHAVE_NFE_EVENTO}</chNFe><dhEvento>2025-01-09T17:57:42-03:00</dhEvento><tpEvento>610600</tpEvento>
<nSeqEvento>1</nSeqEvento><xEvento>Registro de Autorização de CT-e para a NF-e</xEvento>
<dhRecbto>2025-01-09T17:57:43-03:00</dhRecbto><nProt>891250415199537</nProt></resEvento>"""


def res_nfe(situacao: str = "1") -> str:
    return f"""<resNFe xmlns="{NS_NFE}" versao="1.01"><chNFe>{CHAVE_NFE_EVENTO}</chNFe><CNPJ>{CNPJ_EMIT}</CNPJ>
<xNome>ALIMENTOS LTDA</xNome><IE>803879214167</IE><dhEmi>2025-01-07T09:19:15-03:00</dhEmi><tpNF>0</tpNF>
<vNF>3290.20</vNF><digVal>zHNc9jjSx2W4QjHLgVwGcgmHVLA=</digVal><dhRecbto>2025-01-07T09:20:53-03:00</dhRecbto>
<nProt>135250169434440</nProt><cSitNFe>{situacao}</cSitNFe></resNFe>"""


CHAVE_CTE_EVENTO = "42250192382301841312570020000012341108213460"


def proc_evento_cte(tp_evento: str, det_evento: str) -> str:
    return f"""<procEventoCTe xmlns="{NS_CTE}" versao="4.00">
<eventoCTe versao="4.00"><infEvento Id="ID{tp_evento}{CHAVE_CTE_EVENTO}001"><cOrgao>42</cOrgao><tpAmb>1</tpAmb>
  <CNPJ>92382301841312</CNPJ><chCTe>{CHAVE_CTE_EVENTO}</chCTe><dhEvento>2025-01-28T08:00:00-03:00</dhEvento>
  <tpEvento>{tp_evento}</tpEvento><nSeqEvento>1</nSeqEvento><detEvento versaoEvento="4.00">{det_evento}</detEvento>
</infEvento>{SIGNATURE}</eventoCTe>
<retEventoCTe versao="4.00"><infEvento><tpAmb>1</tpAmb><verAplic>RS</verAplic><cOrgao>42</cOrgao>
  <cStat>135</cStat><xMotivo>Evento registrado e vinculado a CT-e</xMotivo><chCTe>{CHAVE_CTE_EVENTO}</chCTe>
  <tpEvento>{tp_evento}</tpEvento><xEvento>Cancelamento</xEvento><nSeqEvento>1</nSeqEvento>
  <dhRegEvento>2025-01-28T08:00:05-03:00</dhRegEvento><nProt>342250000000077</nProt></infEvento></retEventoCTe>
</procEventoCTe>"""


def raiz(xml: str) -> etree._Element:
    return ler_xml(xml.encode("utf-8"), "teste.xml")


def sem(xml: str, caminho: str) -> etree._Element:
    """The document with the element at `caminho` (local names from the root's child) removed."""
    documento = raiz(xml)
    alvo = documento
    for passo in caminho.split("/"):
        alvo = next(filho for filho in alvo if etree.QName(filho).localname == passo)
    alvo.getparent().remove(alvo)
    return documento


def com_texto(xml: str, nome: str, texto: str) -> etree._Element:
    documento = raiz(xml)
    next(el for el in documento.iter() if isinstance(el.tag, str) and etree.QName(el).localname == nome).text = texto
    return documento


# --- identificar / elemento_assinado ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("xml", "tipo"),
    [
        (nfe_proc(), "nfeProc"),
        (nfe(), "NFe"),
        (cte_proc(), "cteProc"),
        (cte(), "CTe"),
        (cte_os_proc(), "cteOSProc"),
        (res_nfe(), "resNFe"),
        (res_evento(), "resEvento"),
        (proc_evento_nfe("110111", CANCELAMENTO), "procEventoNFe"),
        (proc_evento_cte("110111", "<evCancCTe><descEvento>Cancelamento</descEvento></evCancCTe>"), "procEventoCTe"),
    ],
)
def test_it_identifies_each_supported_root(xml, tipo):
    assert identificar(raiz(xml)) == tipo


def test_it_refuses_a_known_root_in_the_wrong_namespace():
    with pytest.raises(DocumentoNaoSuportado) as exc:
        identificar(raiz(nfe_proc().replace(NS_NFE, NS_CTE)))
    assert str(exc.value) == (
        f"raiz nfeProc no namespace {NS_CTE} não é um documento fiscal suportado: esperado o namespace {NS_NFE}"
    )


def test_it_refuses_a_known_root_without_namespace():
    with pytest.raises(DocumentoNaoSuportado, match=f"raiz CTe sem namespace .* esperado o namespace {NS_CTE}"):
        identificar(raiz("<CTe><infCte/></CTe>"))


def test_it_refuses_an_unknown_root():
    with pytest.raises(DocumentoNaoSuportado) as exc:
        identificar(raiz(f'<retDistDFeInt xmlns="{NS_NFE}"><cStat>138</cStat></retDistDFeInt>'))
    assert str(exc.value) == (
        f"raiz retDistDFeInt no namespace {NS_NFE} não é um documento fiscal suportado (esperado nfeProc, NFe, "
        "cteProc, CTe, cteOSProc, CTeOS, GTVeProc, GTVe, cteSimpProc, CTeSimp, procEventoNFe, procEventoCTe, "
        "procCancNFe, procCancCTe, retCancNFe, retCancCTe, resNFe, resEvento)"
    )


def test_it_refuses_a_reader_called_with_the_wrong_document():
    with pytest.raises(DocumentoNaoSuportado):
        ler_nfe(raiz(cte_proc()))
    with pytest.raises(DocumentoNaoSuportado):
        ler_cte(raiz(nfe()))
    with pytest.raises(DocumentoNaoSuportado):
        ler_evento(raiz(res_nfe()))


@pytest.mark.parametrize(
    ("xml", "nome", "prefixo"),
    [
        (nfe_proc(), "infNFe", "NFe"),
        (nfe(), "infNFe", "NFe"),
        (cte_proc(), "infCte", "CTe"),
        (cte(), "infCte", "CTe"),
        (cte_os_proc(), "infCte", "CTe"),
        (proc_evento_nfe("110111", CANCELAMENTO), "infEvento", "ID110111"),
        (proc_evento_cte("110111", "<evCancCTe><descEvento>Cancelamento</descEvento></evCancCTe>"), "infEvento", "ID"),
    ],
)
def test_it_finds_the_signed_element(xml, nome, prefixo):
    assinado = elemento_assinado(raiz(xml))
    assert etree.QName(assinado).localname == nome
    assert assinado.get("Id").startswith(prefixo)


def test_it_has_no_signed_element_for_summaries():
    assert elemento_assinado(raiz(res_nfe())) is None
    assert elemento_assinado(raiz(res_evento())) is None


def test_it_reports_a_missing_signed_element():
    with pytest.raises(DocumentoIncompleto, match="elemento obrigatório ausente: nfeProc/NFe/infNFe"):
        elemento_assinado(sem(nfe_proc(), "NFe/infNFe"))


# --- NF-e -----------------------------------------------------------------------------------------


def test_it_reads_an_nfe_proc_with_several_items():
    dados = ler_nfe(raiz(nfe_proc()))
    assert dados.chave == chave("35", CNPJ_EMIT, "55", 1, 47428, "92000749")
    assert (dados.modelo, dados.serie, dados.numero) == ("55", 1, 47428)
    assert dados.data_emissao == datetime(2025, 1, 7, 9, 19, 15, tzinfo=BRASILIA)
    assert dados.data_saida_entrada == datetime(2025, 1, 7, 10, 0, tzinfo=BRASILIA)
    assert (dados.natureza_operacao, dados.tipo_operacao, dados.ambiente) == ("Venda de mercadoria", "saida", 1)
    assert dados.emitente == Parte(
        documento=CNPJ_EMIT, tipo_documento="cnpj", nome="Alimentos Ltda.", uf="SP", ie="803879214167",
        codigo_municipio="3549102", municipio="Sao Joao da Boa Vista",
    )
    assert dados.destinatario == Parte(
        documento=CNPJ_DEST, tipo_documento="cnpj", nome="COGERAL COMERCIO LTDA", uf="MG", ie="0620000000123",
        codigo_municipio="3106200", municipio="Belo Horizonte",
    )
    assert dados.valor_nf == Decimal("30.00")
    assert (dados.valor_produtos, dados.valor_icms, dados.valor_ipi) == (Decimal("30.00"), Decimal("1.90"), Decimal("0.50"))
    assert (dados.valor_frete, dados.valor_desconto) == (Decimal("2.64"), Decimal("1.50"))
    assert (dados.codigo_uf, dados.tipo_emissao, dados.codigo_numerico) == ("35", "1", "92000749")
    assert dados.digito_verificador == dados.chave[-1]
    assert dados.protocolo.chave == dados.chave
    assert dados.protocolo.codigo_status == 100
    assert dados.protocolo.numero == "135250527657478"
    assert dados.protocolo.digest_value == "XDmAGrL0Fox6w2ycVL7O8auPEjA="
    assert dados.protocolo.data_recebimento == datetime(2025, 1, 7, 9, 19, 31, tzinfo=BRASILIA)
    assert (dados.protocolo.ambiente, dados.protocolo.motivo) == (1, "Autorizado o uso da NF-e")


def test_it_reads_every_item_with_its_taxes():
    itens = ler_nfe(raiz(nfe_proc())).itens
    assert [item.numero for item in itens] == [1, 2, 3]
    primeiro = itens[0]
    assert (primeiro.codigo, primeiro.descricao, primeiro.ncm, primeiro.cfop) == (
        "P001", "AÇÚCAR CRISTAL 1", "17019900", "6101"
    )
    assert (primeiro.unidade, primeiro.quantidade, primeiro.valor_unitario) == ("KG", Decimal("2.5000"), Decimal("4"))
    assert (primeiro.valor_total, primeiro.valor_desconto, primeiro.ean) == (Decimal("10.00"), Decimal("0.50"), "SEM GTIN")
    assert [item.valor_icms for item in itens] == [Decimal("1.20"), Decimal("0.70"), Decimal("0")]
    assert [item.valor_ipi for item in itens] == [Decimal("0.50"), Decimal("0"), Decimal("0")]
    assert all(isinstance(item.quantidade, Decimal) for item in itens)


def test_it_reads_a_bare_nfe_without_protocol():
    dados = ler_nfe(raiz(nfe()))
    assert dados.protocolo is None
    assert len(dados.itens) == 3


def test_it_reads_an_nfce_without_recipient():
    dados = ler_nfe(raiz(nfe(modelo="65", dest="")))
    assert (dados.modelo, dados.destinatario) == ("65", None)
    assert dados.chave[20:22] == "65"


def test_it_reads_a_cpf_recipient():
    dest = "<dest><CPF>681.615.256-50</CPF><xNome>FULANO</xNome><indIEDest>9</indIEDest></dest>"
    assert ler_nfe(raiz(nfe(dest=dest))).destinatario == Parte(documento="68161525650", tipo_documento="cpf", nome="FULANO")


def test_it_reads_a_foreign_recipient():
    dest = (
        "<dest><idEstrangeiro>AB123456</idEstrangeiro><xNome>JOHN DOE</xNome><enderDest><xLgr>Main St</xLgr>"
        "<nro>1</nro><xBairro>-</xBairro><cMun>9999999</cMun><xMun>EXTERIOR</xMun><UF>EX</UF></enderDest>"
        "<indIEDest>9</indIEDest></dest>"
    )
    destinatario = ler_nfe(raiz(nfe(dest=dest))).destinatario
    assert (destinatario.tipo_documento, destinatario.documento, destinatario.uf) == (
        TipoDocumentoParte.ESTRANGEIRO, "AB123456", "EX"
    )


def test_it_reads_an_alphanumeric_cnpj_emitter_normalised():
    dados = ler_nfe(raiz(nfe(emit_doc="<CNPJ>xt.9cd.vwj/0001-72</CNPJ>", cnpj_chave="XT9CDVWJ000172")))
    assert dados.emitente.documento == "XT9CDVWJ000172"
    assert dados.chave[6:20] == "XT9CDVWJ000172"


def test_it_reads_a_cpf_emitter():
    dados = ler_nfe(raiz(nfe(emit_doc="<CPF>12345678909</CPF>", cnpj_chave="00012345678909")))
    assert (dados.emitente.tipo_documento, dados.emitente.documento) == ("cpf", "12345678909")


def test_it_assumes_brasilia_time_for_old_dates_without_offset():
    data = ler_nfe(raiz(nfe(dh_emi="2016-03-01T08:00:00"))).data_emissao
    assert data == datetime(2016, 3, 1, 8, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
    assert data.utcoffset() == timedelta(hours=-3)


def test_it_reads_a_utc_date():
    assert ler_nfe(raiz(nfe(dh_emi="2025-01-07T12:19:15Z"))).data_emissao == datetime(2025, 1, 7, 9, 19, 15, tzinfo=BRASILIA)


def test_it_reads_an_iso_8859_1_file_end_to_end():
    xml = nfe_proc().replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').encode("latin-1")
    assert ler_nfe(ler_xml(xml)).itens[0].descricao == "AÇÚCAR CRISTAL 1"


@pytest.mark.parametrize(
    ("caminho", "mensagem"),
    [
        ("NFe/infNFe/ide/nNF", "elemento obrigatório ausente: infNFe/ide/nNF"),
        ("NFe/infNFe/ide/dhEmi", "elemento obrigatório ausente: infNFe/ide/dhEmi"),
        ("NFe/infNFe/emit/CNPJ", "elemento obrigatório ausente: infNFe/emit/CNPJ|CPF"),
        ("NFe/infNFe/total/ICMSTot/vNF", "elemento obrigatório ausente: infNFe/total/ICMSTot/vNF"),
        ("NFe/infNFe/total", "elemento obrigatório ausente: infNFe/total"),
        ("NFe/infNFe", "elemento obrigatório ausente: nfeProc/NFe/infNFe"),
        ("protNFe/infProt/cStat", "elemento obrigatório ausente: nfeProc/protNFe/infProt/cStat"),
    ],
)
def test_it_names_the_path_of_a_missing_element(caminho, mensagem):
    with pytest.raises(DocumentoIncompleto) as exc:
        ler_nfe(sem(nfe_proc(), caminho))
    assert str(exc.value) == mensagem


def test_it_names_the_item_of_a_missing_product_code():
    documento = raiz(nfe())
    segundo = [el for el in documento.iter(f"{{{NS_NFE}}}cProd")][1]
    segundo.getparent().remove(segundo)
    with pytest.raises(DocumentoIncompleto, match=r"elemento obrigatório ausente: infNFe/det\[2\]/prod/cProd"):
        ler_nfe(documento)


def test_it_refuses_a_missing_id():
    documento = raiz(nfe())
    del documento[0].attrib["Id"]
    with pytest.raises(DocumentoIncompleto, match="elemento obrigatório ausente: infNFe/@Id"):
        ler_nfe(documento)


@pytest.mark.parametrize(
    ("nome", "valor", "mensagem"),
    [
        ("vNF", "30,00", "valor decimal inválido em infNFe/total/ICMSTot/vNF: '30,00'"),
        ("vNF", "NaN", "valor decimal inválido em infNFe/total/ICMSTot/vNF: 'NaN'"),
        ("dhEmi", "07/01/2025", "data inválida em infNFe/ide/dhEmi: '07/01/2025'"),
        ("nNF", "12a", "número inválido em infNFe/ide/nNF: '12a'"),
        ("tpNF", "7", "valor inválido em infNFe/ide/tpNF: '7'"),
        ("mod", "57", "valor inválido em infNFe/ide/mod: '57' (esperado 55 ou 65)"),
    ],
)
def test_it_names_the_element_and_value_of_a_bad_value(nome, valor, mensagem):
    with pytest.raises(DocumentoIncompleto) as exc:
        ler_nfe(com_texto(nfe(), nome, valor))
    assert str(exc.value) == mensagem


# --- resNFe ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("situacao", ["1", "3"])
def test_it_reads_an_nfe_summary(situacao):
    resumo = ler_resumo_nfe(raiz(res_nfe(situacao)))
    assert resumo.chave == CHAVE_NFE_EVENTO
    assert resumo.emitente == Parte(documento=CNPJ_EMIT, tipo_documento="cnpj", nome="ALIMENTOS LTDA", ie="803879214167")
    assert resumo.data_emissao == datetime(2025, 1, 7, 9, 19, 15, tzinfo=BRASILIA)
    assert (resumo.tipo_operacao, resumo.valor_total) == ("entrada", Decimal("3290.20"))
    assert (resumo.digest_value, resumo.protocolo_numero) == ("zHNc9jjSx2W4QjHLgVwGcgmHVLA=", "135250169434440")
    assert resumo.data_recebimento == datetime(2025, 1, 7, 9, 20, 53, tzinfo=BRASILIA)
    assert resumo.situacao_nfe == int(situacao)


def test_it_reads_a_summary_without_digest():
    assert ler_resumo_nfe(sem(res_nfe(), "digVal")).digest_value == ""


# --- CT-e -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("papel", "documento", "nome"),
    [
        ("0", "12046835000161", "REMETENTE SA"),
        ("1", "22046835000162", "EXPEDIDOR SA"),
        ("2", "84148732000113", "RECEBEDOR SA"),
        ("3", "12345678909", "FULANO DE TAL"),
    ],
)
def test_it_resolves_the_toma3_tomador(papel, documento, nome):
    dados = ler_cte(raiz(cte_proc(toma=f"<toma3><toma>{papel}</toma></toma3>")))
    assert dados.tomador_papel == papel
    assert (dados.tomador.documento, dados.tomador.nome) == (documento, nome)


def test_it_reads_a_cte_proc():
    dados = ler_cte(raiz(cte_proc()))
    assert dados.chave == chave("42", "92382301841312", "57", 2, 1234, "10821346")
    assert (dados.modelo, dados.serie, dados.numero, dados.cfop) == ("57", 2, 1234, "6353")
    assert dados.data_emissao == datetime(2025, 1, 27, 10, 0, tzinfo=BRASILIA)
    assert (dados.natureza_operacao, dados.ambiente, dados.tipo_cte, dados.modal, dados.tipo_servico) == (
        "PRESTACAO DE SERVICO", 1, "0", "01", "0"
    )
    assert (dados.emitente.documento, dados.emitente.uf, dados.emitente.municipio) == (
        "92382301841312", "SC", "SAO JOAO BATISTA"
    )
    assert dados.remetente.documento == "12046835000161"
    assert dados.expedidor.nome == "EXPEDIDOR SA"
    assert dados.recebedor.municipio == "Manaus"
    assert dados.destinatario == Parte(
        documento="12345678909", tipo_documento="cpf", nome="FULANO DE TAL", uf="AM", ie="ISENTO",
        codigo_municipio="1302603", municipio="Manaus",
    )
    assert (dados.codigo_municipio_inicio, dados.municipio_inicio, dados.uf_inicio) == (
        "4216305", "SAO JOAO BATISTA", "SC"
    )
    assert (dados.codigo_municipio_fim, dados.municipio_fim, dados.uf_fim) == ("3556453", "VARGEM GRANDE PAULISTA", "SP")
    assert (dados.valor_prestacao, dados.valor_receber) == (Decimal("221.19"), Decimal("200.00"))
    assert (dados.valor_carga, dados.valor_icms) == (Decimal("3016.92"), Decimal("26.54"))
    assert dados.chaves_nfe == list(CHAVES_NFE)
    assert (dados.codigo_uf, dados.tipo_emissao, dados.codigo_numerico) == ("42", "1", "10821346")
    assert dados.digito_verificador == dados.chave[-1]
    assert (dados.protocolo.chave, dados.protocolo.codigo_status) == (dados.chave, 100)
    assert dados.protocolo.digest_value == "UCtDCEsja/Ljq5GjpftJHAK3oHI="


def test_it_reads_a_toma4_tomador_with_its_own_data():
    toma4 = """<toma4><toma>4</toma><CPF>98765432100</CPF><xNome>PAGADOR PESSOA FISICA</xNome>
      <enderToma><xLgr>Rua</xLgr><nro>5</nro><xBairro>B</xBairro><cMun>4106902</cMun><xMun>Curitiba</xMun>
      <CEP>80000000</CEP><UF>PR</UF></enderToma></toma4>"""
    dados = ler_cte(raiz(cte(toma=toma4)))
    assert dados.tomador_papel == "4"
    assert dados.tomador == Parte(
        documento="98765432100", tipo_documento="cpf", nome="PAGADOR PESSOA FISICA", uf="PR",
        codigo_municipio="4106902", municipio="Curitiba",
    )
    assert dados.protocolo is None


def test_it_reads_a_cte_without_cargo_value():
    assert ler_cte(raiz(cte(v_carga=""))).valor_carga == Decimal("0")


def test_it_refuses_a_toma3_pointing_at_an_absent_party():
    with pytest.raises(DocumentoIncompleto, match="elemento obrigatório ausente: infCte/exped"):
        ler_cte(raiz(cte(toma="<toma3><toma>1</toma></toma3>", partes=REM + DEST)))


def test_it_reads_a_cte_os_proc():
    dados = ler_cte(raiz(cte_os_proc()))
    assert (dados.modelo, dados.numero, dados.serie, dados.tipo_servico) == ("67", 26, 0, "6")
    assert dados.tomador_papel == "4"
    assert (dados.tomador.documento, dados.tomador.nome, dados.tomador.uf) == ("11222333000181", "TOMADOR OS LTDA", "SP")
    assert (dados.remetente, dados.destinatario, dados.expedidor, dados.recebedor) == (None, None, None, None)
    assert (dados.valor_prestacao, dados.valor_icms, dados.valor_carga) == (
        Decimal("2500.00"), Decimal("450.00"), Decimal("0")
    )
    assert dados.chaves_nfe == []
    assert (dados.municipio_inicio, dados.municipio_fim) == ("SAO PAULO", "APARECIDA")
    assert dados.protocolo.codigo_status == 100


def test_it_reads_a_cte_os_without_tomador():
    dados = ler_cte(sem(cte_os_proc(), "CTeOS/infCte/toma"))
    assert (dados.tomador, dados.tomador_papel) == (None, "")


def test_it_names_the_path_of_a_missing_cte_element():
    with pytest.raises(DocumentoIncompleto, match="^elemento obrigatório ausente: infCte/vPrest/vTPrest$"):
        ler_cte(sem(cte_proc(), "CTe/infCte/vPrest/vTPrest"))


# --- events ---------------------------------------------------------------------------------------


def test_it_reads_an_nfe_cancellation():
    evento = ler_evento(raiz(proc_evento_nfe("110111", CANCELAMENTO)))
    assert (evento.chave, evento.tipo_documento, evento.tipo_evento, evento.sequencia) == (
        CHAVE_NFE_EVENTO, "nfe", "110111", 1
    )
    assert evento.descricao == "Cancelamento"
    assert evento.data_evento == datetime(2025, 1, 8, 17, 34, 36, tzinfo=BRASILIA)
    assert (evento.ambiente, evento.orgao, evento.autor_documento, evento.completo) == (1, "35", CNPJ_EMIT, True)
    assert evento.detalhes == {
        "descEvento": "Cancelamento", "nProt": "135250527657478", "xJust": "Erro na emissão do pedido"
    }
    assert evento.id_evento == f"110111{CHAVE_NFE_EVENTO}01"
    protocolo = evento.protocolo
    assert (protocolo.chave, protocolo.codigo_status, protocolo.numero) == (CHAVE_NFE_EVENTO, 135, "135250043800804")
    assert protocolo.data_recebimento == datetime(2025, 1, 8, 17, 34, 57, tzinfo=BRASILIA)
    assert (protocolo.motivo, protocolo.ambiente) == ("Evento registrado e vinculado a NF-e", 1)


def test_it_reads_a_late_cancellation_status():
    assert ler_evento(raiz(proc_evento_nfe("110111", CANCELAMENTO, c_stat="155"))).protocolo.codigo_status == 155


def test_it_reads_a_correction_letter():
    evento = ler_evento(raiz(proc_evento_nfe("110110", CCE, n_seq=2)))
    assert (evento.tipo_evento, evento.sequencia, evento.descricao) == ("110110", 2, "Carta de Correcao")
    assert evento.detalhes["xCorrecao"] == "Corrige o endereço de entrega"
    assert evento.detalhes["xCondUso"].startswith("A Carta de Correcao")


def test_it_reads_an_event_without_its_sefaz_answer():
    evento = ler_evento(sem(proc_evento_nfe("210210", "<descEvento>Ciencia da Operacao</descEvento>"), "retEvento"))
    assert (evento.protocolo, evento.descricao) == (None, "Ciencia da Operacao")


def test_it_reads_an_event_summary():
    evento = ler_evento(raiz(res_evento()))
    assert (evento.chave, evento.tipo_documento, evento.tipo_evento, evento.sequencia) == (
        CHAVE_NFE_EVENTO, "nfe", "610600", 1
    )
    assert evento.descricao == "Registro de Autorização de CT-e para a NF-e"
    assert (evento.completo, evento.ambiente, evento.orgao, evento.autor_documento) == (False, None, "91", "33683111000107")
    assert evento.data_evento == datetime(2025, 1, 9, 17, 57, 42, tzinfo=BRASILIA)
    assert (evento.protocolo.numero, evento.protocolo.codigo_status) == ("891250415199537", STATUS_NAO_INFORMADO)
    assert evento.protocolo.data_recebimento == datetime(2025, 1, 9, 17, 57, 43, tzinfo=BRASILIA)
    assert evento.detalhes == {}


def test_it_reads_a_cte_cancellation_flattening_nested_groups():
    detalhe = (
        "<evCancCTe><descEvento>Cancelamento</descEvento><nProt>342250011249023</nProt>"
        "<xJust>Valor do frete informado errado</xJust></evCancCTe>"
    )
    evento = ler_evento(raiz(proc_evento_cte("110111", detalhe)))
    assert (evento.chave, evento.tipo_documento, evento.tipo_evento) == (CHAVE_CTE_EVENTO, "cte", "110111")
    assert evento.descricao == "Cancelamento"
    assert evento.detalhes == {
        "descEvento": "Cancelamento", "nProt": "342250011249023", "xJust": "Valor do frete informado errado"
    }
    assert (evento.protocolo.chave, evento.protocolo.codigo_status, evento.protocolo.numero) == (
        CHAVE_CTE_EVENTO, 135, "342250000000077"
    )
    assert evento.autor_documento == "92382301841312"
    assert evento.id_evento == f"110111{CHAVE_CTE_EVENTO}001"


def test_it_numbers_repeated_leaves_of_a_cte_correction_letter():
    detalhe = (
        "<evCCeCTe><descEvento>Carta de Correcao</descEvento>"
        "<infCorrecao><grupoAlterado>ide</grupoAlterado><campoAlterado>cfop</campoAlterado>"
        "<valorAlterado>6353</valorAlterado></infCorrecao>"
        "<infCorrecao><grupoAlterado>compl</grupoAlterado><campoAlterado>xObs</campoAlterado>"
        "<valorAlterado>nova obs</valorAlterado></infCorrecao><xCondUso>A Carta...</xCondUso></evCCeCTe>"
    )
    detalhes = ler_evento(raiz(proc_evento_cte("110110", detalhe))).detalhes
    assert (detalhes["campoAlterado"], detalhes["campoAlterado_2"]) == ("cfop", "xObs")
    assert (detalhes["valorAlterado"], detalhes["valorAlterado_2"]) == ("6353", "nova obs")


def test_it_names_the_path_of_a_missing_event_element():
    with pytest.raises(DocumentoIncompleto, match="^elemento obrigatório ausente: evento/infEvento/tpEvento$"):
        ler_evento(sem(proc_evento_nfe("110111", CANCELAMENTO), "evento/infEvento/tpEvento"))


# --- dispatch -------------------------------------------------------------------------------------


def test_it_dispatches_every_root_to_its_reader():
    assert type(ler_documento(raiz(nfe_proc()))).__name__ == "DadosNFe"
    assert type(ler_documento(raiz(res_nfe()))).__name__ == "ResumoNFe"
    assert type(ler_documento(raiz(cte_os_proc()))).__name__ == "DadosCTe"
    assert type(ler_documento(raiz(res_evento()))).__name__ == "DadosEvento"


# --- documents from the project's own signed generators (core.geracao.documentos) -------------------

DS = "{http://www.w3.org/2000/09/xmldsig#}"


def test_it_reads_generated_signed_nfes(gerador):
    casos = ((1, "cnpj", TipoDocumentoParte.CNPJ), (3, "cpf", TipoDocumentoParte.CPF),
             (12, "estrangeiro", TipoDocumentoParte.ESTRANGEIRO))
    for itens, destinatario, tipo in casos:
        gerado = gerador.nfe(itens=itens, destinatario=destinatario)
        documento = ler_xml(gerado.xml)
        dados = ler_nfe(documento)
        assert dados.chave == gerado.chave
        assert len(dados.itens) == itens
        assert sum(item.valor_total for item in dados.itens) == dados.valor_produtos
        assert sum(item.valor_icms for item in dados.itens) == dados.valor_icms
        assert dados.destinatario.tipo_documento == tipo
        assinado = elemento_assinado(documento)
        assert assinado.get("Id") == "NFe" + dados.chave
        digest = assinado.getparent().find(f"{DS}Signature/{DS}SignedInfo/{DS}Reference/{DS}DigestValue").text
        assert dados.protocolo.digest_value == digest
        assert dados.chave[-1] == dados.digito_verificador


def test_it_reads_a_generated_nfce_and_bare_nfe(gerador):
    nfce = ler_nfe(ler_xml(gerador.nfe(modelo="65").xml))
    assert (nfce.modelo, nfce.destinatario) == ("65", None)
    assert ler_nfe(ler_xml(gerador.nfe(com_protocolo=False).xml)).protocolo is None


@pytest.mark.parametrize("tomador", ["0", "1", "2", "3", "4"])
def test_it_reads_generated_ctes(gerador, tomador):
    gerado = gerador.cte(tomador=tomador, chaves_nfe=CHAVES_NFE)
    dados = ler_cte(ler_xml(gerado.xml))
    assert (dados.chave, dados.tomador_papel, dados.chaves_nfe) == (gerado.chave, tomador, list(CHAVES_NFE))
    esperado = {"0": dados.remetente, "1": dados.expedidor, "2": dados.recebedor, "3": dados.destinatario}
    if tomador != "4":
        assert dados.tomador == esperado[tomador]
    assert dados.tomador.documento
    assert dados.protocolo.chave == gerado.chave


def test_it_reads_a_generated_cte_os(gerador):
    gerado = gerador.cte_os()
    documento = ler_xml(gerado.xml)
    dados = ler_cte(documento)
    assert (identificar(documento), dados.modelo, dados.tomador_papel) == ("cteOSProc", "67", "4")
    assert dados.chave == gerado.chave
    assert elemento_assinado(documento).get("Id") == "CTe" + gerado.chave


def test_it_reads_generated_events_and_summaries(gerador):
    nfe = gerador.nfe()
    cancelamento = ler_evento(ler_xml(gerador.evento_nfe(chave=nfe.chave, detalhes={"xJust": "Pedido em dobro"}).xml))
    assert (cancelamento.chave, cancelamento.tipo_evento, cancelamento.protocolo.codigo_status) == (
        nfe.chave, "110111", 135
    )
    assert cancelamento.detalhes["xJust"] == "Pedido em dobro"
    cte = gerador.cte()
    cce = ler_evento(ler_xml(gerador.evento_cte(chave=cte.chave, tipo_evento="110110").xml))
    assert (cce.tipo_documento, cce.chave, cce.detalhes["campoAlterado"]) == ("cte", cte.chave, "xObs")
    resumo = ler_resumo_nfe(ler_xml(gerador.resumo_nfe(nfe=nfe, situacao=3).xml))
    assert (resumo.chave, resumo.situacao_nfe) == (nfe.chave, 3)
    assert resumo.valor_total == ler_nfe(ler_xml(nfe.xml)).valor_nf
    resumo_evento = ler_evento(ler_xml(gerador.resumo_evento(chave=nfe.chave).xml))
    assert (resumo_evento.chave, resumo_evento.completo) == (nfe.chave, False)
