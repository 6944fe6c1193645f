"""Fixed emission dates for API tests, so filters and orderings are deterministic."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

SP = ZoneInfo("America/Sao_Paulo")


def dia(n: int) -> datetime:
    """10:00 in São Paulo, `n` days after 2026-10-01."""
    return datetime(2026, 10, 1, 10, 0, tzinfo=SP) + timedelta(days=n)
