"""Hardened input: every hostile or broken upload gives a readable EntradaInvalida, never a crash."""

from __future__ import annotations

import io
import struct
import threading
import time
import zipfile

import pytest

from core.documentos.entrada import ArquivoXML, EntradaInvalida, Limites, expandir, ler_xml

XML_OK = b'<?xml version="1.0" encoding="UTF-8"?><nfeProc xmlns="http://www.portalfiscal.inf.br/nfe"><a>1</a></nfeProc>'


def fazer_zip(entradas: dict[str, bytes], compressao: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compressao) as arquivo_zip:
        for nome, conteudo in entradas.items():
            if nome.endswith("/"):
                arquivo_zip.writestr(zipfile.ZipInfo(nome), b"")
            else:
                arquivo_zip.writestr(nome, conteudo)
    return buffer.getvalue()


def expandido(conteudo: bytes, nome: str = "lote.zip", **limites: int) -> list[ArquivoXML | EntradaInvalida]:
    return list(expandir(nome, conteudo, Limites(**limites)))


def erros(itens: list) -> list[str]:
    return [str(item) for item in itens if isinstance(item, EntradaInvalida)]


def arquivos(itens: list) -> dict[str, bytes]:
    return {item.nome: item.conteudo for item in itens if isinstance(item, ArquivoXML)}


def motivo_de(conteudo: bytes) -> str:
    with pytest.raises(EntradaInvalida) as exc:
        ler_xml(conteudo, "nota.xml")
    assert exc.value.nome == "nota.xml"
    return str(exc.value)


# --- ler_xml: refusals ------------------------------------------------------------------------------


def test_it_refuses_malformed_xml_with_lxml_position():
    motivo = motivo_de(b"<nfeProc><a>1</b></nfeProc>")
    assert motivo.startswith("nota.xml: não é XML válido (malformado ou truncado): Opening and ending tag mismatch")
    assert "line 1" in motivo and "column" in motivo


def test_it_refuses_a_truncated_file():
    completo = b'<?xml version="1.0"?><NFe xmlns="http://www.portalfiscal.inf.br/nfe"><infNFe><ide><cUF>35</cUF>'
    motivo = motivo_de(completo[:-8])
    assert motivo.startswith("nota.xml: não é XML válido (malformado ou truncado): ")
    assert "Premature end of data" in motivo


def test_it_refuses_any_dtd():
    assert motivo_de(b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>') == "nota.xml: DTD/entidades não são permitidos"
    assert "DTD/entidades não são permitidos" in motivo_de(b"<!DOCTYPE a><a/>")
    assert "DTD/entidades não são permitidos" in motivo_de(b'<!DOCTYPE a SYSTEM "http://example.com/a.dtd"><a/>')


def test_it_never_reads_an_external_entity():
    xxe = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'
    motivo = motivo_de(xxe)
    assert "DTD/entidades não são permitidos" in motivo
    assert "root:" not in motivo


def test_it_never_reads_an_external_parameter_entity():
    xxe = b'<!DOCTYPE a [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><a/>'
    motivo = motivo_de(xxe)
    assert "root:" not in motivo


def test_it_refuses_utf16_dtd():
    conteudo = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'.encode("utf-16")
    assert "DTD/entidades não são permitidos" in motivo_de(conteudo)


def test_it_refuses_billion_laughs_quickly():
    entidades = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">' for n in range(1, 10)
    ]
    bomba = f"<!DOCTYPE lolz [{''.join(entidades)}]><lolz>&lol9;</lolz>".encode()
    inicio = time.monotonic()
    assert "DTD/entidades não são permitidos" in motivo_de(bomba)
    assert time.monotonic() - inicio < 1


def test_it_refuses_an_empty_file():
    assert motivo_de(b"") == "nota.xml: arquivo vazio"
    assert motivo_de(b" \n\t ") == "nota.xml: arquivo vazio"


def test_it_refuses_binary_garbage():
    motivo = motivo_de(b"\x00\x01\x02\xff\xfe garbage \x00")
    assert "não é XML" in motivo


def test_it_refuses_text_that_is_not_xml():
    motivo = motivo_de(b"CNPJ;valor\n123;10,00\n")
    assert motivo.startswith("nota.xml: não é XML:")
    assert "line 1, column 1" in motivo


def test_it_refuses_a_pdf_renamed_to_xml():
    assert "não é XML" in motivo_de(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")


# --- ler_xml: encodings ---------------------------------------------------------------------------


def test_it_accepts_a_utf8_bom():
    raiz = ler_xml(b"\xef\xbb\xbf" + '<?xml version="1.0" encoding="UTF-8"?><a>AÇÚCAR</a>'.encode())
    assert raiz.text == "AÇÚCAR"


def test_it_accepts_a_bom_without_declaration():
    assert ler_xml(b"\xef\xbb\xbf<a>\xc3\x87</a>").text == "Ç"


def test_it_honours_an_iso_8859_1_declaration():
    conteudo = '<?xml version="1.0" encoding="ISO-8859-1"?><xProd>AÇÚCAR CRISTAL</xProd>'.encode("latin-1")
    assert ler_xml(conteudo).text == "AÇÚCAR CRISTAL"


def test_it_honours_a_windows_1252_declaration():
    conteudo = '<?xml version="1.0" encoding="windows-1252"?><x>AÇÚCAR – “1kg”</x>'.encode("cp1252")
    assert ler_xml(conteudo).text == "AÇÚCAR – “1kg”"


def test_it_accepts_utf16_with_bom():
    conteudo = '<?xml version="1.0" encoding="UTF-16"?><x>AÇÚCAR</x>'.encode("utf-16")
    assert conteudo[:2] in (b"\xff\xfe", b"\xfe\xff")
    assert ler_xml(conteudo).text == "AÇÚCAR"


def test_it_accepts_blank_lines_before_the_declaration():
    assert ler_xml(b'\r\n  <?xml version="1.0" encoding="UTF-8"?><a>1</a>').text == "1"
    assert ler_xml(b'\xef\xbb\xbf\n<?xml version="1.0" encoding="UTF-8"?><a>2</a>').text == "2"


def test_it_parses_from_several_threads_at_once():
    resultados: list[str] = []

    def trabalhar() -> None:
        for _ in range(200):
            resultados.append(ler_xml(XML_OK)[0].text)

    threads = [threading.Thread(target=trabalhar) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert resultados == ["1"] * 800


# --- expandir: plain files ------------------------------------------------------------------------


def test_it_yields_a_plain_file_as_is():
    assert expandido(XML_OK, nome="a.xml") == [ArquivoXML("a.xml", XML_OK)]


def test_it_refuses_an_empty_plain_file():
    assert erros(expandido(b"", nome="a.xml")) == ["a.xml: arquivo vazio"]


def test_it_refuses_a_plain_file_over_the_size_limit():
    assert erros(expandido(b"<a>" + b"x" * 2000 + b"</a>", nome="a.xml", max_xml_bytes=1000)) == [
        "a.xml: arquivo maior que o limite de 1000 bytes"
    ]


def test_it_detects_zip_by_magic_bytes_not_extension():
    itens = expandido(fazer_zip({"a.xml": XML_OK}), nome="sem_extensao.xml")
    assert arquivos(itens) == {"sem_extensao.xml/a.xml": XML_OK}


# --- expandir: ZIP happy paths --------------------------------------------------------------------


def test_it_expands_folders_and_nested_zips():
    interno = fazer_zip({"b.xml": b"<b/>", "sub/c.xml": b"<c/>"})
    lote = fazer_zip({"pasta/": b"", "pasta/a.xml": b"<a/>", "interno.zip": interno, "nota.txt": b"<d/>"})
    itens = expandido(lote)
    assert erros(itens) == []
    assert arquivos(itens) == {
        "lote.zip/pasta/a.xml": b"<a/>",
        "lote.zip/interno.zip/b.xml": b"<b/>",
        "lote.zip/interno.zip/sub/c.xml": b"<c/>",
        "lote.zip/nota.txt": b"<d/>",  # the content decides, not the extension
    }


def test_it_skips_macos_junk_and_directories():
    lote = fazer_zip({"__MACOSX/": b"", "__MACOSX/._a.xml": b"\x00\x05", "pasta/.DS_Store": b"\x00", "a.xml": b"<a/>"})
    assert expandido(lote) == [ArquivoXML("lote.zip/a.xml", b"<a/>")]


def test_it_reads_stored_entries_too():
    assert arquivos(expandido(fazer_zip({"a.xml": b"<a/>"}, zipfile.ZIP_STORED))) == {"lote.zip/a.xml": b"<a/>"}


# --- expandir: hostile ZIPs -----------------------------------------------------------------------


def test_it_stops_a_zip_bomb_after_reading_just_past_the_limit():
    bomba = fazer_zip({"bomba.xml": b"\x00" * (50 * 1024 * 1024), "ok.xml": b"<a/>"})
    assert len(bomba) < 200_000
    inicio = time.monotonic()
    itens = expandido(bomba, max_xml_bytes=1024 * 1024)
    assert time.monotonic() - inicio < 2
    assert erros(itens) == ["lote.zip/bomba.xml: entrada maior que o limite de 1048576 bytes"]
    assert arquivos(itens) == {"lote.zip/ok.xml": b"<a/>"}  # one bad entry does not stop the others


def test_it_does_not_trust_a_header_that_understates_the_size():
    mentiroso = bytearray(fazer_zip({"a.xml": b"<a>" + b"x" * 100_000 + b"</a>"}))
    struct.pack_into("<I", mentiroso, 22, 10)  # local header: uncompressed size
    struct.pack_into("<I", mentiroso, mentiroso.find(b"PK\x01\x02") + 24, 10)  # central directory
    assert erros(expandido(bytes(mentiroso))) == [
        "lote.zip/a.xml: entrada corrompida no ZIP (Bad CRC-32 for file 'a.xml')"
    ]


def test_it_refuses_path_traversal_names():
    lote = fazer_zip(
        {
            "../fora.xml": b"<a/>",
            "pasta/../../fora2.xml": b"<a/>",
            "/etc/abs.xml": b"<a/>",
            "C:\\Windows\\x.xml": b"<a/>",
            "pasta\\..\\..\\y.xml": b"<a/>",
            "boa.xml": b"<a/>",
        }
    )
    itens = expandido(lote)
    assert [(item.nome, item.motivo) for item in itens if isinstance(item, EntradaInvalida)] == [
        ("lote.zip/../fora.xml", "caminho com '..' não é permitido no ZIP: ../fora.xml"),
        ("lote.zip/pasta/../../fora2.xml", "caminho com '..' não é permitido no ZIP: pasta/../../fora2.xml"),
        ("lote.zip//etc/abs.xml", "caminho absoluto não é permitido no ZIP: /etc/abs.xml"),
        ("lote.zip/C:\\Windows\\x.xml", "caminho absoluto não é permitido no ZIP: C:\\Windows\\x.xml"),
        ("lote.zip/pasta\\..\\..\\y.xml", "caminho com '..' não é permitido no ZIP: pasta\\..\\..\\y.xml"),
    ]
    assert arquivos(itens) == {"lote.zip/boa.xml": b"<a/>"}


def test_it_refuses_nesting_beyond_the_depth_limit():
    nivel3 = fazer_zip({"fundo.xml": b"<a/>"})
    nivel2 = fazer_zip({"nivel3.zip": nivel3, "b.xml": b"<b/>"})
    lote = fazer_zip({"nivel2.zip": nivel2, "a.xml": b"<a/>"})
    itens = expandido(lote)
    assert erros(itens) == ["lote.zip/nivel2.zip/nivel3.zip: ZIP aninhado além da profundidade máxima (2)"]
    assert arquivos(itens) == {"lote.zip/nivel2.zip/b.xml": b"<b/>", "lote.zip/a.xml": b"<a/>"}


def test_it_refuses_any_nested_zip_with_depth_one():
    lote = fazer_zip({"interno.zip": fazer_zip({"a.xml": b"<a/>"})})
    assert erros(expandido(lote, max_zip_profundidade=1)) == [
        "lote.zip/interno.zip: ZIP aninhado além da profundidade máxima (1)"
    ]


def test_it_refuses_too_many_entries_before_reading_any():
    lote = fazer_zip({f"{n}.xml": b"<a/>" for n in range(5)})
    itens = expandido(lote, max_zip_entradas=3)
    assert len(itens) == 1
    assert erros(itens) == ["lote.zip: ZIP com mais de 3 entradas"]


def test_it_counts_entries_of_nested_zips_against_one_budget():
    interno = fazer_zip({f"{n}.xml": b"<a/>" for n in range(3)})
    lote = fazer_zip({"a.xml": b"<a/>", "interno.zip": interno})
    itens = expandido(lote, max_zip_entradas=4)
    assert erros(itens) == ["lote.zip/interno.zip: ZIP com mais de 4 entradas"]
    assert arquivos(itens) == {"lote.zip/a.xml": b"<a/>"}


def test_it_stops_at_the_total_uncompressed_limit():
    lote = fazer_zip({f"{n}.xml": b"<a>" + b"x" * 393 + b"</a>" for n in range(4)})  # 400 bytes each
    itens = expandido(lote, max_zip_total_bytes=1000)
    assert list(arquivos(itens)) == ["lote.zip/0.xml", "lote.zip/1.xml"]
    assert erros(itens) == ["lote.zip/2.xml: ZIP excede o limite total de 1000 bytes descompactados"]
    assert len(itens) == 3  # nothing after the stop


def test_it_refuses_encrypted_entries():
    cifrado = bytearray(fazer_zip({"segredo.xml": b"<a/>"}))
    struct.pack_into("<H", cifrado, 6, 0x1)  # general purpose flag, local header
    central = cifrado.find(b"PK\x01\x02")
    struct.pack_into("<H", cifrado, central + 8, 0x1)  # and in the central directory
    assert erros(expandido(bytes(cifrado))) == [
        "lote.zip/segredo.xml: entrada criptografada (ZIP com senha não é suportado)"
    ]


def test_it_refuses_a_corrupt_zip_naming_the_file():
    itens = expandido(b"PK\x03\x04" + b"\x00garbage" * 20)
    assert len(itens) == 1
    assert erros(itens)[0].startswith("lote.zip: ZIP corrompido (")


def test_it_refuses_a_truncated_zip():
    itens = expandido(fazer_zip({"a.xml": XML_OK * 50})[:-30])
    assert erros(itens)[0].startswith("lote.zip: ZIP corrompido")


def test_it_reports_a_zip_without_files():
    assert erros(expandido(fazer_zip({}))) == ["lote.zip: ZIP sem arquivos"]
    assert erros(expandido(fazer_zip({"pasta/": b""}))) == ["lote.zip: ZIP sem arquivos"]


def test_it_refuses_an_empty_entry():
    assert erros(expandido(fazer_zip({"a.xml": b""}))) == ["lote.zip/a.xml: arquivo vazio"]


def test_it_reads_limits_from_settings(settings):
    settings.FISCAL_MAX_XML_BYTES = 10
    settings.FISCAL_MAX_ZIP_ENTRIES = 20
    settings.FISCAL_MAX_ZIP_TOTAL_BYTES = 30
    settings.FISCAL_MAX_ZIP_DEPTH = 1
    assert Limites.das_configuracoes() == Limites(10, 20, 30, 1)


def test_it_has_safe_defaults():
    assert Limites() == Limites(5 * 1024 * 1024, 10_000, 512 * 1024 * 1024, 2)


def test_it_never_reads_unbounded_when_the_budget_is_almost_spent(monkeypatch):
    tamanhos: list[int] = []
    ler_original = zipfile.ZipExtFile.read

    def ler(self, n=-1):
        tamanhos.append(n)
        return ler_original(self, n)

    monkeypatch.setattr(zipfile.ZipExtFile, "read", ler)
    lote = fazer_zip({"a.xml": b"<a>" + b"x" * 993 + b"</a>", "b.xml": b"\x00" * 100_000})
    itens = expandido(lote, max_zip_total_bytes=1000)  # a.xml spends it all
    assert list(arquivos(itens)) == ["lote.zip/a.xml"]
    assert erros(itens) == ["lote.zip/b.xml: ZIP excede o limite total de 1000 bytes descompactados"]
    assert min(tamanhos) >= 0  # read(-1) would decompress the whole entry


def test_it_refuses_an_unsupported_compression_method():
    lote = bytearray(fazer_zip({"a.xml": b"<a/>"}))
    struct.pack_into("<H", lote, 8, 99)  # compression method 99 (AES), local header
    struct.pack_into("<H", lote, lote.find(b"PK\x01\x02") + 10, 99)  # and central directory
    [erro] = erros(expandido(bytes(lote)))
    assert erro.startswith("lote.zip/a.xml: método de compressão não suportado")
