"""Hardened input: every hostile or broken upload gives a readable EntradaInvalida, never a crash."""

from __future__ import annotations

import hashlib
import io
import mmap
import struct
import threading
import time
import zipfile

import pytest

from core.documentos import entrada
from core.documentos.entrada import ArquivoXML, EntradaInvalida, Limites, expandir, mapear, medir
from core.documentos.xml_seguro import ler_xml

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
    settings.FISCAL_MAX_ZIP_ERROS = 7
    assert Limites.das_configuracoes() == Limites(10, 20, 30, 1, 7)


def test_it_has_safe_defaults():
    assert Limites() == Limites(5 * 1024 * 1024, 10_000, 512 * 1024 * 1024, 2, 100)


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


# --- what a refusal keeps for the record ------------------------------------------------------------


def test_a_refusal_still_takes_just_a_name_and_a_reason():
    erro = EntradaInvalida("a.xml", "motivo")
    assert (str(erro), erro.conteudo, erro.tamanho, erro.sha256) == ("a.xml: motivo", None, None, "")


def test_a_refused_entry_read_whole_keeps_its_bytes():
    interno = fazer_zip({"a.xml": b"<a/>"})
    lote = fazer_zip({"../fora.xml": b"<fora/>", "vazio.xml": b"", "n2.zip": fazer_zip({"n3.zip": interno})})
    itens = {item.nome: item for item in expandido(lote)}
    assert itens["lote.zip/../fora.xml"].conteudo == b"<fora/>"
    assert itens["lote.zip/vazio.xml"].conteudo == b""
    assert itens["lote.zip/n2.zip/n3.zip"].conteudo == interno  # nested too deep: its bytes, not its entries


def test_an_entry_over_the_size_limit_keeps_its_real_size_and_sha256_not_its_bytes():
    grande = b"<a>" + b"x" * 5000 + b"</a>"
    [erro] = erros_de(expandido(fazer_zip({"grande.xml": grande}), max_xml_bytes=1000))
    assert erro.motivo == "entrada maior que o limite de 1000 bytes"
    assert (erro.conteudo, erro.tamanho, erro.sha256) == (None, len(grande), hashlib.sha256(grande).hexdigest())


def test_an_entry_too_big_to_measure_within_the_budget_keeps_its_declared_size():
    lote = fazer_zip({"grande.xml": b"\x00" * 50_000})
    [erro] = erros_de(expandido(lote, max_xml_bytes=1000, max_zip_total_bytes=20_000))
    assert (erro.motivo, erro.tamanho, erro.sha256) == ("entrada maior que o limite de 1000 bytes", 50_000, "")


def test_a_plain_file_over_the_limit_keeps_its_size_and_sha256():
    grande = b"<a>" + b"x" * 2000 + b"</a>"
    [erro] = expandido(grande, nome="a.xml", max_xml_bytes=1000)
    assert (erro.tamanho, erro.sha256, erro.conteudo) == (len(grande), hashlib.sha256(grande).hexdigest(), None)


def test_a_corrupt_zip_keeps_its_bytes():
    corrompido = b"PK\x03\x04" + b"\x00garbage" * 20
    [erro] = expandido(corrompido)
    assert erro.conteudo == corrompido


# --- one budget, refused entries included -----------------------------------------------------------


def test_refused_entries_spend_the_budget_too():
    recusadas = {f"{n}.xml": b"<a>" + b"x" * 1493 + b"</a>" for n in range(2)}  # 1500 bytes, over 1000
    lote = fazer_zip({**recusadas, "boa.xml": b"<a>" + b"x" * 593 + b"</a>"})  # 600 bytes, would fit alone

    itens = expandido(lote, max_xml_bytes=1000, max_zip_total_bytes=3500)

    assert arquivos(itens) == {}
    assert erros(itens)[-1] == "lote.zip/boa.xml: ZIP excede o limite total de 3500 bytes descompactados"


def test_an_entry_declaring_more_than_the_budget_left_is_refused_unread(monkeypatch):
    lidos: list[int] = []
    ler_original = zipfile.ZipExtFile.read
    monkeypatch.setattr(zipfile.ZipExtFile, "read", lambda self, n=-1: lidos.append(n) or ler_original(self, n))

    lote = fazer_zip({"bomba.xml": b"\x00" * 10_000_000})
    [erro] = erros_de(expandido(lote, max_xml_bytes=1000, max_zip_total_bytes=1_000_000))

    assert (erro.motivo, erro.tamanho) == ("entrada maior que o limite de 1000 bytes", 10_000_000)
    assert sum(lidos) <= 4  # only the first bytes, to tell a nested ZIP apart


def test_one_upload_shares_one_budget_across_its_files():
    limites = Limites(max_zip_total_bytes=1000).para_um_envio()
    primeiro = list(expandir("a.zip", fazer_zip({"a.xml": b"<a>" + b"x" * 893 + b"</a>"}), limites))  # 900 bytes
    segundo = list(expandir("b.zip", fazer_zip({"b.xml": b"<b>" + b"x" * 193 + b"</b>"}), limites))
    terceiro = list(expandir("c.xml", b"<c/>", limites))

    assert arquivos(primeiro) == {"a.zip/a.xml": b"<a>" + b"x" * 893 + b"</a>"}
    assert erros(segundo) == ["b.zip/b.xml: ZIP excede o limite total de 1000 bytes descompactados"]
    [erro] = terceiro
    assert erro.motivo.startswith("não lido: o envio foi interrompido antes deste arquivo (ZIP excede o limite")
    assert erro.conteudo == b"<c/>"


def test_each_call_has_its_own_budget_without_para_um_envio():
    limites = Limites(max_zip_total_bytes=1000)
    xml = b"<a>" + b"x" * 893 + b"</a>"
    assert [arquivos(list(expandir(f"{n}.zip", fazer_zip({"a.xml": xml}), limites))) for n in range(2)] == [
        {"0.zip/a.xml": xml},
        {"1.zip/a.xml": xml},
    ]


# --- a bounded number of errors -------------------------------------------------------------------


def test_past_the_error_limit_the_upload_stops_with_one_error_that_counts_them():
    lote = fazer_zip({**{f"{n}.xml": b"" for n in range(10)}, "boa.xml": b"<a/>"})

    itens = expandido(lote, max_zip_erros=3)

    assert erros(itens) == [
        "lote.zip/0.xml: arquivo vazio",
        "lote.zip/1.xml: arquivo vazio",
        "lote.zip/2.xml: arquivo vazio",
        "lote.zip: importação interrompida: 4 entradas recusadas, mais que o limite de 3 por envio (4 × arquivo vazio)",
    ]
    assert arquivos(itens) == {}  # nothing after the stop


def test_the_error_summary_names_the_commonest_reasons():
    lote = fazer_zip({"a.xml": b"", "b.xml": b"", "../c.xml": b"<c/>", "d.xml": b"<d>" + b"x" * 2000 + b"</d>"})
    resumo = erros(expandido(lote, max_xml_bytes=1000, max_zip_erros=3))[-1]
    assert resumo == (
        "lote.zip: importação interrompida: 4 entradas recusadas, mais que o limite de 3 por envio "
        "(2 × arquivo vazio; 1 × caminho com '..' não é permitido no ZIP: ../c.xml; "
        "1 × entrada maior que o limite de 1000 bytes)"
    )


# --- the central directory is counted before zipfile builds it -------------------------------------


def test_a_directory_with_far_more_records_than_entries_allowed_is_refused_before_zipfile_reads_it(monkeypatch):
    lote = fazer_zip({f"{n}.xml": b"<a/>" for n in range(300)})

    def proibido(*args, **kwargs):
        raise AssertionError("zipfile.ZipFile would build every record")

    monkeypatch.setattr(zipfile, "ZipFile", proibido)
    assert erros(expandido(lote, max_zip_entradas=10)) == ["lote.zip: ZIP com mais de 10 entradas"]


def test_it_finds_the_directory_behind_an_archive_comment_and_a_prefix():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as arquivo_zip:
        arquivo_zip.writestr("a.xml", b"<a/>")
        arquivo_zip.comment = b"lote de teste " * 100
    assert arquivos(expandido(buffer.getvalue())) == {"lote.zip/a.xml": b"<a/>"}
    # Two archives end to end: zipfile reads the last one, its offsets shifted by the first.
    emendado = fazer_zip({"primeiro.xml": b"<p/>"}) + fazer_zip({"segundo.xml": b"<s/>"})
    assert arquivos(expandido(emendado)) == {"lote.zip/segundo.xml": b"<s/>"}
    assert erros(expandido(b"PK\x03\x04")) == ["lote.zip: ZIP corrompido (diretório central não encontrado)"]


def test_it_reads_zip64_archives():
    assert arquivos(expandido(com_fim_zip64(fazer_zip({"a.xml": b"<a/>", "b.xml": b"<b/>"})))) == {
        "lote.zip/a.xml": b"<a/>",
        "lote.zip/b.xml": b"<b/>",
    }


def test_it_counts_the_records_of_a_zip64_directory_too(monkeypatch):
    lote = com_fim_zip64(fazer_zip({f"{n}.xml": b"<a/>" for n in range(300)}))
    monkeypatch.setattr(zipfile, "ZipFile", None)  # never reached
    assert erros(expandido(lote, max_zip_entradas=10)) == ["lote.zip: ZIP com mais de 10 entradas"]


def com_fim_zip64(conteudo: bytes) -> bytes:
    """The same archive with its end in the ZIP64 form (APPNOTE 4.3.14-4.3.15), as tools write it
    for archives over 4 GiB or 65535 entries."""
    corpo, fim = conteudo[:-22], conteudo[-22:]
    _, _, _, _, entradas, tamanho, inicio, _ = struct.unpack("<4s4H2LH", fim)
    registro = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entradas, entradas, tamanho, inicio)
    localizador = struct.pack("<4sLQL", b"PK\x06\x07", 0, len(corpo), 1)
    novo_fim = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return corpo + registro + localizador + novo_fim


# --- buffers backed by files ------------------------------------------------------------------------


def test_it_reads_a_zip_through_a_file_mapping_and_lets_it_close(tmp_path):
    interno = fazer_zip({"b.xml": b"<b/>"})
    caminho = tmp_path / "lote.zip"
    caminho.write_bytes(fazer_zip({"a.xml": b"<a/>", "interno.zip": interno}))
    with caminho.open("rb") as arquivo:
        mapa = mapear(arquivo)
    itens = expandido(mapa)
    mapa.close()  # no view of it is left behind
    assert isinstance(mapa, mmap.mmap)
    assert arquivos(itens) == {"lote.zip/a.xml": b"<a/>", "lote.zip/interno.zip/b.xml": b"<b/>"}


def test_a_nested_zip_is_spooled_to_disk_past_a_small_threshold(monkeypatch):
    tamanhos_maximos: list[int] = []
    espalhar = entrada._espalhar

    def espiao(*args, **kwargs):
        arquivo = espalhar(*args, **kwargs)
        tamanhos_maximos.append(arquivo._max_size)
        return arquivo

    monkeypatch.setattr(entrada, "_espalhar", espiao)
    assert arquivos(expandido(fazer_zip({"interno.zip": fazer_zip({"a.xml": b"<a/>"})})))
    assert tamanhos_maximos == [entrada.LIMIAR_EM_MEMORIA] and entrada.LIMIAR_EM_MEMORIA <= 1024 * 1024


def test_medir_streams_size_and_sha256(tmp_path):
    caminho = tmp_path / "a.bin"
    caminho.write_bytes(b"x" * 700_000)
    with caminho.open("rb") as arquivo:
        assert medir(arquivo) == (700_000, hashlib.sha256(b"x" * 700_000).hexdigest())


def erros_de(itens: list) -> list[EntradaInvalida]:
    return [item for item in itens if isinstance(item, EntradaInvalida)]


def test_a_nested_zip_larger_than_the_threshold_is_read_from_its_temporary_file():
    xml = b"<a>" + bytes(range(256)) * 2400 + b"</a>"  # ~600 KB, stored: the inner ZIP passes 1 MiB
    interno = fazer_zip({f"{n}.xml": xml for n in range(3)}, zipfile.ZIP_STORED)
    assert len(interno) > entrada.LIMIAR_EM_MEMORIA
    itens = expandido(fazer_zip({"interno.zip": interno}))
    assert arquivos(itens) == {f"lote.zip/interno.zip/{n}.xml": xml for n in range(3)}
