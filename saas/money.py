"""Money, in one place: amounts are integer fen (分) everywhere; yuan exist only at the edges (forms and pages).

One rounding rule for every computed amount: half-up to the fen (0.5 fen → 1 fen), as Chinese invoices round.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

_CURRENCY_MARKS = ("¥", "￥", "元", ",", "，", " ")
MAX_FEN = 10**13  # ten hundred-billion yuan: far above any real amount, well inside BIGINT


def parse_yuan(raw: str | None) -> int | None:
    """'120', '120.5', '¥1,200.00', '120元' → fen; anything else (text, more than two decimals, negative, absurd)
    → None, so the caller says "enter an amount in yuan"."""
    text = str(raw or "")
    for mark in _CURRENCY_MARKS:
        text = text.replace(mark, "")
    if not text:
        return None
    try:
        value = Decimal(text)
        if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
            return None
    except InvalidOperation:  # not a number, or too large to have cents ("1e30")
        return None
    fen = int(value * 100)
    return fen if fen < MAX_FEN else None


def round_fen(amount: Decimal | int | float | str) -> int:
    """A computed amount in fen (e.g. area × unit price × 100) rounded half-up to a whole fen."""
    return int(Decimal(str(amount)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def yuan_text(fen: int) -> str:
    """39900 → '399'; 39950 → '399.50'; 123456789 → '1,234,567.89' (no currency mark)."""
    sign = "-" if int(fen) < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}" if not cents else f"{sign}{whole:,}.{cents:02d}"


def format_yuan(fen: int | None) -> str:
    """39900 → '¥399'; 39950 → '¥399.50'; None → ''. The Jinja filter ``yuan``."""
    if fen is None:
        return ""
    text = yuan_text(fen)
    return f"-¥{text[1:]}" if text.startswith("-") else f"¥{text}"
