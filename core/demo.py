"""Demo data for `make run`: a small but varied set of signed documents, dated around today."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from .geracao.certificado import gerar_certificado
from .geracao.documentos import gerar_cte, gerar_cte_os, gerar_evento_nfe, gerar_nfe, gerar_resumo_nfe

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@fiscal.local"
DEMO_SENHA = "demo-fiscal-2026"


def documentos_demo() -> list[tuple[str, bytes]]:
    """(file name, XML bytes) pairs: NF-e, NFC-e, a summary, events, CT-e and a CT-e OS."""
    rng = random.Random(2026)
    hoje = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)
    fornecedor = gerar_certificado(cnpj="11222333000181", nome="DISTRIBUIDORA AURORA LTDA")
    industria = gerar_certificado(cnpj="45723174000110", nome="INDUSTRIA PAULISTA DE PAPEL SA")
    transportadora = gerar_certificado(cnpj="19131243000197", nome="TRANSPORTES RAPIDO SUL LTDA")

    def dia(n: int):
        return hoje - timedelta(days=n)

    nfes = [
        gerar_nfe(certificado=fornecedor, rng=rng, numero=1000 + i, itens=1 + i % 5, data_emissao=dia(i % 4))
        for i in range(8)
    ]
    nfes += [
        gerar_nfe(certificado=industria, rng=rng, numero=500 + i, itens=3, emitente_uf="PR", data_emissao=dia(i))
        for i in range(3)
    ]
    nfes.append(gerar_nfe(certificado=fornecedor, rng=rng, numero=2001, destinatario="cpf", data_emissao=dia(1)))
    nfes.append(gerar_nfe(certificado=fornecedor, rng=rng, numero=1, modelo="65", serie=2, data_emissao=dia(0)))
    resumo = gerar_resumo_nfe(
        emitente_cnpj="45723174000110", nome="INDUSTRIA PAULISTA DE PAPEL SA", valor="15890.40", rng=rng, data_emissao=dia(2)
    )
    eventos = [
        gerar_evento_nfe(certificado=fornecedor, chave=nfes[0].chave, tipo_evento="110111",
                         detalhes={"nProt": "135260000000001", "xJust": "Pedido cancelado pelo cliente"}),
        gerar_evento_nfe(certificado=fornecedor, chave=nfes[1].chave, tipo_evento="110110",
                         detalhes={"xCorrecao": "Endereco de entrega: Rua das Flores, 100"}),
    ]
    ctes = [
        gerar_cte(certificado=transportadora, rng=rng, chaves_nfe=[nfes[2].chave, nfes[3].chave], data_emissao=dia(1)),
        gerar_cte(certificado=transportadora, rng=rng, uf_inicio="PR", uf_fim="SP", tomador="3", data_emissao=dia(2)),
        gerar_cte(certificado=transportadora, rng=rng, modal="02", tomador="4", data_emissao=dia(3)),
        gerar_cte_os(certificado=transportadora, rng=rng, data_emissao=dia(0)),
    ]
    return (
        [(f"{d.chave}-procNFe.xml", d.xml) for d in nfes]
        + [(f"{resumo.chave}-resNFe.xml", resumo.xml)]
        + [(f"{d.chave}-evento-{i}.xml", d.xml) for i, d in enumerate(eventos)]
        + [(f"{d.chave}-procCTe.xml", d.xml) for d in ctes]
    )
