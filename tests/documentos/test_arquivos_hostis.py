"""Hostile files, the ZIP part: a nested ZIP bomb and a wide ZIP of oversized entries.

Both are refused with nothing accepted, a bounded number of errors and bounded memory, measured in a
fresh process (peak RSS and tracemalloc) with the default limits. The ZIPs are built from pieces
already compressed (a deflate block of zeros repeated), so making them costs no gigabytes here either.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.documentos.entrada import Limites
from core.documentos.importacao import importar_bytes
from core.models import ImportLog, NFe, Origem
from core.tenancy import escopo

MiB = 1024 * 1024
RAIZ = Path(__file__).resolve().parents[2]
LIMITES = Limites()


# --- building hostile ZIPs without materializing them ---------------------------------------------


@dataclass(frozen=True)
class Zeros:
    """`tamanho` zero bytes, never held in memory."""

    tamanho: int


@functools.cache
def _bloco_de_zeros() -> bytes:
    # After a full flush the compressor keeps no history, so the same block follows itself forever.
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(bytes(MiB)) + compressor.flush(zlib.Z_FULL_FLUSH)


def _deflate_de(pedaco: bytes | Zeros) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    if isinstance(pedaco, bytes):
        return compressor.compress(pedaco) + compressor.flush(zlib.Z_FULL_FLUSH)
    inteiros, resto = divmod(pedaco.tamanho, MiB)
    return _bloco_de_zeros() * inteiros + compressor.compress(bytes(resto)) + compressor.flush(zlib.Z_FULL_FLUSH)


def deflate(pedacos: list[bytes | Zeros]) -> bytes:
    """Raw deflate (ZIP method 8) of the pieces in order, ending with an empty final block."""
    return b"".join(map(_deflate_de, pedacos)) + zlib.compressobj(9, zlib.DEFLATED, -15).flush()


@functools.cache
def _crc_de_zeros(tamanho: int, crc: int = 0) -> int:
    inteiros, resto = divmod(tamanho, MiB)
    for _ in range(inteiros):
        crc = zlib.crc32(bytes(MiB), crc)
    return zlib.crc32(bytes(resto), crc)


def crc32(pedacos: list[bytes | Zeros]) -> int:
    crc = 0
    for pedaco in pedacos:
        crc = zlib.crc32(pedaco, crc) if isinstance(pedaco, bytes) else _crc_de_zeros(pedaco.tamanho, crc)
    return crc


def tamanho(pedacos: list[bytes | Zeros]) -> int:
    return sum(len(p) if isinstance(p, bytes) else p.tamanho for p in pedacos)


@dataclass(frozen=True)
class Entrada:
    nome: str
    pedacos: list  # the uncompressed content
    metodo: int = 8  # 8 deflate, 0 stored

    def gravada(self) -> list[bytes | Zeros]:
        return self.pedacos if self.metodo == 0 else [deflate(self.pedacos)]


def zip_em_pedacos(entradas: list[Entrada]) -> list[bytes | Zeros]:
    """A ZIP (APPNOTE 4.3) whose stored zeros stay `Zeros` pieces."""
    pedacos, diretorio, posicao = [], b"", 0
    for entrada in entradas:
        nome, gravada = entrada.nome.encode(), entrada.gravada()
        crc, comprimido, normal = crc32(entrada.pedacos), tamanho(gravada), tamanho(entrada.pedacos)
        campos = (entrada.metodo, 0, 0x21, crc, comprimido, normal, len(nome))  # 0x21: 1980-01-01
        local = struct.pack("<4s3H2H3L2H", b"PK\x03\x04", 20, 0, *campos, 0) + nome
        diretorio += struct.pack("<4s4H2H3L5H2L", b"PK\x01\x02", 20, 20, 0, *campos, 0, 0, 0, 0, 0, posicao) + nome
        pedacos += [local, *gravada]
        posicao += len(local) + comprimido
    fim = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entradas), len(entradas), len(diretorio), posicao, 0)
    return [*pedacos, diretorio + fim]


def zip_bytes(entradas: list[Entrada]) -> bytes:
    pedacos = zip_em_pedacos(entradas)
    assert all(isinstance(p, bytes) for p in pedacos)
    return b"".join(pedacos)


def bomba_aninhada() -> bytes:
    """Half a megabyte holding a 520 MiB ZIP, which holds four more entries of 1 GiB each: 4.5 GiB."""
    interno = zip_em_pedacos(
        [Entrada("zeros.xml", [Zeros(520 * MiB)], metodo=0)]
        + [Entrada(f"giga{n}.xml", [Zeros(1024 * MiB)]) for n in range(4)]
    )
    return zip_bytes([Entrada("interno.zip", interno)])


def zip_largo(entradas: int = 2000, por_entrada: int = LIMITES.max_xml_bytes + 1) -> bytes:
    """Many entries each one byte over the XML limit."""
    return zip_bytes([Entrada(f"nota{n:04d}.xml", [Zeros(por_entrada)]) for n in range(entradas)])


@pytest.fixture(scope="module")
def hostis(tmp_path_factory) -> dict[str, Path]:
    pasta = tmp_path_factory.mktemp("hostis")
    arquivos = {"bomba_aninhada": bomba_aninhada(), "zip_largo": zip_largo()}
    for nome, conteudo in arquivos.items():
        (pasta / f"{nome}.zip").write_bytes(conteudo)
    return {nome: pasta / f"{nome}.zip" for nome in arquivos}


def test_the_builders_make_real_zips():
    import zipfile

    conteudo = zip_bytes([Entrada("a.xml", [b"<a>", Zeros(3 * MiB + 5), b"</a>"]), Entrada("b.xml", [b"<b/>"], 0)])
    with zipfile.ZipFile(io.BytesIO(conteudo)) as arquivo_zip:
        assert arquivo_zip.testzip() is None
        assert arquivo_zip.read("a.xml") == b"<a>" + bytes(3 * MiB + 5) + b"</a>"
        assert arquivo_zip.read("b.xml") == b"<b/>"


def test_the_hostile_files_are_what_the_issue_measured(hostis):
    assert hostis["bomba_aninhada"].stat().st_size < 600 * 1024
    assert 9 * MiB < hostis["zip_largo"].stat().st_size < 12 * MiB


# --- memory, measured in a fresh process -----------------------------------------------------------

MEDIR = r"""
import json, resource, sys, tracemalloc
from pathlib import Path
from core.documentos.entrada import EntradaInvalida, Limites, expandir

conteudo = Path(sys.argv[1]).read_bytes()
antes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
aceitos, erros = 0, []
for item in expandir(Path(sys.argv[1]).name, conteudo, Limites()):
    if isinstance(item, EntradaInvalida):
        erros.append([item.nome, item.motivo, item.tamanho, item.sha256])
    else:
        aceitos += 1
pico = tracemalloc.get_traced_memory()[1]
depois = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rss": (depois - antes) * 1024, "pico": pico, "aceitos": aceitos, "erros": erros}))
"""


def expandir_noutro_processo(caminho: Path) -> dict:
    execucao = subprocess.run(
        [sys.executable, "-c", MEDIR, str(caminho)], cwd=RAIZ, capture_output=True, text=True, timeout=300
    )
    assert execucao.returncode == 0, execucao.stderr
    return json.loads(execucao.stdout)


def test_the_nested_bomb_is_refused_in_bounded_memory(hostis):
    medido = expandir_noutro_processo(hostis["bomba_aninhada"])

    assert medido["aceitos"] == 0
    assert medido["erros"] == [
        [
            "bomba_aninhada.zip/interno.zip",
            f"ZIP excede o limite total de {LIMITES.max_zip_total_bytes} bytes descompactados",
            None,
            "",
        ]
    ]
    assert medido["rss"] < 64 * MiB, medido["rss"]
    assert medido["pico"] < 64 * MiB, medido["pico"]


def test_the_wide_zip_is_refused_with_bounded_errors_and_memory(hostis):
    medido = expandir_noutro_processo(hostis["zip_largo"])

    assert medido["aceitos"] == 0
    *recusas, resumo = medido["erros"]
    assert len(recusas) == LIMITES.max_zip_erros
    tamanho_real = LIMITES.max_xml_bytes + 1
    sha256 = hashlib.sha256(bytes(tamanho_real)).hexdigest()
    assert recusas[0] == [
        "zip_largo.zip/nota0000.xml", f"entrada maior que o limite de {LIMITES.max_xml_bytes} bytes", tamanho_real, sha256
    ]
    assert {tuple(recusa[1:]) for recusa in recusas} == {tuple(recusas[0][1:])}
    assert resumo == [
        "zip_largo.zip",
        f"importação interrompida: {LIMITES.max_zip_erros + 1} entradas recusadas, mais que o limite de "
        f"{LIMITES.max_zip_erros} por envio ({LIMITES.max_zip_erros + 1} × entrada maior que o limite de "
        f"{LIMITES.max_xml_bytes} bytes)",
        None,
        "",
    ]
    assert medido["rss"] < 64 * MiB, medido["rss"]
    assert medido["pico"] < 64 * MiB, medido["pico"]


# --- the budget: refused entries spend it too ------------------------------------------------------


def test_refused_entries_count_against_the_decompressed_budget():
    from core.documentos.entrada import EntradaInvalida, expandir

    # Four entries just over a 1000-byte limit, then a good one that alone would fit the budget.
    boa = b"<a>" + b"x" * 593 + b"</a>"
    lote = zip_bytes([*(Entrada(f"{n}.xml", [Zeros(1001)]) for n in range(4)), Entrada("boa.xml", [boa])])
    limites = Limites(max_xml_bytes=1000, max_zip_total_bytes=4500)

    itens = list(expandir("lote.zip", lote, limites))

    assert [item.nome for item in itens if not isinstance(item, EntradaInvalida)] == []
    assert [(item.nome, item.tamanho) for item in itens[:4]] == [(f"lote.zip/{n}.xml", 1001) for n in range(4)]
    assert [item.sha256 for item in itens[:4]] == [hashlib.sha256(bytes(1001)).hexdigest()] * 4
    assert [str(item) for item in itens[4:]] == ["lote.zip/boa.xml: ZIP excede o limite total de 4500 bytes descompactados"]


# --- through the whole import: accepted = 0, a bounded log ------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("arquivo, linhas", [("bomba_aninhada", 1), ("zip_largo", LIMITES.max_zip_erros + 1)])
def test_a_hostile_upload_stores_nothing_and_leaves_a_bounded_log(org, hostis, arquivo, linhas):
    resultados = importar_bytes(
        organizacao=org, nome=f"{arquivo}.zip", conteudo=hostis[arquivo].read_bytes(), origem=Origem.UPLOAD
    )

    assert [r.status for r in resultados] == ["erro"] * linhas
    assert escopo(ImportLog, org).count() == linhas
    assert not escopo(NFe, org).exists()
