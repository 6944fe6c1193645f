"""The body of POST /api/importar/: measured while it streams, refused by size before it is stored.

Django keeps the files in memory while the whole request is under FILE_UPLOAD_MAX_MEMORY_SIZE and
streams them to temporary files otherwise. `LimiteDoEnvio` runs before that storage:

- a body whose Content-Length is over `limite_do_corpo()` is refused at the headers of its first file
  (so the answer can name it): the parser stops there, having read a chunk or two of 64 KiB, and
  neither that file nor the rest of the body is read;
- a file over its own limit (a ZIP over FISCAL_MAX_ZIP_TOTAL_BYTES, any other file over
  FISCAL_MAX_XML_BYTES) is stored no further than the limit, while its size and SHA-256 are still
  measured as it streams past; it reaches the view as an `ArquivoRecusado`, which the import logs as
  an error that names the file, the limit, the size and the digest.
"""

from __future__ import annotations

import hashlib
import io

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from rest_framework import status
from rest_framework.exceptions import APIException

from core.documentos.entrada import Limites, parece_zip

# Room for the multipart framing around the files: boundaries, part headers, a few small fields.
MARGEM_MULTIPART = 1024 * 1024


def limite_do_corpo(limites: Limites) -> int:
    """The largest request body worth reading: one upload shares one decompression budget
    (`Limites.para_um_envio`), so a body larger than that budget could never be imported whole."""
    return limites.max_arquivo_bytes + MARGEM_MULTIPART


class EnvioGrandeDemais(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Envio grande demais."
    default_code = "envio_grande_demais"

    def __init__(self, mensagem: str, **detalhes) -> None:
        super().__init__(mensagem)
        # Set after __init__, which would turn the numbers into strings; api.erros moves them to "detalhes".
        self.detail = {"detail": self.detail, **detalhes}


class ArquivoRecusado(UploadedFile):
    """A file part refused for size: its name, size, SHA-256 and why; none of its bytes."""

    def __init__(self, nome: str, tamanho: int, sha256: str, motivo: str) -> None:
        super().__init__(file=io.BytesIO(), name=nome, content_type="application/octet-stream", size=tamanho)
        self.sha256 = sha256
        self.motivo = motivo


class LimiteDoEnvio(FileUploadHandler):
    """First upload handler of the import view (api.views.importacao)."""

    def __init__(self, request, limites: Limites) -> None:
        super().__init__(request)
        self.limites = limites
        self.corpo: int | None = None  # Content-Length of a body over the limit
        self.primeiro_arquivo = ""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > limite_do_corpo(self.limites):
            self.corpo = content_length
        return None  # Django parses the body, through the methods below

    def new_file(self, field_name, file_name, *args, **kwargs) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if self.corpo is not None:
            self.primeiro_arquivo = file_name or ""
            # Stop before a byte of this file is read; connection_reset: do not drain the rest either.
            raise StopUpload(connection_reset=True)
        self._resumo = hashlib.sha256()
        self._tamanho = 0
        self._cabeca = b""
        self._recusado = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self._resumo.update(raw_data)
        self._tamanho += len(raw_data)
        if len(self._cabeca) < 4:
            self._cabeca += raw_data[: 4 - len(self._cabeca)]
        if self._tamanho > self._limite():
            self._recusado = True
        # None: the handlers after this one (memory, temporary file) never see the chunk.
        return None if self._recusado else raw_data

    def file_complete(self, file_size: int) -> ArquivoRecusado | None:
        if not self._recusado:
            return None  # the next handler returns the stored file
        tipo = "ZIP" if self._e_zip() else "arquivo"
        motivo = f"{tipo} de {self._tamanho} bytes, acima do limite de {self._limite()} bytes"
        return ArquivoRecusado(self.file_name or "arquivo", self._tamanho, self._resumo.hexdigest(), motivo)

    def conferir(self) -> None:
        """Raise the 413 when the body was over the limit; call after request.data."""
        if self.corpo is None:
            return
        limite = limite_do_corpo(self.limites)
        arquivo = f"{self.primeiro_arquivo}: " if self.primeiro_arquivo else ""
        mensagem = (
            f"{arquivo}envio de {self.corpo} bytes, acima do limite de {limite} bytes por envio; "
            "divida os arquivos em envios menores."
        )
        raise EnvioGrandeDemais(mensagem, arquivo=self.primeiro_arquivo, tamanho=self.corpo, limite=limite)

    def _e_zip(self) -> bool:
        return len(self._cabeca) == 4 and parece_zip(self._cabeca)

    def _limite(self) -> int:
        if len(self._cabeca) < 4:
            return self.limites.max_arquivo_bytes  # not known yet; no file this small is over anyway
        return self.limites.max_arquivo_bytes if self._e_zip() else self.limites.max_xml_bytes
