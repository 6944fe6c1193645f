"""The recipient's manifestation of an NF-e: its deadline, and the state that counts.

Deadline: every manifestation within 180 days of the NF-e's authorization (Ajuste SINIEF 07/05, cláusula
décima quinta-C, as amended by Ajustes SINIEF 44/20 and 43/23; NT 2020.001 v1.50, in production since
2024-08-01). The authorization time is the protocol's dhRecbto; without a protocol, dhEmi.
"""

from __future__ import annotations

from datetime import datetime, timedelta

PRAZO_DA_MANIFESTACAO = timedelta(days=180)


def prazo_da_manifestacao(modelo: str, autorizada_em: datetime | None) -> datetime | None:
    """When the conclusive manifestation is due; None for NFC-e (modelo 65 has no manifestation)."""
    if modelo != "55" or autorizada_em is None:
        return None
    return autorizada_em + PRAZO_DA_MANIFESTACAO
