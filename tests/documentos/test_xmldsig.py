import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod, XMLVerifier
from signxml.exceptions import InvalidSignature

from core.documentos.xmldsig import (
    DS,
    AssinaturaInvalida,
    assinar,
    canonicalizar,
    digest_value_de,
    verificar_assinatura,
)

NS = {"ds": DS, "nfe": "http://www.portalfiscal.inf.br/nfe"}
CHAVE_NFE = "35180174283375000142550010000234761182919182"
CHAVE_CTE = "41171099999999999999570020000024631000000108"

DOCUMENTOS = {
    "nfe": lambda g, alg: g.nfe(algoritmo=alg),
    "nfce": lambda g, alg: g.nfe(modelo="65", algoritmo=alg),
    "nfe sem protocolo": lambda g, alg: g.nfe(com_protocolo=False, algoritmo=alg),
    "cte": lambda g, alg: g.cte(chaves_nfe=[CHAVE_NFE], algoritmo=alg),
    "cte os": lambda g, alg: g.cte_os(algoritmo=alg),
    "evento nfe": lambda g, alg: g.evento_nfe(chave=CHAVE_NFE, tipo_evento="210210", algoritmo=alg),
    "evento cte": lambda g, alg: g.evento_cte(chave=CHAVE_CTE, algoritmo=alg),
}


def assinado(raiz: etree._Element) -> etree._Element:
    """The element the document's Signature refers to (infNFe, infCte, infEvento)."""
    [elemento] = raiz.xpath("//*[@Id][../ds:Signature]", namespaces=NS)
    return elemento


def nfe(gerador) -> etree._Element:
    return etree.fromstring(gerador.nfe().xml)


def falha(raiz: etree._Element, mensagem: str) -> None:
    with pytest.raises(AssinaturaInvalida, match=mensagem):
        verificar_assinatura(assinado(raiz))


@pytest.mark.parametrize("algoritmo", ["sha1", "sha256"])
@pytest.mark.parametrize("tipo", DOCUMENTOS)
def test_it_verifies_what_it_signs(gerador, certificado, tipo, algoritmo):
    raiz = etree.fromstring(DOCUMENTOS[tipo](gerador, algoritmo).xml)

    resultado = verificar_assinatura(assinado(raiz))

    assert resultado.digest_value == raiz.findtext(".//ds:DigestValue", namespaces=NS)
    assert resultado.certificado_der == certificado.certificado.public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize("algoritmo", ["sha1", "sha256"])
@pytest.mark.parametrize("tipo", DOCUMENTOS)
def test_signxml_accepts_what_it_signs(gerador, certificado, monkeypatch, tipo, algoritmo):
    documento = DOCUMENTOS[tipo](gerador, algoritmo)
    # signxml emits stray xmlns="" without this (signxml#275).
    monkeypatch.setattr(XMLVerifier, "excise_empty_xmlns_declarations", True)

    resultado = XMLVerifier().verify(documento.xml, x509_cert=certificado.certificado, expect_config=_config_signxml())

    assert resultado.signed_xml.get("Id") == assinado(etree.fromstring(documento.xml)).get("Id")


def test_it_uses_the_sefaz_profile(gerador):
    assinatura = nfe(gerador).find(".//ds:Signature", NS)

    assert [etree.QName(e).localname for e in assinatura] == ["SignedInfo", "SignatureValue", "KeyInfo"]
    assert assinatura.getparent().tag == "{http://www.portalfiscal.inf.br/nfe}NFe"
    assert assinatura.getprevious().tag == "{http://www.portalfiscal.inf.br/nfe}infNFe"
    assert assinatura.nsmap == {None: DS}
    algoritmos = [e.get("Algorithm") for e in assinatura.iter() if e.get("Algorithm")]
    assert algoritmos == [
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        "http://www.w3.org/2000/09/xmldsig#sha1",
    ]


def test_it_detects_a_value_changed_after_signing(gerador):
    raiz = nfe(gerador)
    vnf = raiz.find(".//nfe:ICMSTot/nfe:vNF", NS)
    vnf.text = "1.00"

    falha(raiz, r"digest não confere \(conteúdo alterado após a assinatura\)")


def test_it_detects_a_tampered_signature_value(gerador):
    raiz = nfe(gerador)
    valor = raiz.find(".//ds:SignatureValue", NS)
    bruto = bytearray(base64.b64decode(valor.text))
    bruto[10] ^= 0x01
    valor.text = base64.b64encode(bytes(bruto)).decode()

    falha(raiz, "assinatura RSA não confere")


def test_it_detects_a_signed_info_changed_after_signing(gerador):
    raiz = nfe(gerador)
    digest = raiz.find(".//ds:DigestValue", NS)
    # A consistent (digest, content) pair forged by someone without the private key.
    raiz.find(".//nfe:ICMSTot/nfe:vNF", NS).text = "1.00"
    digest.text = base64.b64encode(hashlib.sha1(canonicalizar(assinado(raiz))).digest()).decode()

    falha(raiz, "assinatura RSA não confere")


def test_it_detects_a_certificate_swapped_for_another(gerador, outro_certificado):
    raiz = nfe(gerador)
    certificado = raiz.find(".//ds:X509Certificate", NS)
    certificado.text = base64.b64encode(outro_certificado.certificado.public_bytes(serialization.Encoding.DER)).decode()

    falha(raiz, "assinatura RSA não confere")


def test_it_reports_a_missing_signature(gerador):
    raiz = etree.fromstring(gerador.nfe(com_protocolo=False).xml)
    infnfe = raiz.find("nfe:infNFe", NS)
    raiz.remove(raiz.find("ds:Signature", NS))

    with pytest.raises(AssinaturaInvalida, match="assinatura ausente"):
        verificar_assinatura(infnfe)


def test_it_refuses_two_signatures(gerador):
    raiz = nfe(gerador)
    assinatura = raiz.find(".//ds:Signature", NS)
    assinatura.addnext(etree.fromstring(etree.tostring(assinatura)))

    falha(raiz, "2 assinaturas em NFe")


def test_it_refuses_a_reference_to_another_element(gerador):
    raiz = nfe(gerador)
    referencia = raiz.find(".//ds:Reference", NS)
    id_assinado = referencia.get("URI")[1:]
    referencia.set("URI", "#NFe00000000000000000000000000000000000000000000")

    mensagem = f"Reference URI #NFe0+ não aponta para o elemento assinado #{id_assinado}"
    with pytest.raises(AssinaturaInvalida, match=mensagem):
        verificar_assinatura(raiz.find(".//nfe:infNFe", NS))


def test_it_refuses_an_extra_transform(gerador):
    raiz = nfe(gerador)
    transforms = raiz.find(".//ds:Transforms", NS)
    etree.SubElement(transforms, f"{{{DS}}}Transform", Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116")

    falha(raiz, "transforms inesperados: .*enveloped-signature.*REC-xpath-19991116")


def test_it_refuses_c14n_with_comments(gerador):
    raiz = nfe(gerador)
    transform = raiz.findall(".//ds:Transform", NS)[1]
    transform.set("Algorithm", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments")

    falha(raiz, "transforms inesperados")


@pytest.mark.parametrize(
    "caminho, algoritmo",
    [
        (".//ds:SignatureMethod", "http://www.w3.org/2000/09/xmldsig#hmac-sha1"),
        (".//ds:SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#rsa-md5"),
        (".//ds:DigestMethod", "http://www.w3.org/2001/04/xmlenc#sha512"),
        (".//ds:CanonicalizationMethod", "http://www.w3.org/2001/10/xml-exc-c14n#"),
    ],
)
def test_it_refuses_unsupported_algorithms(gerador, caminho, algoritmo):
    raiz = nfe(gerador)
    raiz.find(caminho, NS).set("Algorithm", algoritmo)

    falha(raiz, f"algoritmo não suportado: .*{algoritmo}")


@pytest.mark.parametrize("remover", [".//ds:X509Certificate", ".//ds:KeyInfo"])
def test_it_reports_a_missing_certificate(gerador, remover):
    raiz = nfe(gerador)
    elemento = raiz.find(remover, NS)
    elemento.getparent().remove(elemento)

    falha(raiz, "certificado ausente em KeyInfo")


def test_it_refuses_a_duplicate_id_signature_wrapping(gerador):
    # Classic wrapping: the signed original hidden in a ds:Object, a forged infNFe with the same Id
    # where readers look. The forged one must never verify, whatever a reference resolver would pick.
    raiz = nfe(gerador)
    original = raiz.find(".//nfe:infNFe", NS)
    objeto = etree.SubElement(raiz.find(".//ds:Signature", NS), f"{{{DS}}}Object")
    objeto.append(etree.fromstring(etree.tostring(original)))
    original.find(".//nfe:vNF", NS).text = "1.00"

    falha(raiz, "Id duplicado NFe[0-9]{44} dentro de NFe")


def test_it_ignores_the_same_id_outside_the_signed_parent(gerador):
    # Real CT-e OS protocols reuse the infCte Id in protCTe/infProt: not a wrapping attempt.
    raiz = etree.fromstring(gerador.cte_os().xml)
    infcte = assinado(raiz)
    raiz.find(".//{http://www.portalfiscal.inf.br/cte}infProt").set("Id", infcte.get("Id"))

    assert verificar_assinatura(infcte).digest_value


def test_it_accepts_base64_wrapped_in_lines_like_real_files(gerador):
    raiz = nfe(gerador)
    for caminho in (".//ds:SignatureValue", ".//ds:X509Certificate"):
        elemento = raiz.find(caminho, NS)
        texto = elemento.text
        elemento.text = "\n".join(texto[i : i + 76] for i in range(0, len(texto), 76))

    assert verificar_assinatura(assinado(raiz))


def test_it_verifies_a_reindented_envelope_whose_namespace_comes_from_an_ancestor(gerador):
    # The lxml C14N pitfall: infNFe inherits the default namespace from a grandparent, so a naive
    # etree.tostring(infNFe, method="c14n") emits xmlns="" on its grandchildren and breaks the digest.
    xml = gerador.nfe(com_protocolo=False).xml.decode()
    corpo = xml.split('<NFe xmlns="http://www.portalfiscal.inf.br/nfe">', 1)[1]
    corpo = corpo.replace("<infNFe", "\n    <infNFe", 1).replace("</infNFe>", "</infNFe>\n    ", 1)
    envelope = (
        '<enviNFe xmlns="http://www.portalfiscal.inf.br/nfe" versao="4.00">\n'
        "  <idLote>1</idLote>\n  <indSinc>1</indSinc>\n  <NFe>" + corpo.replace("</NFe>", "\n  </NFe>\n</enviNFe>")
    )
    raiz = etree.fromstring(envelope.encode())
    infnfe = assinado(raiz)
    assert b'xmlns=""' in etree.tostring(infnfe, method="c14n")  # the pitfall is really there

    assert verificar_assinatura(infnfe).digest_value == digest_value_de(infnfe)


def test_it_rejects_a_pretty_printed_document(gerador):
    # Indentation inside infNFe is content: the canonical form changes, so must the verdict.
    raiz = nfe(gerador)
    etree.indent(raiz)

    falha(raiz, "digest não confere")


def test_it_rejects_namespace_declarations_that_change_the_canonical_form(gerador, certificado, monkeypatch):
    # Inclusive C14N renders every in-scope namespace on the apex element, so an unused
    # xmlns:xsi added by an envelope is part of what was digested. signxml agrees.
    xml = gerador.nfe().xml.replace(
        b'<nfeProc xmlns="http://www.portalfiscal.inf.br/nfe"',
        b'<nfeProc xmlns="http://www.portalfiscal.inf.br/nfe" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
    )
    monkeypatch.setattr(XMLVerifier, "excise_empty_xmlns_declarations", True)

    falha(etree.fromstring(xml), "digest não confere")
    with pytest.raises(InvalidSignature):
        XMLVerifier().verify(xml, x509_cert=certificado.certificado, expect_config=_config_signxml())


def test_digest_value_de_reads_without_verifying(gerador):
    raiz = nfe(gerador)
    raiz.find(".//nfe:vNF", NS).text = "1.00"

    assert digest_value_de(assinado(raiz)) == raiz.findtext(".//nfe:digVal", namespaces=NS)


def test_digest_value_de_is_empty_when_unsigned(gerador):
    raiz = etree.fromstring(gerador.nfe(com_protocolo=False).xml)
    infnfe = raiz.find("nfe:infNFe", NS)
    raiz.remove(raiz.find("ds:Signature", NS))

    assert digest_value_de(infnfe) == ""


def test_assinar_refuses_to_sign_twice_or_with_unknown_algorithms(gerador, certificado):
    raiz = nfe(gerador)
    infnfe = raiz.find(".//nfe:infNFe", NS)

    with pytest.raises(ValueError, match="já está assinado"):
        assinar(infnfe, certificado.chave_privada, certificado.certificado)
    with pytest.raises(ValueError, match="algoritmo não suportado: md5"):
        assinar(infnfe, certificado.chave_privada, certificado.certificado, algoritmo="md5")


def test_assinar_signs_an_element_built_in_memory(certificado):
    # The manifestation flow: build an event with lxml, sign it with the customer's A1, send it.
    evento = etree.Element("{http://www.portalfiscal.inf.br/nfe}evento", versao="1.00",
                           nsmap={None: "http://www.portalfiscal.inf.br/nfe"})  # fmt: skip
    inf = etree.SubElement(evento, "{http://www.portalfiscal.inf.br/nfe}infEvento", Id="ID210210" + CHAVE_NFE + "01")
    etree.SubElement(inf, "{http://www.portalfiscal.inf.br/nfe}tpEvento").text = "210210"

    assinar(inf, certificado.chave_privada, certificado.certificado, algoritmo="sha256")

    assert verificar_assinatura(inf).digest_value == digest_value_de(inf)
    assert evento[-1].tag == f"{{{DS}}}Signature"


def _config_signxml() -> SignatureConfiguration:
    return SignatureConfiguration(
        signature_methods=frozenset({SignatureMethod.RSA_SHA1, SignatureMethod.RSA_SHA256}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA1, DigestAlgorithm.SHA256}),
    )
