"""Realistic NF-e/NFC-e 4.00, CT-e/CT-e OS 4.00, events and DistDFe summaries, signed with a test certificate.

Used by the test suite, the demo data and the benchmark, so: built directly with lxml, deterministic for a
given ``random.Random(seed)`` (and explicit dates), and fast enough for thousands of documents. Element
order follows the official schemas (nfelib PL_010 / PL_CTe_400); amounts are consistent: item values sum
to the totals and vNF = vProd - vDesc + vFrete + vIPI.

Layout: ``comum`` (namespaces, parties, random data, XML/key/protocol helpers), ``nfe`` and ``itens``
(NF-e/NFC-e and their items' amounts), ``cte`` (CT-e, CT-e OS), ``cte_outros`` (GTV-e, CT-e Simplificado),
``eventos`` (NF-e and CT-e events), ``resumos`` (resNFe, resEvento and the batch ZIP).
"""

from .comum import FUSO, NS_CTE, NS_NFE, DocumentoGerado
from .cte import gerar_cte, gerar_cte_os
from .cte_outros import gerar_cte_simplificado, gerar_gtve
from .eventos import (
    DESCRICOES_EVENTO_CTE,
    DESCRICOES_EVENTO_NFE,
    gerar_evento_cte,
    gerar_evento_nfe,
)
from .nfe import gerar_nfe
from .resumos import gerar_lote_zip, gerar_resumo_evento, gerar_resumo_nfe

__all__ = [
    "DESCRICOES_EVENTO_CTE",
    "DESCRICOES_EVENTO_NFE",
    "FUSO",
    "NS_CTE",
    "NS_NFE",
    "DocumentoGerado",
    "gerar_cte",
    "gerar_cte_os",
    "gerar_cte_simplificado",
    "gerar_evento_cte",
    "gerar_evento_nfe",
    "gerar_gtve",
    "gerar_lote_zip",
    "gerar_nfe",
    "gerar_resumo_evento",
    "gerar_resumo_nfe",
]
