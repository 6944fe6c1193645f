"""Import throughput: the full pipeline against two floors measured in the same run.

    .venv/bin/python bench/importacao.py [--n 5000] [--processos N]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fiscal .venv/bin/python bench/importacao.py

(a) parses each NF-e with lxml and extracts chave, emitente, destinatário, dhEmi and vNF with
precompiled XPaths: the floor any importer pays. (c) parses each NF-e with the project's hardened parser
(core.documentos.xml_seguro) and verifies its signature as the pipeline does (core.documentos.xmldsig:
two C14N, digest, RSA; core.documentos.signatario: who signed and the ICP-Brasil chain), no database: the
floor of an importer that verifies what it stores. Both run in one process. (b) runs `importar_xml` on the
same files: parse, validate, verify, store (SQLite file or PostgreSQL, in a throw-away test database),
ImportLog, events and outbox rows. Prints the three rates and the ratios b/a (target >= 0.25) and b/c
(target >= 0.5).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(RAIZ))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fiscal_app.settings_de_teste")

import django  # noqa: E402

django.setup()

from bench.comum import banco_descartavel, confiar_na_ac_de_teste  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from lxml import etree  # noqa: E402

from core.geracao.certificado import gerar_certificado  # noqa: E402
from core.geracao.documentos import gerar_nfe  # noqa: E402

NS = {"n": "http://www.portalfiscal.inf.br/nfe"}
XPATHS = [
    etree.XPath(caminho, namespaces=NS)
    for caminho in (
        "string(n:NFe/n:infNFe/@Id)",
        "string(n:NFe/n:infNFe/n:emit/n:CNPJ)",
        "string(n:NFe/n:infNFe/n:dest/n:CNPJ|n:NFe/n:infNFe/n:dest/n:CPF)",
        "string(n:NFe/n:infNFe/n:ide/n:dhEmi)",
        "string(n:NFe/n:infNFe/n:total/n:ICMSTot/n:vNF)",
    )
]


def gerar_arquivos(pasta: Path, n: int, reforma: bool = True) -> list[bytes]:
    rng = random.Random(42)
    certificados = [gerar_certificado(cnpj=cnpj, nome=f"EMITENTE {i}") for i, cnpj in enumerate(
        ["11222333000181", "45723174000110", "19131243000197", "06990590000123"]
    )]
    conteudos = []
    for i in range(n):
        # NF-e of 2026 carry the reform's IBS/CBS groups (NT 2025.002-RTC), so the bench does too.
        documento = gerar_nfe(certificado=certificados[i % 4], rng=rng, numero=i + 1, itens=rng.randint(1, 6),
                              reforma=reforma)  # fmt: skip
        (pasta / f"{documento.chave}-procNFe.xml").write_bytes(documento.xml)
        conteudos.append(documento.xml)
    return conteudos


def medir_parse_puro(conteudos: list[bytes]) -> float:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    inicio = time.perf_counter()
    for conteudo in conteudos:
        raiz = etree.fromstring(conteudo, parser)
        campos = [xpath(raiz) for xpath in XPATHS]
        assert campos[0] and campos[4]
    return len(conteudos) / (time.perf_counter() - inicio)


def medir_parse_e_verificacao(conteudos: list[bytes]) -> float:
    from datetime import datetime

    from core.documentos.leitura import localizar
    from core.documentos.signatario import VALIDA, conferir_signatario
    from core.documentos.xml_seguro import ler_xml
    from core.documentos.xmldsig import verificar_assinatura

    emitente, data_emissao = XPATHS[1], XPATHS[3]
    inicio = time.perf_counter()
    for conteudo in conteudos:
        estrutura = localizar(ler_xml(conteudo))
        assinatura = verificar_assinatura(estrutura.assinado, conferir_ids=False)
        momento = datetime.fromisoformat(data_emissao(estrutura.raiz))
        assinatura = conferir_signatario(assinatura, titular=emitente(estrutura.raiz), papel="emitente", momento=momento)
        assert assinatura.estado == VALIDA
    return len(conteudos) / (time.perf_counter() - inicio)


def medir_pipeline(pasta: Path, n: int, processos: int | None) -> float:
    from core.models import ImportLog
    from core.organizacoes import criar_organizacao
    from core.tenancy import escopo

    org = criar_organizacao(nome="Bench", email=f"bench{time.time_ns()}@bench.local").organizacao
    inicio = time.perf_counter()
    opcoes = ["--processos", str(processos)] if processos else []
    with open(os.devnull, "w") as nada:
        call_command("importar_xml", str(pasta), "--organizacao", org.slug, "--sem-progresso", *opcoes, stdout=nada)
    taxa = n / (time.perf_counter() - inicio)
    sucesso = escopo(ImportLog, org).filter(status="sucesso").count()
    assert sucesso == n, f"esperava {n} importados, vieram {sucesso}"
    return taxa


def main() -> None:
    argumentos = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    argumentos.add_argument("--n", type=int, default=5000, help="quantos documentos (padrão 5000)")
    argumentos.add_argument("--processos", type=int, help="repassado ao importar_xml (padrão: o dele)")
    argumentos.add_argument("--sem-reforma", action="store_true", help="NF-e sem os grupos IBS/CBS (como em 2025)")
    opcoes = argumentos.parse_args()

    with banco_descartavel("bench_importacao") as temporaria:
        pasta = temporaria / "xml"
        pasta.mkdir()
        confiar_na_ac_de_teste(temporaria)
        print(f"gerando {opcoes.n} NF-e assinadas...", flush=True)
        conteudos = gerar_arquivos(pasta, opcoes.n, reforma=not opcoes.sem_reforma)
        parse = max(medir_parse_puro(conteudos) for _ in range(3))
        verificacao = max(medir_parse_e_verificacao(conteudos) for _ in range(2))
        pipeline = medir_pipeline(pasta, opcoes.n, opcoes.processos)
    print(f"banco: {connection.vendor}; NF-e {'sem' if opcoes.sem_reforma else 'com'} os grupos da reforma")
    print(f"(a) parse lxml + extração:                  {parse:8.0f} NF-e/s  (1 processo)")
    print(f"(c) parse + verificação da assinatura:      {verificacao:8.0f} NF-e/s  (1 processo)")
    print(f"(b) pipeline importar_xml:                  {pipeline:8.0f} NF-e/s  (processos: {opcoes.processos or 'os do comando'})")
    print(f"razão b/a: {pipeline / parse:.3f}  (meta >= 0.25)")
    print(f"razão b/c: {pipeline / verificacao:.3f}  (meta >= 0.5)")


if __name__ == "__main__":
    main()
