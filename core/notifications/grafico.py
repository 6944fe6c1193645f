"""The small chart of the daily e-mail: documents per day, as bars the template draws with table cells.

Why table cells and not an image: Gmail and Outlook do not show `data:` images, many clients drop
inline SVG, and a linked image is an external resource (and a tracking pixel to some). Cells of a
given width and background colour render in every client, with images blocked, and need nothing from
outside the message. The text part gets the same bars drawn with characters.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import formatacao as fmt

LARGURA_TEXTO = 24  # characters of the longest bar in the text part


def barras_por_dia(por_dia) -> list[dict]:
    """[{rotulo, nfe, cte, pct_nfe, pct_cte, pct_resto, texto, destaque}], the last day highlighted.

    `por_dia`: [{periodo, nfe: {quantidade}, cte: {quantidade}}] (the /api/estatisticas/ series).
    Widths are percentages of the busiest day; a day with any document gets at least 1%.
    """
    dias = [(linha["periodo"], _quantidade(linha, "nfe"), _quantidade(linha, "cte")) for linha in por_dia or []]
    maior = max((nfe + cte for _, nfe, cte in dias), default=0)
    if not maior:
        return []
    barras = []
    for posicao, (periodo, nfe, cte) in enumerate(dias):
        pct_nfe, pct_cte = _porcento(nfe, maior), _porcento(cte, maior)
        barras.append({
            "rotulo": fmt.formatar_data(periodo)[:5],
            "nfe": nfe, "cte": cte,
            "pct_nfe": pct_nfe, "pct_cte": pct_cte, "pct_resto": 100 - pct_nfe - pct_cte,
            "texto": "█" * round(LARGURA_TEXTO * nfe / maior) + "▒" * round(LARGURA_TEXTO * cte / maior),
            "destaque": posicao == len(dias) - 1,
        })  # fmt: skip
    return barras


def _quantidade(linha: Mapping, tipo: str) -> int:
    return int(fmt.campo(linha.get(tipo) or {}, "quantidade", 0))


def _porcento(parte: int, maior: int) -> int:
    return max(1, 100 * parte // maior) if parte else 0
