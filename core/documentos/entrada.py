"""Hardened input: unpack uploads (plain XML or ZIP, possibly nested); `xml_seguro` parses each XML.

Everything a user uploads passes through here before any reader sees it. Problems with one file or
one ZIP entry become `EntradaInvalida` items, so one bad entry never stops the others.

One upload has one budget (`Orcamento`): ZIP entries, decompressed bytes and refused entries. Every
entry spends from it, refused ones included, at every nesting level, so a small hostile ZIP cannot
buy more work than a large honest one. Memory stays bounded whatever the input: an XML is held whole
only up to FISCAL_MAX_XML_BYTES, a nested ZIP is spooled to a temporary file, and an entry refused for
size is streamed through SHA-256 instead of being kept.
"""

from __future__ import annotations

import hashlib
import io
import mmap
import re
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

ZIP_MAGIC = b"PK\x03\x04"
ZIP_VAZIO_MAGIC = b"PK\x05\x06"  # end-of-central-directory first: an archive with no entries

# "C:..." or "C:\..." at the start of an entry name: a Windows absolute path.
_DRIVE = re.compile(r"^[A-Za-z]:")

PEDACO = 256 * 1024  # decompression step: the budget is checked between steps
LIMIAR_EM_MEMORIA = 1024 * 1024  # a nested ZIP larger than this goes to a temporary file


@dataclass(frozen=True)
class Limites:
    max_xml_bytes: int = 5 * 1024 * 1024
    max_zip_entradas: int = 10_000
    max_zip_total_bytes: int = 512 * 1024 * 1024
    max_zip_profundidade: int = 2  # 1 = a ZIP of XMLs; 2 = also ZIPs inside that ZIP
    max_zip_erros: int = 100  # refused entries one upload may report one by one before it stops
    # Set by `para_um_envio()`: one budget for every file of one upload instead of one per file.
    orcamento: Orcamento | None = field(default=None, compare=False, repr=False)

    @classmethod
    def das_configuracoes(cls) -> Limites:
        from django.conf import settings

        return cls(
            max_xml_bytes=settings.FISCAL_MAX_XML_BYTES,
            max_zip_entradas=settings.FISCAL_MAX_ZIP_ENTRIES,
            max_zip_total_bytes=settings.FISCAL_MAX_ZIP_TOTAL_BYTES,
            max_zip_profundidade=settings.FISCAL_MAX_ZIP_DEPTH,
            max_zip_erros=settings.FISCAL_MAX_ZIP_ERROS,
        )

    def para_um_envio(self) -> Limites:
        """These limits with one budget shared by every file expanded with them (one API upload)."""
        return replace(self, orcamento=Orcamento(self))

    @property
    def max_arquivo_bytes(self) -> int:
        """The largest file worth receiving: a ZIP within the total budget, or one XML."""
        return max(self.max_zip_total_bytes, self.max_xml_bytes)


class EntradaInvalida(ValueError):
    """A file (or ZIP entry) that cannot be imported; the message names the file and the reason.

    What was received, for the record: `conteudo` holds the bytes when they were read whole within
    the limits; otherwise `tamanho` and `sha256` describe them (the real size and digest when they
    could be streamed within the budget, else the size the ZIP declares and "").
    """

    def __init__(
        self, nome: str, motivo: str, *, conteudo: bytes | None = None, tamanho: int | None = None, sha256: str = ""
    ) -> None:
        self.nome = nome
        self.motivo = motivo
        self.conteudo = conteudo
        self.tamanho = len(conteudo) if tamanho is None and conteudo is not None else tamanho
        self.sha256 = sha256
        super().__init__(f"{nome}: {motivo}" if nome else motivo)


@dataclass(frozen=True)
class ArquivoXML:
    nome: str  # path as the user sees it, e.g. "lote.zip/pasta/a.xml"
    conteudo: bytes


# --------------------------------------------------------------------------------------------------
# Expanding uploads
# --------------------------------------------------------------------------------------------------


class Orcamento:
    """What one upload may still spend, shared by all its files and all nesting levels.

    Entries and decompressed bytes are spent as they are read, whether the entry is then accepted or
    refused; refusals are counted so that a wide hostile ZIP ends in one error instead of thousands.
    """

    def __init__(self, limites: Limites) -> None:
        self.entradas = limites.max_zip_entradas
        self.bytes = limites.max_zip_total_bytes
        self.max_erros = limites.max_zip_erros
        self.recusas: Counter[str] = Counter()
        self.parada: EntradaInvalida | None = None  # why the upload stopped: nothing more is read

    def gastar(self, quantidade: int) -> bool:
        if quantidade > self.bytes:
            return False
        self.bytes -= quantidade
        return True

    def recusar(self, erro: EntradaInvalida, nome_do_envio: str) -> EntradaInvalida:
        """Count one refusal; past the limit the upload stops with one error that sums them up."""
        self.recusas[erro.motivo] += 1
        total = sum(self.recusas.values())
        if total <= self.max_erros:
            return erro
        motivos = "; ".join(f"{n} × {motivo}" for motivo, n in self.recusas.most_common(3))
        if len(self.recusas) > 3:
            motivos += "; e outros"
        raise _Parar(
            EntradaInvalida(
                nome_do_envio,
                f"importação interrompida: {total} entradas recusadas, mais que o limite de {self.max_erros} "
                f"por envio ({motivos})",
            )
        )


class _Parar(Exception):
    """Raised inside the recursion when a global limit is hit: the whole upload stops there."""

    def __init__(self, erro: EntradaInvalida) -> None:
        self.erro = erro


class _SemOrcamento(Exception):
    """The bytes just read were more than the budget had left (which is now spent)."""


def parece_zip(conteudo) -> bool:
    return bytes(conteudo[:4]) in (ZIP_MAGIC, ZIP_VAZIO_MAGIC)


def expandir(nome: str, conteudo, limites: Limites) -> Iterator[ArquivoXML | EntradaInvalida]:
    """Yield every XML candidate in an upload: the file itself, or each entry of a (nested) ZIP.

    `conteudo` is bytes or any buffer, such as an mmap of an uploaded file: a ZIP is read from it in
    steps, never copied whole. With `limites.para_um_envio()` every call shares one budget.
    """
    orcamento = limites.orcamento or Orcamento(limites)
    if orcamento.parada is not None:
        motivo = f"não lido: o envio foi interrompido antes deste arquivo ({orcamento.parada.motivo})"
        yield _recusa_do_arquivo(nome, conteudo, motivo, limites)
        return
    try:
        for item in _expandir(nome, conteudo, limites, orcamento):
            if isinstance(item, EntradaInvalida):
                item = orcamento.recusar(item, nome)
            yield item
    except _Parar as parada:
        orcamento.parada = parada.erro
        yield parada.erro


def _expandir(nome: str, conteudo, limites: Limites, orcamento: Orcamento) -> Iterator[ArquivoXML | EntradaInvalida]:
    if not parece_zip(conteudo):
        yield _arquivo(nome, conteudo, limites, orcamento)
        return
    if len(conteudo) > limites.max_zip_total_bytes:
        yield EntradaInvalida(nome, f"ZIP maior que o limite de {limites.max_zip_total_bytes} bytes", tamanho=len(conteudo))
        return
    with _como_arquivo(conteudo) as fonte:
        yield from _expandir_zip(nome, fonte, limites, orcamento, profundidade=1)


def _arquivo(nome: str, conteudo, limites: Limites, orcamento: Orcamento) -> ArquivoXML | EntradaInvalida:
    tamanho = len(conteudo)
    if not tamanho:
        return EntradaInvalida(nome, "arquivo vazio", conteudo=b"")
    if tamanho > limites.max_xml_bytes:
        sha256 = hashlib.sha256(conteudo).hexdigest() if orcamento.gastar(tamanho) else ""
        motivo = f"arquivo maior que o limite de {limites.max_xml_bytes} bytes"
        return EntradaInvalida(nome, motivo, tamanho=tamanho, sha256=sha256)
    if not orcamento.gastar(tamanho):
        motivo = f"o envio excede o limite total de {limites.max_zip_total_bytes} bytes descompactados"
        raise _Parar(EntradaInvalida(nome, motivo, conteudo=bytes(conteudo)))
    return ArquivoXML(nome, bytes(conteudo))


def mapear(arquivo) -> mmap.mmap | bytes:
    """A file's bytes as a read-only buffer the pipeline reads in steps, never as a whole copy.

    Only for a file nothing else writes (a temporary file): a mapped file that shrinks kills the
    process that reads it.
    """
    if arquivo.seek(0, io.SEEK_END) == 0:
        return b""  # an empty file cannot be mapped
    if arquivo.writable():
        arquivo.flush()  # what was written must be in the file before it is mapped
    return mmap.mmap(arquivo.fileno(), 0, access=mmap.ACCESS_READ)


def copia_mapeada(arquivo) -> mmap.mmap | bytes:
    """`mapear` over a private copy of a file others may change (a folder being imported)."""
    with tempfile.TemporaryFile() as copia:
        arquivo.seek(0)
        shutil.copyfileobj(arquivo, copia, PEDACO)
        return mapear(copia)  # the mapping keeps the unlinked copy alive until it is closed


def medir(arquivo) -> tuple[int, str]:
    """Size and SHA-256 of a file, streamed: for the record of a file too big to be read."""
    arquivo.seek(0)
    resumo, tamanho = hashlib.sha256(), 0
    while pedaco := arquivo.read(PEDACO):
        resumo.update(pedaco)
        tamanho += len(pedaco)
    return tamanho, resumo.hexdigest()


def _recusa_do_arquivo(nome: str, conteudo, motivo: str, limites: Limites) -> EntradaInvalida:
    if len(conteudo) <= limites.max_xml_bytes:
        return EntradaInvalida(nome, motivo, conteudo=bytes(conteudo))
    return EntradaInvalida(nome, motivo, tamanho=len(conteudo))


def _como_arquivo(conteudo) -> io.RawIOBase | io.BytesIO:
    if isinstance(conteudo, bytes):
        return io.BytesIO(conteudo)  # shares the bytes object, no copy
    return _LeitorDeBuffer(conteudo)


class _LeitorDeBuffer(io.RawIOBase):
    """A seekable file over any buffer (an mmap of an upload) that copies only what is read from it."""

    def __init__(self, buffer) -> None:
        super().__init__()
        self._dados = memoryview(buffer).cast("B")
        self._posicao = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._posicao

    def seek(self, deslocamento: int, de: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._posicao, io.SEEK_END: len(self._dados)}[de]
        self._posicao = max(0, base + deslocamento)
        return self._posicao

    def readinto(self, destino) -> int:
        pedaco = self._dados[self._posicao : self._posicao + len(destino)]
        destino[: len(pedaco)] = pedaco
        self._posicao += len(pedaco)
        return len(pedaco)

    def close(self) -> None:
        if not self.closed:
            self._dados.release()  # the mmap under it can be closed only once no view is left
        super().close()


def _expandir_zip(
    nome: str, fonte, limites: Limites, orcamento: Orcamento, profundidade: int
) -> Iterator[ArquivoXML | EntradaInvalida]:
    registros = _registros_no_diretorio(fonte, maximo=_registros_permitidos(orcamento))
    if registros is None:
        yield EntradaInvalida(nome, "ZIP corrompido (diretório central não encontrado)", **_retrato(fonte, limites, orcamento))
        return
    if registros > _registros_permitidos(orcamento):
        motivo = f"ZIP com mais de {limites.max_zip_entradas} entradas"
        raise _Parar(EntradaInvalida(nome, motivo, **_retrato(fonte, limites, orcamento)))
    try:
        arquivo_zip = zipfile.ZipFile(fonte)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, NotImplementedError) as exc:
        yield EntradaInvalida(nome, f"ZIP corrompido ({exc})", **_retrato(fonte, limites, orcamento))
        return
    with arquivo_zip:
        entradas = [info for info in arquivo_zip.infolist() if not _ignorar(info)]
        if len(entradas) > orcamento.entradas:
            motivo = f"ZIP com mais de {limites.max_zip_entradas} entradas"
            raise _Parar(EntradaInvalida(nome, motivo, **_retrato(fonte, limites, orcamento)))
        if not entradas:
            yield EntradaInvalida(nome, "ZIP sem arquivos", **_retrato(fonte, limites, orcamento))
            return
        orcamento.entradas -= len(entradas)
        for info in entradas:
            yield from _expandir_entrada(arquivo_zip, info, f"{nome}/{info.filename}", limites, orcamento, profundidade)


def _registros_permitidos(orcamento: Orcamento) -> int:
    # Directories and macOS junk are records too, but not entries: room for one per entry.
    return 2 * orcamento.entradas + 100


def _retrato(fonte, limites: Limites, orcamento: Orcamento) -> dict:
    """What a refused ZIP leaves for the record: its bytes when small, else its size and SHA-256."""
    tamanho = fonte.seek(0, io.SEEK_END)
    fonte.seek(0)
    if tamanho <= limites.max_xml_bytes:
        return {"conteudo": fonte.read()}
    if not orcamento.gastar(tamanho):
        return {"tamanho": tamanho}
    resumo = hashlib.sha256()
    while pedaco := fonte.read(PEDACO):
        resumo.update(pedaco)
    return {"tamanho": tamanho, "sha256": resumo.hexdigest()}


# The end of a ZIP (APPNOTE.TXT 4.3.16, 4.3.14, 4.3.15): where zipfile finds the central directory.
_FIM = struct.Struct("<4s4H2LH")
_FIM_ZIP64 = struct.Struct("<4sQ2H2L4Q")
_LOCALIZADOR_ZIP64 = 20
_REGISTRO_CENTRAL = 46
_BYTES_POR_REGISTRO = 1024  # a 46-byte header, a path and its extra fields: far more than real ones use


def _registros_no_diretorio(fonte, maximo: int) -> int | None:
    """Records in the central directory, counted up to `maximo` + 1 without building them.

    zipfile reads the whole directory and builds one object per record before anyone can count
    them, so a small ZIP declaring a million empty records would cost gigabytes there. None: there
    is no directory to read.
    """
    diretorio = _diretorio_central(fonte)
    if diretorio is None:
        return None
    inicio, tamanho = diretorio
    if tamanho > (maximo + 1) * _BYTES_POR_REGISTRO:
        return maximo + 1
    contados = lidos = 0
    while lidos < tamanho and contados <= maximo:
        fonte.seek(inicio + lidos)
        cabecalho = fonte.read(_REGISTRO_CENTRAL)
        if len(cabecalho) < _REGISTRO_CENTRAL or cabecalho[:4] != b"PK\x01\x02":
            break  # zipfile stops here too, calling the ZIP corrupt
        nome, extra, comentario = struct.unpack_from("<3H", cabecalho, 28)
        lidos += _REGISTRO_CENTRAL + nome + extra + comentario
        contados += 1
    return contados


def _diretorio_central(fonte) -> tuple[int, int] | None:
    """(offset, size) of the central directory, found the way zipfile finds it."""
    fim = fonte.seek(0, io.SEEK_END)
    inicio_da_cauda = max(0, fim - _FIM.size - 0xFFFF)  # the end record, then a comment of up to 64 KiB
    fonte.seek(inicio_da_cauda)
    cauda = fonte.read()
    posicao = len(cauda) - _FIM.size
    if posicao < 0 or cauda[posicao : posicao + 4] != ZIP_VAZIO_MAGIC or cauda[-2:] != b"\x00\x00":
        posicao = cauda.rfind(ZIP_VAZIO_MAGIC)
    if posicao < 0 or posicao + _FIM.size > len(cauda):
        return None
    tamanho = _FIM.unpack_from(cauda, posicao)[5]
    local = inicio_da_cauda + posicao
    if local >= _LOCALIZADOR_ZIP64 + _FIM_ZIP64.size:
        fonte.seek(local - _LOCALIZADOR_ZIP64)
        if fonte.read(4) == b"PK\x06\x07":
            fonte.seek(local - _LOCALIZADOR_ZIP64 - _FIM_ZIP64.size)
            registro = fonte.read(_FIM_ZIP64.size)
            if registro[:4] == b"PK\x06\x06":
                tamanho = _FIM_ZIP64.unpack(registro)[8]
                local -= _LOCALIZADOR_ZIP64 + _FIM_ZIP64.size
    if local - tamanho < 0:
        return None
    return local - tamanho, tamanho


def _ignorar(info: zipfile.ZipInfo) -> bool:
    """Directories and the junk macOS/Finder adds: not documents, not errors."""
    nome = info.filename
    if info.is_dir() or nome.endswith(("/", "\\")):
        return True
    partes = re.split(r"[/\\]", nome)
    return "__MACOSX" in partes or partes[-1] == ".DS_Store"


@dataclass
class _Lida:
    """One entry as read: whole (small), spooled (a nested ZIP), or only measured (too big)."""

    cabeca: bytes
    dados: bytes | None = None
    zip: tempfile.SpooledTemporaryFile | None = None
    tamanho: int | None = None
    sha256: str = ""

    def recusa(self, nome: str, motivo: str) -> EntradaInvalida:
        return EntradaInvalida(nome, motivo, conteudo=self.dados, tamanho=self.tamanho, sha256=self.sha256)


def _expandir_entrada(
    arquivo_zip: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    nome: str,
    limites: Limites,
    orcamento: Orcamento,
    profundidade: int,
) -> Iterator[ArquivoXML | EntradaInvalida]:
    motivo = _motivo_nome_inseguro(info.filename)
    if info.flag_bits & 0x1:
        yield EntradaInvalida(nome, motivo or "entrada criptografada (ZIP com senha não é suportado)")
        return
    aninhar = not motivo and profundidade < limites.max_zip_profundidade
    try:
        lida = _ler_entrada(arquivo_zip, info, nome, limites, orcamento, aninhar)
    except EntradaInvalida as erro:
        yield erro
        return
    if lida.zip is not None:
        with lida.zip:
            yield from _expandir_zip(nome, lida.zip, limites, orcamento, profundidade + 1)
        return
    yield _arquivo_da_entrada(nome, lida, motivo, limites)


def _arquivo_da_entrada(nome: str, lida: _Lida, motivo: str, limites: Limites) -> ArquivoXML | EntradaInvalida:
    if motivo:
        return lida.recusa(nome, motivo)
    if parece_zip(lida.cabeca):
        return lida.recusa(nome, f"ZIP aninhado além da profundidade máxima ({limites.max_zip_profundidade})")
    if lida.dados is None:
        return lida.recusa(nome, f"entrada maior que o limite de {limites.max_xml_bytes} bytes")
    if not lida.dados:
        return lida.recusa(nome, "arquivo vazio")
    return ArquivoXML(nome, lida.dados)


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
    arquivo_zip: zipfile.ZipFile, info: zipfile.ZipInfo, nome: str, limites: Limites, orcamento: Orcamento, aninhar: bool
) -> _Lida:
    try:
        with arquivo_zip.open(info) as entrada:
            return _ler_aberta(entrada, info, nome, limites, orcamento, aninhar)
    except NotImplementedError as exc:  # before RuntimeError, its base class
        raise EntradaInvalida(nome, f"método de compressão não suportado ({exc})") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError) as exc:
        raise EntradaInvalida(nome, f"entrada corrompida no ZIP ({exc})") from exc


def _ler_aberta(entrada, info: zipfile.ZipInfo, nome: str, limites: Limites, orcamento: Orcamento, aninhar: bool) -> _Lida:
    """Read an entry within the limits. zipfile never yields more than the size the entry declares
    (it fails the CRC instead), so the declared size bounds the work even when it lies."""
    cabeca = _ler_ou_parar(entrada, 4, nome, limites, orcamento)
    if aninhar and cabeca in (ZIP_MAGIC, ZIP_VAZIO_MAGIC):
        return _Lida(cabeca, zip=_espalhar(cabeca, entrada, nome, limites, orcamento))
    if info.file_size > max(limites.max_xml_bytes, orcamento.bytes):
        return _Lida(cabeca, tamanho=info.file_size)  # declared beyond what is left: nothing more is read
    dados = cabeca + _ler_ou_parar(entrada, limites.max_xml_bytes + 1 - len(cabeca), nome, limites, orcamento)
    if len(dados) <= limites.max_xml_bytes:
        return _Lida(cabeca, dados=dados)
    return _medir_entrada(dados, entrada, info, orcamento)


def _medir_entrada(inicio: bytes, entrada, info: zipfile.ZipInfo, orcamento: Orcamento) -> _Lida:
    """An entry over the size limit: its real size and SHA-256, streamed while the budget lasts."""
    resumo, tamanho = hashlib.sha256(inicio), len(inicio)
    try:
        while pedaco := _ler(entrada, PEDACO, orcamento):
            resumo.update(pedaco)
            tamanho += len(pedaco)
    except _SemOrcamento:
        return _Lida(inicio[:4], tamanho=info.file_size)
    return _Lida(inicio[:4], tamanho=tamanho, sha256=resumo.hexdigest())


def _espalhar(cabeca: bytes, entrada, nome: str, limites: Limites, orcamento: Orcamento) -> tempfile.SpooledTemporaryFile:
    """A nested ZIP, decompressed into a temporary file that stays in memory only while small."""
    arquivo = tempfile.SpooledTemporaryFile(max_size=LIMIAR_EM_MEMORIA)
    try:
        arquivo.write(cabeca)
        while pedaco := _ler_ou_parar(entrada, PEDACO, nome, limites, orcamento):
            arquivo.write(pedaco)
        arquivo.seek(0)
    except BaseException:
        arquivo.close()
        raise
    return arquivo


def _ler(entrada, quantidade: int, orcamento: Orcamento) -> bytes:
    """Decompress up to `quantidade` bytes, never more than one byte past what the budget has left."""
    # max(): read() with a negative size would read everything.
    dados = entrada.read(max(0, min(quantidade, orcamento.bytes + 1)))
    if not orcamento.gastar(len(dados)):
        orcamento.bytes = 0
        raise _SemOrcamento
    return dados


def _ler_ou_parar(entrada, quantidade: int, nome: str, limites: Limites, orcamento: Orcamento) -> bytes:
    try:
        return _ler(entrada, quantidade, orcamento)
    except _SemOrcamento:
        motivo = f"ZIP excede o limite total de {limites.max_zip_total_bytes} bytes descompactados"
        raise _Parar(EntradaInvalida(nome, motivo)) from None
