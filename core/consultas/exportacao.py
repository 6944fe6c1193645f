"""Exports of a filtered document list, produced as a stream of byte chunks.

Memory stays flat however many documents match: rows come from the database with
`.iterator(chunk_size=...)` (one query; the database cursor is read a chunk at a time) and each
chunk of output is handed to the caller as soon as it is written, so a web server can send it.

    StreamingHttpResponse(csv_dos_documentos(documentos, colunas, EXCEL), content_type="text/csv")
    StreamingHttpResponse(zip_dos_xmls(documentos, "procNFe"), content_type="application/zip")
"""

from __future__ import annotations

import csv
import io
import logging
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Case, CharField, QuerySet, Value, When
from django.utils import timezone

logger = logging.getLogger(__name__)

BOM_UTF8 = "\ufeff"  # lets Excel open the file as UTF-8 instead of guessing cp1252
LINHAS_POR_BLOCO = 2000
XMLS_POR_BLOCO = 200  # each row carries a compressed XML of ~2-10 KB
BYTES_POR_ENVIO = 256 * 1024
# Excel runs a cell that starts with these as a formula (CSV injection); names come from the XMLs.
_INICIO_DE_FORMULA = ("=", "+", "-", "@", "\t", "\r")


# -------------------------------------------------------------------------------------------- CSV


@dataclass(frozen=True)
class DialetoCSV:
    separador: str
    decimal: str
    bom: bool


# Excel in Portuguese (Brazil) splits columns on ";" and reads "1520,40" as a number only with a comma;
# without the BOM it guesses cp1252 and mangles accents. Programs want the plain comma/dot form.
EXCEL = DialetoCSV(separador=";", decimal=",", bom=True)
RFC4180 = DialetoCSV(separador=",", decimal=".", bom=False)
DIALETOS = {"excel": EXCEL, "rfc4180": RFC4180}


def csv_dos_documentos(documentos: QuerySet, colunas: Sequence[str], dialeto: DialetoCSV = EXCEL) -> Iterator[bytes]:
    """CSV (header row, CRLF, UTF-8) of `colunas` of every document, in order, in `dialeto`."""
    saida = io.StringIO()
    escritor = csv.writer(saida, delimiter=dialeto.separador, lineterminator="\r\n")
    if dialeto.bom:
        saida.write(BOM_UTF8)
    escritor.writerow(colunas)
    linhas = documentos.values_list(*colunas).iterator(chunk_size=LINHAS_POR_BLOCO)
    for numero, linha in enumerate(linhas, start=1):
        escritor.writerow([celula_csv(valor, dialeto.decimal) for valor in linha])
        if numero % LINHAS_POR_BLOCO == 0:
            yield _esvaziar(saida)
    yield _esvaziar(saida)


def nome_da_escolha(campo: str, escolhas) -> Case:
    """The display name of a choices column as an SQL expression (NULL when the value has none), so a CSV
    can carry it without loading the rows as models."""
    quando = (When(**{campo: valor}, then=Value(str(nome))) for valor, nome in escolhas)
    return Case(*quando, default=Value(None), output_field=CharField())


def celula_csv(valor, decimal: str = ".") -> str:
    """A value as the list endpoint shows it (ISO 8601 local datetimes, 2-place decimals, true/false),
    with `decimal` as the decimal separator."""
    if valor is None:
        return ""
    if isinstance(valor, bool):
        return "true" if valor else "false"
    if isinstance(valor, datetime):
        texto = timezone.localtime(valor).isoformat()
        return texto[:-6] + "Z" if texto.endswith("+00:00") else texto
    if isinstance(valor, Decimal):
        return str(valor).replace(".", decimal)
    if isinstance(valor, int):
        return str(valor)
    if isinstance(valor, list):
        return " ".join(map(str, valor))
    texto = str(valor)
    return "'" + texto if texto.startswith(_INICIO_DE_FORMULA) else texto


def _esvaziar(saida: io.StringIO) -> bytes:
    dados = saida.getvalue().encode("utf-8")
    saida.seek(0)
    saida.truncate()
    return dados


# -------------------------------------------------------------------------------------------- ZIP


class _Saida:
    """A write-only, non-seekable file for ZipFile: it keeps what was written until taken.

    Without seek(), zipfile writes each entry's sizes in a data descriptor after its data, so
    nothing already written is ever revisited and it can be sent at once.
    """

    def __init__(self) -> None:
        self._partes: list[bytes] = []
        self.tamanho = 0

    def write(self, dados) -> int:
        self._partes.append(bytes(dados))
        self.tamanho += len(dados)
        return len(dados)

    def flush(self) -> None:
        pass

    def tirar(self) -> bytes:
        dados = b"".join(self._partes)
        self._partes.clear()
        self.tamanho = 0
        return dados


def zip_dos_xmls(documentos: QuerySet, sufixo: str) -> Iterator[bytes]:
    """A ZIP with the original XML of every document, named `{chave}-{sufixo}.xml`, byte for byte.

    A stored XML that fails its SHA-256 check is left out, logged, and listed in `ERROS.txt` at
    the end of the archive, so one damaged row cannot make the whole export fail halfway.
    """
    saida = _Saida()
    erros = []
    linhas = (
        documentos.select_related("arquivo")
        .only("chave", "data_emissao", "arquivo__sha256", "arquivo__conteudo")
        .iterator(chunk_size=XMLS_POR_BLOCO)
    )
    with zipfile.ZipFile(saida, "w", compression=zipfile.ZIP_DEFLATED) as arquivo_zip:
        for documento in linhas:
            try:
                xml = documento.arquivo.bytes_originais()
            except (ValueError, zlib.error) as erro:
                logger.error("XML armazenado de %s não entrou na exportação: %s", documento.chave, erro)
                erros.append(f"{documento.chave}: o XML armazenado não confere com seu SHA-256")
                continue
            arquivo_zip.writestr(_entrada(f"{documento.chave}-{sufixo}.xml", documento.data_emissao), xml)
            if saida.tamanho >= BYTES_POR_ENVIO:
                yield saida.tirar()
        if erros:
            arquivo_zip.writestr(_entrada("ERROS.txt", timezone.now()), "\r\n".join(erros).encode("utf-8"))
    yield saida.tirar()


def _entrada(nome: str, momento: datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(nome, date_time=timezone.localtime(momento).timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16  # a plain readable file when unpacked on Unix
    return info
