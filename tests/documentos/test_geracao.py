import io
import random
import zipfile
from datetime import datetime
from decimal import Decimal

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree

from core.documentos.chave import decompor_chave, validar_cnpj, validar_cpf
from core.documentos.xmldsig import verificar_assinatura
from core.geracao.certificado import OID_CNPJ, OID_DADOS_PESSOA_FISICA, gerar_certificado
from core.geracao.documentos import FUSO, gerar_lote_zip, gerar_nfe

NFE = "http://www.portalfiscal.inf.br/nfe"
CTE = "http://www.portalfiscal.inf.br/cte"
NS = {"n": NFE, "c": CTE, "ds": "http://www.w3.org/2000/09/xmldsig#"}
DATA = datetime(2026, 3, 17, 10, 30, tzinfo=FUSO)


def raiz_de(documento) -> etree._Element:
    assert documento.xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return etree.fromstring(documento.xml)


def texto(elemento: etree._Element, caminho: str) -> str:
    valor = elemento.findtext(caminho, namespaces=NS)
    assert valor is not None, caminho
    return valor


def soma(elemento: etree._Element, caminho: str) -> Decimal:
    return sum((Decimal(v) for v in elemento.xpath(caminho + "/text()", namespaces=NS)), Decimal("0.00"))


def assinado(raiz: etree._Element) -> etree._Element:
    [elemento] = raiz.xpath("//*[@Id][../ds:Signature]", namespaces=NS)
    return elemento


# --------------------------------------------------------------------------------------------- NF-e


def test_nfe_key_agrees_with_its_fields(gerador, certificado):
    documento = gerador.nfe(data_emissao=DATA, serie=3, numero=4567)
    raiz = raiz_de(documento)
    ide = raiz.find(".//n:ide", NS)
    partes = decompor_chave(documento.chave)

    assert raiz.tag == f"{{{NFE}}}nfeProc" and raiz.get("versao") == "4.00"
    assert texto(raiz, ".//n:protNFe/n:infProt/n:chNFe") == documento.chave
    assert raiz.find(".//n:infNFe", NS).get("Id") == "NFe" + documento.chave
    assert (partes.codigo_uf, partes.modelo, partes.serie, partes.numero) == ("35", "55", 3, 4567)
    assert texto(ide, "n:cUF") == partes.codigo_uf
    assert texto(ide, "n:mod") == "55"
    assert texto(ide, "n:serie") == "3" and texto(ide, "n:nNF") == "4567"
    assert texto(ide, "n:tpEmis") == partes.tipo_emissao
    assert texto(ide, "n:cNF") == partes.codigo_numerico
    assert texto(ide, "n:cDV") == str(partes.digito)
    assert texto(ide, "n:dhEmi") == "2026-03-17T10:30:00-03:00"
    assert partes.ano_mes == "2603"
    assert texto(raiz, ".//n:emit/n:CNPJ") == partes.cnpj_emitente == certificado.cnpj
    assert texto(raiz, ".//n:emit/n:xNome") == certificado.nome


def test_nfe_signature_verifies_and_protocol_carries_its_digest(gerador):
    raiz = raiz_de(gerador.nfe())

    assinatura = verificar_assinatura(raiz.find(".//n:infNFe", NS))

    prot = raiz.find("n:protNFe/n:infProt", NS)
    assert texto(prot, "n:digVal") == assinatura.digest_value == texto(raiz, ".//ds:DigestValue")
    assert texto(prot, "n:cStat") == "100"
    assert texto(prot, "n:xMotivo") == "Autorizado o uso da NF-e"
    assert len(texto(prot, "n:nProt")) == 15
    assert texto(prot, "n:dhRecbto").endswith("-03:00")


@pytest.mark.parametrize("semente", range(8))
@pytest.mark.parametrize("itens", [1, 4, 25])
def test_nfe_totals_are_the_sum_of_the_items(certificado, semente, itens):
    raiz = raiz_de(gerar_nfe(certificado=certificado, rng=random.Random(semente), itens=itens))
    total = raiz.find(".//n:total/n:ICMSTot", NS)

    def tot(campo: str) -> Decimal:
        return Decimal(texto(total, f"n:{campo}"))

    assert len(raiz.findall(".//n:det", NS)) == itens
    assert tot("vProd") == soma(raiz, "//n:det/n:prod/n:vProd")
    assert tot("vFrete") == soma(raiz, "//n:det/n:prod/n:vFrete")
    assert tot("vDesc") == soma(raiz, "//n:det/n:prod/n:vDesc")
    assert tot("vIPI") == soma(raiz, "//n:det/n:imposto/n:IPI/n:IPITrib/n:vIPI")
    assert tot("vICMS") == soma(raiz, "//n:det/n:imposto/n:ICMS/*/n:vICMS")
    assert tot("vBC") == soma(raiz, "//n:det/n:imposto/n:ICMS/*/n:vBC")
    assert tot("vPIS") == soma(raiz, "//n:det/n:imposto/n:PIS/*/n:vPIS")
    assert tot("vCOFINS") == soma(raiz, "//n:det/n:imposto/n:COFINS/*/n:vCOFINS")
    assert tot("vNF") == tot("vProd") - tot("vDesc") + tot("vFrete") + tot("vIPI")
    assert soma(raiz, "//n:pag/n:detPag/n:vPag") == tot("vNF")
    if raiz.find(".//n:cobr", NS) is not None:
        assert soma(raiz, "//n:cobr/n:dup/n:vDup") == tot("vNF") == Decimal(texto(raiz, ".//n:fat/n:vLiq"))
    for det in raiz.iterfind(".//n:det", NS):
        quantidade, unitario = Decimal(texto(det, "n:prod/n:qCom")), Decimal(texto(det, "n:prod/n:vUnCom"))
        assert Decimal(texto(det, "n:prod/n:vProd")) == (quantidade * unitario).quantize(Decimal("0.01"))


def test_nfe_uses_the_freight_and_discount_given(gerador):
    raiz = raiz_de(gerador.nfe(itens=3, valor_frete=Decimal("100.00"), valor_desconto=Decimal("10.01")))

    assert texto(raiz, ".//n:ICMSTot/n:vFrete") == "100.00"
    assert texto(raiz, ".//n:ICMSTot/n:vDesc") == "10.01"
    assert texto(raiz, ".//n:transp/n:modFrete") == "0"


def test_nfce_has_no_recipient_and_a_qr_code_before_the_signature(gerador):
    documento = gerador.nfe(modelo="65")
    raiz = raiz_de(documento)
    nfe = raiz.find("n:NFe", NS)

    assert decompor_chave(documento.chave).modelo == "65"
    assert raiz.find(".//n:dest", NS) is None
    assert [etree.QName(e).localname for e in nfe] == ["infNFe", "infNFeSupl", "Signature"]
    assert f"p={documento.chave}|2|1|" in texto(nfe, "n:infNFeSupl/n:qrCode")
    assert texto(raiz, ".//n:ide/n:tpImp") == "4"
    assert raiz.find(".//n:ide/n:dhSaiEnt", NS) is None
    assert verificar_assinatura(nfe.find("n:infNFe", NS))


@pytest.mark.parametrize(
    "destinatario, tag, valido",
    [("cnpj", "CNPJ", validar_cnpj), ("cpf", "CPF", validar_cpf), ("estrangeiro", "idEstrangeiro", bool)],
)
def test_nfe_recipient_kinds(gerador, destinatario, tag, valido):
    raiz = raiz_de(gerador.nfe(destinatario=destinatario))
    dest = raiz.find(".//n:dest", NS)

    assert valido(texto(dest, f"n:{tag}"))
    if destinatario == "estrangeiro":
        assert texto(dest, "n:enderDest/n:UF") == "EX"
        assert texto(raiz, ".//n:ide/n:idDest") == "3"
        assert {c.text for c in raiz.iterfind(".//n:det/n:prod/n:CFOP", NS)} == {"7102"}
    if destinatario == "cpf":
        assert texto(raiz, ".//n:ide/n:indFinal") == "1"
        assert texto(dest, "n:indIEDest") == "9"


def test_nfe_without_recipient_or_protocol(gerador):
    raiz = raiz_de(gerador.nfe(destinatario=None, com_protocolo=False))

    assert raiz.tag == f"{{{NFE}}}NFe"
    assert raiz.find(".//n:dest", NS) is None
    assert verificar_assinatura(raiz.find("n:infNFe", NS))


def test_nfe_with_an_alphanumeric_cnpj_emitter(gerador):
    documento = gerador.nfe(emitente_cnpj="12ABC34501DE35")
    raiz = raiz_de(documento)

    assert documento.chave[6:20] == "12ABC34501DE35"
    assert decompor_chave(documento.chave).cnpj_emitente == texto(raiz, ".//n:emit/n:CNPJ")
    assert verificar_assinatura(raiz.find(".//n:infNFe", NS))


def test_nfe_with_a_cpf_emitter(gerador):
    documento = gerador.nfe(emitente_cpf="52998224725")
    raiz = raiz_de(documento)

    assert texto(raiz, ".//n:emit/n:CPF") == "52998224725"
    assert raiz.find(".//n:emit/n:CNPJ", NS) is None
    assert documento.chave[6:20] == "00052998224725"
    assert texto(raiz, ".//n:ide/n:serie") == "920"  # SEFAZ reserves 920-969 for CPF emitters


def test_nfe_emitter_defaults_to_an_e_cpf_holder(gerador):
    e_cpf = gerar_certificado(cpf="68161525650", nome="JOSE PRODUTOR RURAL")
    raiz = raiz_de(gerar_nfe(certificado=e_cpf, rng=random.Random(1)))

    assert texto(raiz, ".//n:emit/n:CPF") == "68161525650"
    assert texto(raiz, ".//n:emit/n:xNome") == "JOSE PRODUTOR RURAL"


def test_nfe_in_homologacao_and_denied(gerador):
    raiz = raiz_de(gerador.nfe(ambiente=2, codigo_status=302))

    assert texto(raiz, ".//n:ide/n:tpAmb") == "2"
    assert texto(raiz, ".//n:dest/n:xNome") == "NF-E EMITIDA EM AMBIENTE DE HOMOLOGACAO - SEM VALOR FISCAL"
    assert texto(raiz, ".//n:infProt/n:cStat") == "302"
    assert texto(raiz, ".//n:infProt/n:tpAmb") == "2"


def test_nfe_entrada(gerador):
    raiz = raiz_de(gerador.nfe(tipo_operacao="entrada", destinatario_uf="SP"))

    assert texto(raiz, ".//n:ide/n:tpNF") == "0"
    assert {c.text for c in raiz.iterfind(".//n:det/n:prod/n:CFOP", NS)} == {"1102"}


def test_generation_is_deterministic_for_a_seed(certificado):
    def gerar(semente: int) -> bytes:
        return gerar_nfe(certificado=certificado, rng=random.Random(semente), data_emissao=DATA, itens=5).xml

    assert gerar(42) == gerar(42)
    assert gerar(42) != gerar(43)


def test_a_cnpj_looks_the_same_in_every_document(gerador):
    nomes = {texto(raiz_de(gerador.nfe(destinatario_documento="45723174000110")), ".//n:dest/n:xNome")
             for _ in range(3)}  # fmt: skip

    assert len(nomes) == 1


# --------------------------------------------------------------------------------------------- CT-e


@pytest.mark.parametrize("tomador", ["0", "1", "2", "3"])
def test_cte_with_toma3(gerador, tomador):
    documento = gerador.cte(tomador=tomador, data_emissao=DATA, uf_inicio="PR", uf_fim="SP")
    raiz = raiz_de(documento)
    inf = raiz.find("c:CTe/c:infCte", NS)
    ide = inf.find("c:ide", NS)
    partes = decompor_chave(documento.chave)

    assert raiz.tag == f"{{{CTE}}}cteProc" and raiz.get("versao") == "4.00"
    assert inf.get("Id") == "CTe" + documento.chave
    assert partes.modelo == "57" and partes.codigo_uf == texto(ide, "c:cUF") == "41"
    assert partes.ano_mes == "2603"
    assert texto(ide, "c:cCT") == partes.codigo_numerico
    assert int(texto(ide, "c:nCT")) == partes.numero
    assert texto(ide, "c:cDV") == str(partes.digito)
    assert texto(inf, "c:emit/c:CNPJ") == partes.cnpj_emitente
    assert (texto(ide, "c:UFIni"), texto(ide, "c:UFFim")) == ("PR", "SP")
    assert texto(ide, "c:cMunIni")[:2] == "41" and texto(ide, "c:cMunFim")[:2] == "35"
    assert texto(ide, "c:toma3/c:toma") == tomador
    papel = {"0": "rem", "1": "exped", "2": "receb", "3": "dest"}[tomador]
    assert inf.find(f"c:{papel}", NS) is not None
    assert [etree.QName(e).localname for e in raiz.find("c:CTe", NS)] == ["infCte", "infCTeSupl", "Signature"]


def test_cte_with_toma4_and_nfe_keys(gerador):
    chaves = [gerador.nfe().chave, gerador.nfe().chave]
    raiz = raiz_de(gerador.cte(tomador="4", chaves_nfe=chaves, tomador_documento="52998224725"))
    inf = raiz.find(".//c:infCte", NS)

    assert texto(inf, "c:ide/c:toma4/c:toma") == "4"
    assert texto(inf, "c:ide/c:toma4/c:CPF") == "52998224725"
    assert texto(inf, "c:ide/c:indIEToma") == "9"
    assert [c.text for c in inf.iterfind(".//c:infDoc/c:infNFe/c:chave", NS)] == chaves
    assert len(texto(inf, ".//c:infModal/c:rodo/c:RNTRC")) == 8
    assert inf.find(".//c:infModal", NS).get("versaoModal") == "4.00"


def test_cte_values_and_protocol(gerador):
    raiz = raiz_de(gerador.cte(valor_prestacao=Decimal("1234.56")))
    inf = raiz.find(".//c:infCte", NS)

    assert texto(inf, "c:vPrest/c:vTPrest") == texto(inf, "c:vPrest/c:vRec") == "1234.56"
    assert soma(inf, "c:vPrest/c:Comp/c:vComp") == Decimal("1234.56")
    assert texto(inf, "c:imp/c:ICMS/c:ICMS00/c:vBC") == "1234.56"
    assert Decimal(texto(inf, ".//c:infCarga/c:vCarga")) > 0
    prot = raiz.find("c:protCTe/c:infProt", NS)
    assert texto(prot, "c:chCTe") == inf.get("Id")[3:]
    assert texto(prot, "c:digVal") == verificar_assinatura(inf).digest_value
    assert texto(prot, "c:xMotivo") == "Autorizado o uso do CT-e"


@pytest.mark.parametrize("modal, grupo", [("02", "aereo"), ("06", "multimodal")])
def test_cte_other_modals(gerador, modal, grupo):
    raiz = raiz_de(gerador.cte(modal=modal))

    assert texto(raiz, ".//c:ide/c:modal") == modal
    assert raiz.find(f".//c:infModal/c:{grupo}", NS) is not None


def test_cte_os(gerador):
    documento = gerador.cte_os(uf_inicio="RJ", uf_fim="RJ")
    raiz = raiz_de(documento)
    inf = raiz.find("c:CTeOS/c:infCte", NS)

    assert raiz.tag == f"{{{CTE}}}cteOSProc"
    assert raiz.find("c:CTeOS", NS).get("versao") == "4.00"
    assert decompor_chave(documento.chave).modelo == "67"
    assert texto(inf, "c:ide/c:mod") == "67"
    assert texto(inf, "c:ide/c:CFOP") == "5353"
    assert inf.find("c:toma", NS) is not None
    assert inf.find("c:rem", NS) is None and inf.find("c:dest", NS) is None
    assert texto(raiz, "c:protCTe/c:infProt/c:chCTe") == documento.chave
    assert texto(raiz, "c:protCTe/c:infProt/c:digVal") == verificar_assinatura(inf).digest_value


def test_cte_with_alphanumeric_cnpj_carrier(gerador):
    documento = gerador.cte(emitente_cnpj="12ABC34501DE35")

    assert decompor_chave(documento.chave).cnpj_emitente == "12ABC34501DE35"
    assert verificar_assinatura(assinado(raiz_de(documento)))


# ------------------------------------------------------------------------------------------- events


@pytest.mark.parametrize(
    "tipo, descricao, orgao",
    [
        ("110111", "Cancelamento", "35"),
        ("110110", "Carta de Correcao", "35"),
        ("210200", "Confirmacao da Operacao", "91"),
        ("210210", "Ciencia da Operacao", "91"),
        ("210220", "Desconhecimento da Operacao", "91"),
        ("210240", "Operacao nao Realizada", "91"),
    ],
)
def test_nfe_events(gerador, certificado, tipo, descricao, orgao):
    chave = gerador.nfe().chave
    documento = gerador.evento_nfe(chave=chave, tipo_evento=tipo, sequencia=2)
    raiz = raiz_de(documento)
    inf = raiz.find("n:evento/n:infEvento", NS)

    assert documento.chave == chave
    assert raiz.tag == f"{{{NFE}}}procEventoNFe" and raiz.get("versao") == "1.00"
    assert inf.get("Id") == f"ID{tipo}{chave}02"
    assert texto(inf, "n:cOrgao") == orgao
    assert texto(inf, "n:CNPJ") == certificado.cnpj
    assert texto(inf, "n:detEvento/n:descEvento") == descricao
    assert verificar_assinatura(inf)
    ret = raiz.find("n:retEvento/n:infEvento", NS)
    assert (texto(ret, "n:chNFe"), texto(ret, "n:tpEvento"), texto(ret, "n:nSeqEvento")) == (chave, tipo, "2")
    assert texto(ret, "n:cStat") == "135"
    assert texto(ret, "n:xEvento") == descricao
    assert len(texto(ret, "n:nProt")) == 15
    assert texto(ret, "n:dhRegEvento") > texto(inf, "n:dhEvento")


def test_nfe_event_details(gerador):
    chave = gerador.nfe().chave
    cancelamento = raiz_de(gerador.evento_nfe(
        chave=chave, detalhes={"nProt": "135260000000001", "xJust": "Erro no valor da mercadoria"}))  # fmt: skip
    cce = raiz_de(gerador.evento_nfe(chave=chave, tipo_evento="110110", detalhes={"xCorrecao": "Endereço errado"}))

    assert texto(cancelamento, ".//n:detEvento/n:nProt") == "135260000000001"
    assert texto(cancelamento, ".//n:detEvento/n:xJust") == "Erro no valor da mercadoria"
    assert texto(cce, ".//n:detEvento/n:xCorrecao") == "Endereço errado"
    assert texto(cce, ".//n:detEvento/n:xCondUso").startswith("A Carta de Correcao e disciplinada")


def test_nfe_event_without_return(gerador):
    raiz = raiz_de(gerador.evento_nfe(chave=gerador.nfe().chave, com_retorno=False))

    assert raiz.tag == f"{{{NFE}}}evento"
    assert verificar_assinatura(raiz.find("n:infEvento", NS))


@pytest.mark.parametrize(
    "tipo, grupo", [("110111", "evCancCTe"), ("110110", "evCCeCTe"), ("610110", "evPrestDesacordo")]
)
def test_cte_events(gerador, tipo, grupo):
    chave = gerador.cte().chave
    documento = gerador.evento_cte(chave=chave, tipo_evento=tipo)
    raiz = raiz_de(documento)
    inf = raiz.find("c:eventoCTe/c:infEvento", NS)

    assert raiz.tag == f"{{{CTE}}}procEventoCTe" and raiz.get("versao") == "4.00"
    assert inf.get("Id") == f"ID{tipo}{chave}001"  # CT-e events use a 3-digit sequence in the Id
    assert inf.find(f"c:detEvento/c:{grupo}", NS) is not None
    assert verificar_assinatura(inf)
    ret = raiz.find("c:retEventoCTe/c:infEvento", NS)
    assert texto(ret, "c:chCTe") == chave
    assert texto(ret, "c:xMotivo") == "Evento registrado e vinculado a CT-e"


# ---------------------------------------------------------------------------------------- summaries


def test_resumo_nfe_matches_the_full_document(gerador):
    completo = gerador.nfe()
    resumo = raiz_de(gerador.resumo_nfe(nfe=completo, situacao=3))
    nfe = raiz_de(completo)

    assert resumo.tag == f"{{{NFE}}}resNFe" and resumo.get("versao") == "1.01"
    assert resumo.nsmap == {None: NFE, "xsd": "http://www.w3.org/2001/XMLSchema",
                            "xsi": "http://www.w3.org/2001/XMLSchema-instance"}  # fmt: skip
    assert [etree.QName(e).localname for e in resumo] == [
        "chNFe", "CNPJ", "xNome", "IE", "dhEmi", "tpNF", "vNF", "digVal", "dhRecbto", "nProt", "cSitNFe",
    ]  # fmt: skip
    assert texto(resumo, "n:chNFe") == completo.chave
    assert texto(resumo, "n:CNPJ") == texto(nfe, ".//n:emit/n:CNPJ")
    assert texto(resumo, "n:vNF") == texto(nfe, ".//n:ICMSTot/n:vNF")
    assert texto(resumo, "n:digVal") == texto(nfe, ".//n:protNFe/n:infProt/n:digVal")
    assert texto(resumo, "n:nProt") == texto(nfe, ".//n:protNFe/n:infProt/n:nProt")
    assert texto(resumo, "n:dhEmi") == texto(nfe, ".//n:ide/n:dhEmi")
    assert texto(resumo, "n:cSitNFe") == "3"
    assert resumo.find(".//ds:Signature", NS) is None


def test_resumo_nfe_from_explicit_values(gerador):
    documento = gerador.resumo_nfe(emitente_cnpj="45723174000110", nome="INDUSTRIA X", valor=Decimal("10.5"))
    resumo = raiz_de(documento)

    assert decompor_chave(documento.chave).cnpj_emitente == "45723174000110"
    assert texto(resumo, "n:xNome") == "INDUSTRIA X"
    assert texto(resumo, "n:vNF") == "10.50"


def test_resumo_evento(gerador):
    chave = gerador.nfe().chave
    resumo = raiz_de(gerador.resumo_evento(chave=chave, tipo_evento="210210", autor_documento="45723174000110"))

    assert resumo.tag == f"{{{NFE}}}resEvento" and resumo.get("versao") == "1.01"
    assert [etree.QName(e).localname for e in resumo] == [
        "cOrgao", "CNPJ", "chNFe", "dhEvento", "tpEvento", "nSeqEvento", "xEvento", "dhRecbto", "nProt",
    ]  # fmt: skip
    assert texto(resumo, "n:cOrgao") == "91"
    assert texto(resumo, "n:xEvento") == "Ciencia da Operacao"
    assert texto(resumo, "n:chNFe") == chave


def test_lote_zip(gerador):
    documentos = [gerador.nfe(), gerador.cte(), gerador.resumo_nfe()]

    lote = zipfile.ZipFile(io.BytesIO(gerar_lote_zip(documentos)))

    assert lote.namelist() == [f"{d.chave}.xml" for d in documentos]
    assert lote.read(f"{documentos[1].chave}.xml") == documentos[1].xml
    nomeado = zipfile.ZipFile(io.BytesIO(gerar_lote_zip(documentos[:1], nome_arquivo=lambda d: "a/nota.xml")))
    assert nomeado.namelist() == ["a/nota.xml"]


def test_dates_use_the_brasilia_offset(gerador):
    for documento in (gerador.nfe(), gerador.cte(), gerador.evento_nfe(chave=gerador.nfe().chave)):
        raiz = raiz_de(documento)
        datas = [e.text for e in raiz.iter() if etree.QName(e).localname.startswith("dh")]
        assert datas and all(d.endswith("-03:00") for d in datas)


# ------------------------------------------------------------------------------------- certificates


def test_certificate_is_icp_brasil_like(certificado):
    folha = certificado.certificado
    [cn] = folha.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    nomes = folha.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    [cnpj] = [n.value for n in nomes if isinstance(n, x509.OtherName) and n.type_id == OID_CNPJ]

    assert cn.value == "EMPRESA TESTE LTDA:11222333000181"
    assert cnpj == b"\x04\x0e11222333000181"  # DER OCTET STRING, as ICP-Brasil certificates carry it
    assert folha.issuer == certificado.cadeia[0].subject
    assert "AC TESTE FISCAL" in folha.issuer.rfc4514_string()
    folha.verify_directly_issued_by(certificado.cadeia[0])


def test_e_cpf_certificate_carries_the_cpf():
    e_cpf = gerar_certificado(cpf="529.982.247-25", nome="FULANO DE TAL")
    nomes = e_cpf.certificado.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    [dados] = [n.value for n in nomes if n.type_id == OID_DADOS_PESSOA_FISICA]

    assert e_cpf.cpf == "52998224725" and e_cpf.cnpj is None
    assert dados[2:].decode()[8:19] == "52998224725"  # birth date, then the CPF


@pytest.mark.parametrize("legado", [False, True])
def test_pfx_round_trip(certificado, legado):
    pfx = certificado.pfx(b"segredo", legado=legado)

    chave, folha, cadeia = pkcs12.load_key_and_certificates(pfx, b"segredo")

    assert folha == certificado.certificado
    assert cadeia == certificado.cadeia
    assert chave.private_numbers() == certificado.chave_privada.private_numbers()


def test_keys_are_cached_per_label(certificado):
    mesma = gerar_certificado(cnpj="45723174000110", nome="OUTRA")
    outra = gerar_certificado(cnpj="45723174000110", nome="OUTRA", rotulo_chave="teste-outra-chave")

    assert mesma.chave_privada is certificado.chave_privada
    assert outra.chave_privada is not certificado.chave_privada
    assert mesma.certificado.serial_number != certificado.certificado.serial_number
