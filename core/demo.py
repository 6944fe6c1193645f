"""Demo data for `make run`: a small but varied set of signed documents, dated around today, and the
example NF-e a newcomer imports by hand (INICIO_RAPIDO_INTEGRACOES.md)."""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from .geracao.certificado import CertificadoGerado, gerar_certificado
from .geracao.documentos import (
    DocumentoGerado,
    gerar_cte,
    gerar_cte_os,
    gerar_cte_simplificado,
    gerar_evento_nfe,
    gerar_gtve,
    gerar_nfe,
    gerar_resumo_nfe,
)

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@fiscal.local"
DEMO_SENHA = "demo-fiscal-2026"
# Relative to the current directory: the repository root under `make`.
NFE_EXEMPLO = Path("var/exemplos/nfe-exemplo.xml")


def fornecedor_demo() -> CertificadoGerado:
    """The demo documents' main supplier, whose test certificate signs its NF-e."""
    return gerar_certificado(cnpj="11222333000181", nome="DISTRIBUIDORA AURORA LTDA")


def documentos_demo() -> list[tuple[str, bytes]]:
    """(file name, XML bytes) pairs: NF-e, NFC-e, a summary, events, CT-e and a CT-e OS."""
    rng = random.Random(2026)
    hoje = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)
    fornecedor = fornecedor_demo()
    industria = gerar_certificado(cnpj="45723174000110", nome="INDUSTRIA PAULISTA DE PAPEL SA")
    transportadora = gerar_certificado(cnpj="19131243000197", nome="TRANSPORTES RAPIDO SUL LTDA")

    def dia(n: int):
        return hoje - timedelta(days=n)

    # Issued in 2026 by companies of the regime normal: the reform's IBS/CBS groups are there (NT 2025.002-RTC).
    nfes = [
        gerar_nfe(certificado=fornecedor, rng=rng, numero=1000 + i, itens=1 + i % 5, data_emissao=dia(i % 4), reforma=True)
        for i in range(8)
    ]
    nfes += [
        gerar_nfe(certificado=industria, rng=rng, numero=500 + i, itens=3, emitente_uf="PR", data_emissao=dia(i),
                  reforma=True)  # fmt: skip
        for i in range(3)
    ]
    nfes.append(gerar_nfe(certificado=fornecedor, rng=rng, numero=2001, destinatario="cpf", data_emissao=dia(1)))
    nfes.append(gerar_nfe(certificado=fornecedor, rng=rng, numero=1, modelo="65", serie=2, data_emissao=dia(0)))
    # A credit note and a return of earlier sales: shown apart from purchases in totals and statistics.
    nfes.append(gerar_nfe(certificado=fornecedor, rng=rng, numero=3001, itens=1, data_emissao=dia(0), reforma=True,
                          finalidade=5, referenciada=nfes[2].chave, natureza_operacao="NOTA DE CREDITO"))  # fmt: skip
    nfes.append(gerar_nfe(certificado=fornecedor, rng=rng, numero=3002, itens=2, data_emissao=dia(1), reforma=True,
                          finalidade=4, referenciada=nfes[3].chave, tipo_operacao="entrada",
                          natureza_operacao="DEVOLUCAO DE VENDA"))  # fmt: skip
    resumo = gerar_resumo_nfe(
        emitente_cnpj="45723174000110", nome="INDUSTRIA PAULISTA DE PAPEL SA", valor="15890.40", rng=rng, data_emissao=dia(2)
    )
    eventos = [
        gerar_evento_nfe(certificado=fornecedor, chave=nfes[0].chave, tipo_evento="110111", data_evento=dia(0),
                         detalhes={"nProt": "135260000000001", "xJust": "Pedido cancelado pelo cliente"}),
        gerar_evento_nfe(certificado=fornecedor, chave=nfes[1].chave, tipo_evento="110110", data_evento=dia(0),
                         detalhes={"xCorrecao": "Endereco de entrega: Rua das Flores, 100"}),
    ]
    ctes = [
        gerar_cte(certificado=transportadora, rng=rng, chaves_nfe=[nfes[2].chave, nfes[3].chave], data_emissao=dia(1),
                  reforma=True),
        gerar_cte(certificado=transportadora, rng=rng, uf_inicio="PR", uf_fim="SP", tomador="3", data_emissao=dia(2)),
        gerar_cte(certificado=transportadora, rng=rng, modal="02", tomador="4", data_emissao=dia(3)),
        gerar_cte_os(certificado=transportadora, rng=rng, data_emissao=dia(0), reforma=True),
    ]
    # Kinds stored in part (OutroDocumento), and a correction whose NF-e has not arrived: both must show.
    outros = [
        gerar_gtve(certificado=transportadora, rng=rng, data_emissao=dia(1)),
        gerar_cte_simplificado(certificado=transportadora, rng=rng, data_emissao=dia(2)),
    ]
    ainda_nao_chegou = gerar_nfe(certificado=industria, rng=rng, numero=901, emitente_uf="PR", data_emissao=dia(1))
    eventos.append(
        gerar_evento_nfe(certificado=industria, chave=ainda_nao_chegou.chave, tipo_evento="110110", data_evento=dia(0),
                         detalhes={"xCorrecao": "Quantidade de volumes: 12"})
    )
    return (
        [(f"{d.chave}-procNFe.xml", d.xml) for d in nfes]
        + [(f"{resumo.chave}-resNFe.xml", resumo.xml)]
        + [(f"{d.chave}-evento-{i}.xml", d.xml) for i, d in enumerate(eventos)]
        + [(f"{d.chave}-procCTe.xml", d.xml) for d in ctes]
        + [(f"{d.chave}-proc.xml", d.xml) for d in outros]
    )


# Numbers the example notes take at random: a run of N notes draws N different ones.
NUMEROS_DE_EXEMPLO = range(10_000, 1_000_000)


def nfe_exemplo() -> DocumentoGerado:
    """A new NF-e from the demo supplier, issued a minute ago: a random number and key, so it was never
    imported anywhere and its first import is a `sucesso` (and a `nfe_importada` event)."""
    return next(nfes_exemplo(1))


def nfes_exemplo(quantidade: int) -> Iterator[DocumentoGerado]:
    """`quantidade` new example NF-e with different numbers (hence keys), made one at a time."""
    rng = random.Random()  # seeded from the OS: different keys on every run
    emissao = timezone.localtime().replace(microsecond=0) - timedelta(minutes=1)
    for numero in rng.sample(NUMEROS_DE_EXEMPLO, quantidade):
        yield gerar_nfe(certificado=fornecedor_demo(), rng=rng, numero=numero, data_emissao=emissao, reforma=True)


def gravar_nfe_exemplo(caminho: Path | str = NFE_EXEMPLO) -> DocumentoGerado:
    """Writes a new `nfe_exemplo()` to `caminho` (parent folders created)."""
    caminho = Path(caminho)
    caminho.parent.mkdir(parents=True, exist_ok=True)
    nota = nfe_exemplo()
    _gravar(caminho, nota.xml)
    return nota


def gravar_nfes_exemplo(pasta: Path | str, quantidade: int) -> Iterator[Path]:
    """Writes `quantidade` new example NF-e into `pasta` as `<chave>.xml`, yielding each path as it lands
    (one process and one certificate for all: a process per note cost a second of start-up each)."""
    pasta = Path(pasta)
    pasta.mkdir(parents=True, exist_ok=True)
    for nota in nfes_exemplo(quantidade):
        caminho = pasta / f"{nota.chave}.xml"
        _gravar(caminho, nota.xml)
        yield caminho


def _gravar(caminho: Path, conteudo: bytes) -> None:
    """Atomically: whoever reads the file (a folder watcher, say) sees the previous one or the whole new
    one, never half of one."""
    descritor, temporario = tempfile.mkstemp(dir=caminho.parent, prefix=f".{caminho.name}.", suffix=".tmp")
    try:
        with os.fdopen(descritor, "wb") as arquivo:
            arquivo.write(conteudo)
        os.chmod(temporario, 0o644)  # mkstemp makes it 0600; the note holds nothing secret
        os.replace(temporario, caminho)
    except BaseException:
        Path(temporario).unlink(missing_ok=True)
        raise
