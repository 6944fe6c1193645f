"""Hardened input: unpack uploads (plain XML or ZIP, possibly nested) and parse XML safely.

Everything a user uploads passes through here before any reader sees it. Problems with one file or
one ZIP entry become `EntradaInvalida` items, so one bad entry never stops the others.
"""

from __future__ import annotations

import io
import re
import threading
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

ZIP_MAGIC = b"PK\x03\x04"
ZIP_VAZIO_MAGIC = b"PK\x05\x06"  # end-of-central-directory first: an archive with no entries
BOM_UTF8 = b"\xef\xbb\xbf"
BOMS_UTF16 = (b"\xff\xfe", b"\xfe\xff")

# "C:..." or "C:\..." at the start of an entry name: a Windows absolute path.
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class Limites:
    max_xml_bytes: int = 5 * 1024 * 1024
    max_zip_entradas: int = 10_000
    max_zip_total_bytes: int = 512 * 1024 * 1024
    max_zip_profundidade: int = 2  # 1 = a ZIP of XMLs; 2 = also ZIPs inside that ZIP

    @classmethod
    def das_configuracoes(cls) -> Limites:
        from django.conf import settings

        return cls(
            max_xml_bytes=settings.FISCAL_MAX_XML_BYTES,
            max_zip_entradas=settings.FISCAL_MAX_ZIP_ENTRIES,
            max_zip_total_bytes=settings.FISCAL_MAX_ZIP_TOTAL_BYTES,
            max_zip_profundidade=settings.FISCAL_MAX_ZIP_DEPTH,
        )


class EntradaInvalida(ValueError):
    """A file (or ZIP entry) that cannot be imported; the message names the file and the reason."""

    def __init__(self, nome: str, motivo: str) -> None:
        self.nome = nome
        self.motivo = motivo
        super().__init__(f"{nome}: {motivo}" if nome else motivo)


@dataclass(frozen=True)
class ArquivoXML:
    nome: str  # path as the user sees it, e.g. "lote.zip/pasta/a.xml"
    conteudo: bytes


# --------------------------------------------------------------------------------------------------
# Expanding uploads
# --------------------------------------------------------------------------------------------------


class _Orcamento:
    """Entry and byte budget shared by a ZIP and every ZIP nested in it, so nesting cannot multiply it."""

    __slots__ = ("entradas", "bytes")

    def __init__(self, limites: Limites) -> None:
        self.entradas = limites.max_zip_entradas
        self.bytes = limites.max_zip_total_bytes


class _Parar(Exception):
    """Raised inside the recursion when a global limit is hit: the whole upload stops there."""

    def __init__(self, erro: EntradaInvalida) -> None:
        self.erro = erro


def parece_zip(conteudo: bytes) -> bool:
    return conteudo[:4] in (ZIP_MAGIC, ZIP_VAZIO_MAGIC)


def expandir(nome: str, conteudo: bytes, limites: Limites) -> Iterator[ArquivoXML | EntradaInvalida]:
    """Yield every XML candidate in an upload: the file itself, or each entry of a (nested) ZIP."""
    if not parece_zip(conteudo):
        yield _arquivo(nome, conteudo, limites)
        return
    if len(conteudo) > limites.max_zip_total_bytes:
        yield EntradaInvalida(nome, f"ZIP maior que o limite de {limites.max_zip_total_bytes} bytes")
        return
    try:
        yield from _expandir_zip(nome, conteudo, limites, _Orcamento(limites), profundidade=1)
    except _Parar as parada:
        yield parada.erro


def _arquivo(nome: str, conteudo: bytes, limites: Limites) -> ArquivoXML | EntradaInvalida:
    if not conteudo:
        return EntradaInvalida(nome, "arquivo vazio")
    if len(conteudo) > limites.max_xml_bytes:
        return EntradaInvalida(nome, f"arquivo maior que o limite de {limites.max_xml_bytes} bytes")
    return ArquivoXML(nome, conteudo)


def _expandir_zip(
    nome: str, conteudo: bytes, limites: Limites, orcamento: _Orcamento, profundidade: int
) -> Iterator[ArquivoXML | EntradaInvalida]:
    try:
        arquivo_zip = zipfile.ZipFile(io.BytesIO(conteudo))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        yield EntradaInvalida(nome, f"ZIP corrompido ({exc})")
        return
    with arquivo_zip:
        entradas = [info for info in arquivo_zip.infolist() if not _ignorar(info)]
        # Checked up front from the central directory so a million-entry ZIP costs nothing to refuse.
        if len(entradas) > orcamento.entradas:
            raise _Parar(EntradaInvalida(nome, f"ZIP com mais de {limites.max_zip_entradas} entradas"))
        if not entradas:
            yield EntradaInvalida(nome, "ZIP sem arquivos")
            return
        orcamento.entradas -= len(entradas)
        for info in entradas:
            yield from _expandir_entrada(arquivo_zip, info, f"{nome}/{info.filename}", limites, orcamento, profundidade)


def _ignorar(info: zipfile.ZipInfo) -> bool:
    """Directories and the junk macOS/Finder adds: not documents, not errors."""
    nome = info.filename
    if info.is_dir() or nome.endswith(("/", "\\")):
        return True
    partes = re.split(r"[/\\]", nome)
    return "__MACOSX" in partes or partes[-1] == ".DS_Store"


def _expandir_entrada(
    arquivo_zip: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    nome: str,
    limites: Limites,
    orcamento: _Orcamento,
    profundidade: int,
) -> Iterator[ArquivoXML | EntradaInvalida]:
    motivo = _motivo_nome_inseguro(info.filename)
    if motivo:
        yield EntradaInvalida(nome, motivo)
        return
    if info.flag_bits & 0x1:
        yield EntradaInvalida(nome, "entrada criptografada (ZIP com senha não é suportado)")
        return
    try:
        dados = _ler_entrada(arquivo_zip, info, nome, limites, orcamento)
    except EntradaInvalida as erro:
        yield erro
        return
    if not parece_zip(dados):
        yield _arquivo(nome, dados, limites)
        return
    if profundidade >= limites.max_zip_profundidade:
        yield EntradaInvalida(nome, f"ZIP aninhado além da profundidade máxima ({limites.max_zip_profundidade})")
        return
    yield from _expandir_zip(nome, dados, limites, orcamento, profundidade + 1)


def _motivo_nome_inseguro(nome: str) -> str:
    """Path traversal names: absolute, drive-lettered, or climbing out with '..' (either slash)."""
    # The raw name is repeated in the reason: callers may show the reason apart from the path.
    if nome.startswith(("/", "\\")) or _DRIVE.match(nome):
        return f"caminho absoluto não é permitido no ZIP: {nome}"
    if ".." in re.split(r"[/\\]", nome):
        return f"caminho com '..' não é permitido no ZIP: {nome}"
    if "\x00" in nome:
        return "nome de entrada inválido no ZIP"
    return ""


def _ler_entrada(
    arquivo_zip: zipfile.ZipFile, info: zipfile.ZipInfo, nome: str, limites: Limites, orcamento: _Orcamento
) -> bytes:
    """Decompress at most limit+1 bytes: the header's file_size is never trusted (ZIP bombs lie)."""
    try:
        with arquivo_zip.open(info) as entrada:
            cabeca = entrada.read(4)
            # A nested ZIP may legitimately exceed one XML's size; it is bounded by the total budget.
            limite = orcamento.bytes if cabeca in (ZIP_MAGIC, ZIP_VAZIO_MAGIC) else limites.max_xml_bytes
            limite = min(limite, orcamento.bytes)
            # max(): read() with a negative size would read everything.
            dados = cabeca + entrada.read(max(limite + 1 - len(cabeca), 0))
    except NotImplementedError as exc:  # before RuntimeError, its base class
        raise EntradaInvalida(nome, f"método de compressão não suportado ({exc})") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError) as exc:
        raise EntradaInvalida(nome, f"entrada corrompida no ZIP ({exc})") from exc
    if len(dados) > orcamento.bytes:
        raise _Parar(
            EntradaInvalida(nome, f"ZIP excede o limite total de {limites.max_zip_total_bytes} bytes descompactados")
        )
    if len(dados) > limite:
        raise EntradaInvalida(nome, f"entrada maior que o limite de {limites.max_xml_bytes} bytes")
    orcamento.bytes -= len(dados)
    return dados


# --------------------------------------------------------------------------------------------------
# Parsing XML
# --------------------------------------------------------------------------------------------------

MOTIVO_DTD = "DTD/entidades não são permitidos"
_MARCAS_DOCTYPE = (b"<!DOCTYPE", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"))

_local = threading.local()


def _parser() -> etree.XMLParser:
    """One hardened parser per thread: lxml parsers must not be shared between threads at once."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,  # XXE and billion laughs: entities are never expanded
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,  # keeps libxml2's depth and text-size limits
            remove_comments=False,
            remove_blank_text=False,
        )
        _local.parser = parser
    return parser


def ler_xml(conteudo: bytes, nome: str = "") -> etree._Element:
    """Parse bytes (so the XML declaration picks the encoding) and refuse any DTD or entity."""
    conteudo = _sem_espacos_iniciais(conteudo)
    if not conteudo:
        raise EntradaInvalida(nome, "arquivo vazio")
    try:
        raiz = etree.fromstring(conteudo, _parser())
    except etree.XMLSyntaxError as exc:
        # libxml2 may itself abort an entity bomb; the user still gets the DTD message.
        motivo = MOTIVO_DTD if _tem_doctype(conteudo) else _motivo_sintaxe(conteudo, exc)
        raise EntradaInvalida(nome, motivo) from None
    docinfo = raiz.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise EntradaInvalida(nome, MOTIVO_DTD)
    return raiz


def _tem_doctype(conteudo: bytes) -> bool:
    return any(marca in conteudo for marca in _MARCAS_DOCTYPE)


def _sem_espacos_iniciais(conteudo: bytes) -> bytes:
    """Some emitters put blank lines before '<?xml', which libxml2 refuses; drop them (UTF-8 only)."""
    if conteudo[:1].isspace():
        return conteudo.lstrip()
    if conteudo.startswith(BOM_UTF8) and conteudo[3:4].isspace():
        return BOM_UTF8 + conteudo[3:].lstrip()
    return conteudo


def _motivo_sintaxe(conteudo: bytes, exc: etree.XMLSyntaxError) -> str:
    mensagem = exc.msg or str(exc)
    if b"\x00" in conteudo[:1024] and not conteudo.startswith(BOMS_UTF16):
        return f"não é XML (conteúdo binário): {mensagem}"
    inicio = conteudo[3:] if conteudo.startswith(BOM_UTF8) else conteudo
    if inicio.startswith(b"<") or conteudo.startswith(BOMS_UTF16):
        return f"não é XML válido (malformado ou truncado): {mensagem}"
    return f"não é XML: {mensagem}"
