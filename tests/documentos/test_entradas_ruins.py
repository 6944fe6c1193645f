"""Bad input through the whole pipeline: a clear error in the ImportLog, and nothing else saved."""

import io
import zipfile

import pytest
from lxml import etree

from core.documentos.chave import calcular_digito
from core.documentos.importacao import importar_bytes
from core.geracao.documentos import gerar_nfe
from core.models import ArquivoXML, CTe, EventoDocumento, ImportLog, NFe, NFeItem, Origem
from core.tenancy import escopo

pytestmark = pytest.mark.django_db

NS = {"n": "http://www.portalfiscal.inf.br/nfe", "ds": "http://www.w3.org/2000/09/xmldsig#"}


def alterar(xml: bytes, caminho: str, valor: str) -> bytes:
    """Change one element's text without re-signing (parse/serialize keeps the canonical form)."""
    raiz = etree.fromstring(xml)
    [elemento] = raiz.xpath(caminho, namespaces=NS)
    elemento.text = valor
    return etree.tostring(raiz, xml_declaration=True, encoding="UTF-8")


def zip_com(nome: str, conteudo: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as arquivo:
        arquivo.writestr(nome, conteudo)
    return buffer.getvalue()


def chave_com_dv_errado(chave: str) -> str:
    return chave[:43] + str((calcular_digito(chave[:43]) + 1) % 10)


@pytest.fixture(scope="module")
def nfe(emissor):
    return gerar_nfe(certificado=emissor, numero=4242)


def _casos(nfe, outra):
    xml = nfe.xml
    errado = chave_com_dv_errado(nfe.chave)
    return {
        "malformado": (xml.replace(b"</infNFe>", b"</infNFX>", 1), "não é XML"),
        "truncado": (xml[: len(xml) // 2], "não é XML"),
        "vazio": (b"", "vazio"),
        "lixo binário": (bytes(range(256)) * 4, "não é XML"),
        "DTD": (b'<?xml version="1.0"?><!DOCTYPE nfeProc [<!ELEMENT nfeProc ANY>]><nfeProc/>', "DTD"),
        "XXE": (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<nfeProc xmlns="http://www.portalfiscal.inf.br/nfe">&x;</nfeProc>',
            "DTD",
        ),
        "billion laughs": (
            b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><l>&c;&c;&c;&c;</l>',
            "DTD",
        ),
        "namespace errado": (xml.replace(b"http://www.portalfiscal.inf.br/nfe", b"http://example.com/nfe"), "namespace"),
        "raiz desconhecida": (b'<?xml version="1.0"?><pedido xmlns="http://www.portalfiscal.inf.br/nfe"/>', "pedido"),
        "dígito verificador errado": (xml.replace(nfe.chave.encode(), errado.encode()), "dígito verificador"),
        "chave diferente do Id": (alterar(xml, "//n:infNFe/n:ide/n:nNF", "4243"), "número 4243"),
        "valor adulterado": (alterar(xml, "//n:ICMSTot/n:vNF", "1.00"), "digest"),
        "protocolo de outra chave": (alterar(xml, "//n:protNFe/n:infProt/n:chNFe", outra.chave), "protocolo é da chave"),
        "digVal divergente": (alterar(xml, "//n:protNFe/n:infProt/n:digVal", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="), "digVal"),
        "assinatura ausente": (_sem_assinatura(xml), "assinatura"),
    }


def _sem_assinatura(xml: bytes) -> bytes:
    raiz = etree.fromstring(xml)
    [assinatura] = raiz.xpath("//ds:Signature", namespaces=NS)
    assinatura.getparent().remove(assinatura)
    return etree.tostring(raiz)


CASOS = [
    "malformado", "truncado", "vazio", "lixo binário", "DTD", "XXE", "billion laughs", "namespace errado",
    "raiz desconhecida", "dígito verificador errado", "chave diferente do Id", "valor adulterado",
    "protocolo de outra chave", "digVal divergente", "assinatura ausente",
]


def assert_nada_gravado(org):
    for modelo in (NFe, NFeItem, CTe, EventoDocumento):
        assert not escopo(modelo, org).exists(), modelo.__name__
    # Only what the failed attempt received is kept, with its ImportLog (for download and reprocessing).
    guardados = set(escopo(ImportLog, org).values_list("xml_id", flat=True))
    assert set(escopo(ArquivoXML, org).values_list("pk", flat=True)) <= guardados


@pytest.mark.parametrize("caso", CASOS)
def test_bad_input_is_logged_with_its_reason_and_nothing_is_saved(org, emissor, nfe, caso):
    outra = gerar_nfe(certificado=emissor, numero=9999)
    conteudo, trecho = _casos(nfe, outra)[caso]

    [resultado] = importar_bytes(organizacao=org, nome=f"{caso}.xml", conteudo=conteudo, origem=Origem.UPLOAD)

    assert resultado.status == "erro"
    assert trecho.lower() in resultado.mensagem.lower(), resultado.mensagem
    log = escopo(ImportLog, org).get()
    assert (log.arquivo, log.status, log.mensagem) == (f"{caso}.xml", "erro", resultado.mensagem)
    assert_nada_gravado(org)
    if conteudo:
        assert log.xml.bytes_originais() == conteudo


def test_the_xxe_payload_is_never_read(org):
    conteudo = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
        b'<nfeProc xmlns="http://www.portalfiscal.inf.br/nfe">&x;</nfeProc>'
    )
    [resultado] = importar_bytes(organizacao=org, nome="xxe.xml", conteudo=conteudo, origem=Origem.UPLOAD)
    segredo = open("/etc/hostname").read().strip()
    assert resultado.status == "erro" and (not segredo or segredo not in resultado.mensagem)


def test_a_file_over_the_size_limit(org, nfe, settings):
    settings.FISCAL_MAX_XML_BYTES = len(nfe.xml) - 1
    [resultado] = importar_bytes(organizacao=org, nome="grande.xml", conteudo=nfe.xml, origem=Origem.UPLOAD)
    assert resultado.status == "erro" and "limite" in resultado.mensagem
    assert_nada_gravado(org)


def test_a_zip_bomb(org, settings):
    settings.FISCAL_MAX_XML_BYTES = 1024 * 1024
    bomba = zip_com("bomba.xml", b"<a>" + b"0" * (60 * 1024 * 1024) + b"</a>")
    assert len(bomba) < 200 * 1024

    [resultado] = importar_bytes(organizacao=org, nome="bomba.zip", conteudo=bomba, origem=Origem.UPLOAD)

    assert resultado.status == "erro" and "limite" in resultado.mensagem
    assert resultado.arquivo.startswith("bomba.zip")
    assert_nada_gravado(org)


def test_a_zip_entry_with_a_path_traversal_name(org, nfe):
    conteudo = zip_com("../../etc/nota.xml", nfe.xml)
    [resultado] = importar_bytes(organizacao=org, nome="lote.zip", conteudo=conteudo, origem=Origem.UPLOAD)
    assert resultado.status == "erro" and "../../etc/nota.xml" in resultado.mensagem
    assert_nada_gravado(org)


def test_iso_8859_1_and_bom_files_import(org, emissor):
    documento = gerar_nfe(certificado=emissor, numero=55, natureza_operacao="VENDA DE AÇÚCAR")
    raiz = etree.fromstring(documento.xml)
    latin1 = etree.tostring(raiz, xml_declaration=True, encoding="ISO-8859-1")
    assert b"A\xc7\xdaCAR" in latin1

    [resultado] = importar_bytes(organizacao=org, nome="latin1.xml", conteudo=latin1, origem=Origem.UPLOAD)
    assert resultado.status == "sucesso", resultado.mensagem
    assert escopo(NFe, org).get().natureza_operacao == "VENDA DE AÇÚCAR"

    com_bom = b"\xef\xbb\xbf" + gerar_nfe(certificado=emissor, numero=56).xml
    [resultado] = importar_bytes(organizacao=org, nome="bom.xml", conteudo=com_bom, origem=Origem.UPLOAD)
    assert resultado.status == "sucesso", resultado.mensagem
