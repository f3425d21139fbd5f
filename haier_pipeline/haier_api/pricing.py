"""Haier's invoice formula, and what it says a direct discount is: a rate, an amount, or unknown.

Haier defines 开票价 = 普通供价 × (1 − 直扣) − 台返, which makes the discount a rate; gateways and the
original system's notes also send it as an amount (supply − discount − rebate). Whichever formula
reproduces the invoice price to the cent — rounded half-up or half-even, both occur — names the kind.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Literal

RebateKind = Literal["rate", "amount", "unknown"]
CENT = Decimal("0.01")
ROUNDINGS = (ROUND_HALF_UP, ROUND_HALF_EVEN)


def rate_invoice(supply: Decimal, discount: Decimal, rebate: Decimal) -> Decimal:
    """The unrounded invoice price when the discount is a rate: supply × (1 − discount) − rebate."""
    return supply * (1 - discount) - rebate


def amount_invoice(supply: Decimal, discount: Decimal, rebate: Decimal) -> Decimal:
    """The unrounded invoice price when the discount is an amount: supply − discount − rebate."""
    return supply - discount - rebate


def reproduces(invoice: Decimal, exact: Decimal) -> bool:
    """True when ``invoice`` is ``exact`` itself or ``exact`` rounded to the cent half-up or half-even."""
    return invoice == exact or any(invoice == exact.quantize(CENT, rounding) for rounding in ROUNDINGS)


def rebate_kind(supply: Decimal | None, invoice: Decimal | None, discount: Decimal | None,
                rebate: Decimal | None) -> RebateKind | None:
    """``rate``/``amount`` by the formula that reproduces ``invoice``, ``unknown`` when neither does or a term
    is missing; None when there is no numeric discount at all. A zero discount (both agree) is a ``rate``."""
    if discount is None:
        return None
    if supply is None or invoice is None:
        return "unknown"
    rebate = rebate if rebate is not None else Decimal(0)
    if 0 <= discount <= 1 and reproduces(invoice, rate_invoice(supply, discount, rebate)):
        return "rate"
    if reproduces(invoice, amount_invoice(supply, discount, rebate)):
        return "amount"
    return "unknown"
