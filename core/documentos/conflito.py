"""Same chave, different content: a conflict, never a merge.

A file may upgrade a stored document only when it is the same signed document (the same DigestValue of
infNFe/infCte, which the protocol's digVal and the summary's digVal also carry) bringing more. Anything
else under that chave is refused, naming the fields that differ, and the stored document stays as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from core.models import NFe

from .campos import campos_cte, campos_nfe
from .dados import DadosNFe
from .preparacao import Preparado

# Compared, in this order, when the digests differ (or one is unknown): what a person would check first.
_CAMPOS_NFE = (
    "valor_total",
    "emitente_documento",
    "destinatario_documento",
    "data_emissao",
    "ambiente",
    "tipo_operacao",
    "natureza_operacao",
    "valor_produtos",
    "valor_icms",
    "valor_ipi",
    "valor_frete",
    "valor_desconto",
)
_CAMPOS_CTE = (
    "valor_prestacao",
    "emitente_documento",
    "tomador_documento",
    "data_emissao",
    "ambiente",
    "valor_receber",
    "valor_carga",
    "valor_icms",
    "uf_inicio",
    "uf_fim",
)
# A resNFe carries only these: a full XML replacing it is compared on them when the summary had no digVal.
_CAMPOS_RESUMO = ("valor_nf", "emitente_documento", "data_emissao", "tipo_operacao")


def diferencas(atual, item: Preparado, contar_itens: Callable[[], int | None]) -> str:
    """"" when `item` may be applied to `atual` (same signed document); else the differences, for people.

    `contar_itens` (the stored NF-e's item count) is called only when the digests differ: a re-import of
    the same files costs no query per document.
    """
    digest = item.assinatura.digest_value if item.assinatura else ""
    if atual.digest_value and digest and atual.digest_value == digest:
        return ""
    dados = item.dados
    if isinstance(dados, DadosNFe):
        novos = campos_nfe(dados)
        nomes = _CAMPOS_NFE if atual.completa else _CAMPOS_RESUMO
    else:
        novos, nomes = campos_cte(dados), _CAMPOS_CTE
    lista = [_diferenca(nome, getattr(atual, nome), novos[nome]) for nome in nomes if nome in novos]
    lista = [d for d in lista if d]
    quantidade_de_itens = contar_itens() if isinstance(atual, NFe) and atual.completa else None
    if quantidade_de_itens is not None and quantidade_de_itens != len(dados.itens):
        lista.append(f"itens: {quantidade_de_itens} → {len(dados.itens)}")
    if atual.digest_value and digest:
        # Different signed content even where the compared fields agree: still not the same document.
        lista.append(f"assinatura: DigestValue {atual.digest_value} → {digest}")
    return "; ".join(lista)


def _diferenca(nome: str, guardado, recebido) -> str:
    if guardado is None and recebido in ("", None):
        return ""
    if isinstance(guardado, Decimal) or isinstance(recebido, Decimal):
        if Decimal(str(guardado or 0)) == Decimal(str(recebido or 0)):
            return ""
        return f"{nome}: {Decimal(str(guardado or 0)):.2f} → {Decimal(str(recebido or 0)):.2f}"
    if hasattr(guardado, "isoformat") and hasattr(recebido, "isoformat"):
        if guardado == recebido:
            return ""
        return f"{nome}: {guardado.isoformat()} → {recebido.isoformat()}"
    if str(guardado) == str(recebido):
        return ""
    return f"{nome}: {guardado} → {recebido}"
