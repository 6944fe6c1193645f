"""Bad input through the whole pipeline: a clear error in the ImportLog, and nothing else saved."""

import hashlib
import io
import mmap
import zipfile

import pytest
from lxml import etree

from core.documentos.chave import calcular_digito
from core.documentos.importacao import importar, importar_bytes
from core.documentos.lote import ler_arquivo
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


# --- refused for size: the log keeps the real size and SHA-256, never the bytes ---------------------


def test_a_zip_entry_over_the_size_limit_is_logged_with_its_size_and_sha256(org, nfe, settings):
    settings.FISCAL_MAX_XML_BYTES = len(nfe.xml) - 1

    [resultado] = importar_bytes(organizacao=org, nome="lote.zip", conteudo=zip_com("n.xml", nfe.xml), origem=Origem.UPLOAD)

    assert (resultado.status, resultado.arquivo) == ("erro", "lote.zip/n.xml")
    log = escopo(ImportLog, org).get()
    assert (log.tamanho, log.sha256, log.xml_id) == (len(nfe.xml), hashlib.sha256(nfe.xml).hexdigest(), None)
    assert_nada_gravado(org)


def test_the_folder_never_reads_a_file_over_the_limit(org, nfe, settings, tmp_path, monkeypatch):
    settings.FISCAL_MAX_XML_BYTES = len(nfe.xml) - 1
    caminho = tmp_path / "grande.xml"
    caminho.write_bytes(nfe.xml)
    monkeypatch.setattr(type(caminho), "read_bytes", lambda self: pytest.fail(f"{self} was read whole"))

    entrada = ler_arquivo(caminho)
    [resultado] = importar(organizacao=org, entradas=[entrada], origem=Origem.PASTA)

    assert (entrada.conteudo, entrada.tamanho, entrada.sha256) == (b"", len(nfe.xml), hashlib.sha256(nfe.xml).hexdigest())
    assert resultado.mensagem == f"arquivo de {len(nfe.xml)} bytes, acima do limite de {len(nfe.xml) - 1} bytes"
    log = escopo(ImportLog, org).get()
    assert (log.tamanho, log.sha256) == (entrada.tamanho, entrada.sha256)


def test_the_folder_reads_a_zip_larger_than_one_xml_from_a_mapped_copy(org, emissor, settings, tmp_path):
    notas = [gerar_nfe(certificado=emissor, numero=n) for n in (7001, 7002)]
    caminho = tmp_path / "lote.zip"
    with zipfile.ZipFile(caminho, "w", zipfile.ZIP_STORED) as arquivo_zip:
        for nota in notas:
            arquivo_zip.writestr(f"{nota.chave}.xml", nota.xml)
    settings.FISCAL_MAX_XML_BYTES = max(len(n.xml) for n in notas)  # the ZIP itself is larger

    entrada = ler_arquivo(caminho)
    caminho.write_bytes(b"")  # the original shrinks while it is imported: the copy is what is read
    resultados = list(importar(organizacao=org, entradas=[entrada], origem=Origem.PASTA))

    assert isinstance(entrada.conteudo, mmap.mmap)
    assert [r.status for r in resultados] == ["sucesso", "sucesso"]
    assert set(escopo(NFe, org).values_list("chave", flat=True)) == {n.chave for n in notas}


def test_the_folder_refuses_a_zip_over_the_total_limit_naming_it(org, nfe, settings, tmp_path):
    settings.FISCAL_MAX_XML_BYTES = settings.FISCAL_MAX_ZIP_TOTAL_BYTES = 100
    caminho = tmp_path / "lote.zip"
    caminho.write_bytes(zip_com("n.xml", nfe.xml))

    entrada = ler_arquivo(caminho)

    assert entrada.erro == f"ZIP de {caminho.stat().st_size} bytes, acima do limite de 100 bytes"
    assert entrada.sha256 == hashlib.sha256(caminho.read_bytes()).hexdigest()


def test_an_unreadable_file_in_the_folder_is_an_error_of_that_file(tmp_path):
    assert ler_arquivo(tmp_path / "sumiu.xml").erro == "não foi possível ler o arquivo: No such file or directory"
