"""Money as people read it."""

from __future__ import annotations

from decimal import Decimal


def format_usd(amount: Decimal | None) -> str:
    """ "$0.48" for display; "—" when unknown."""
    if amount is None:
        return "—"
    return f"${amount:,.2f}"
