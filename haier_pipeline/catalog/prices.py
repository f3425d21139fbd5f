"""Haier's price answers onto products, keeping the shop's own sale price once it has one.

Supply price, invoice price, the direct discount (and its kind: rate, amount or unknown), rebate
type and money, the answer's reason and ``is_sales`` mirror the latest answer (a missing supply
price — ``价格未生效`` — or a refused field is stored as NULL).
``price`` is the shop's: set from the market price, else the supply price, only while it is
NULL or 0. Values are compared as decimals at the column's scale (2999.00 == 2999.0000),
so an unchanged answer writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from haier_pipeline.haier_api.pricing import rebate_kind
from haier_pipeline.haier_api.records import PriceRecord

from .bulk import chunked, differs, fetch_by_keys, last_by_key, update_rows
from .counts import WriteCounts
from .tables import products
from .types import MONEY

PRICE_COLUMNS = ("supply_price", "invoice_price", "stock_rebate", "stock_rebate_kind", "rebate_type", "price_reason",
                 "rebate_money", "is_sales", "price")
_UPDATED = (*PRICE_COLUMNS, "updated_at", "last_changed_at")


def _empty(value: Decimal | None) -> bool:
    return value is None or value == 0


def sale_price(current: Decimal | None, market_price: Decimal | None, supply_price: Decimal | None) -> Decimal | None:
    """The shop's sale price after a sync: kept once set, else market price, else supply price."""
    if not _empty(current):
        return current
    if not _empty(market_price):
        return market_price
    if not _empty(supply_price):
        return supply_price
    return current


def price_values(record: PriceRecord, current: Any) -> dict[str, Any]:
    """The product columns a price answer determines, given the product's current row."""
    supply, invoice = MONEY.quantize(record.supply_price), MONEY.quantize(record.invoice_price)
    discount, rebate = MONEY.quantize(record.stock_rebate), MONEY.quantize(record.rebate_money)
    return {
        "supply_price": supply,
        "invoice_price": invoice,
        "stock_rebate": discount,
        "stock_rebate_kind": rebate_kind(supply, invoice, discount, rebate),
        "rebate_type": record.rebate_type,
        "price_reason": record.reason or None,
        "rebate_money": rebate,
        # A refused flag changes nothing.
        "is_sales": record.is_sales if record.is_sales is not None else current.is_sales,
        "price": sale_price(current.price, current.market_price, supply),
    }


def apply_prices(conn: Connection, records: Sequence[PriceRecord], now: datetime) -> WriteCounts:
    """Update Haier products from price answers; ``skipped`` counts local products and unknown codes."""
    counts = WriteCounts()
    for chunk in chunked(records):
        latest = last_by_key(chunk, lambda record: record.product_code)
        failed = sum(1 for code in latest if not code)
        latest = {code: record for code, record in latest.items() if code}
        current = fetch_by_keys(conn, products, "product_code", latest, ("id", "source", "market_price",
                                                                         *PRICE_COLUMNS))
        updates, unchanged, skipped = [], 0, 0
        for code, record in latest.items():
            old = current.get(code)
            if old is None or old.source != "haier":
                skipped += 1
                continue
            values = price_values(record, old)
            if differs(old, values, PRICE_COLUMNS):
                updates.append({**values, "id": old.id, "updated_at": now, "last_changed_at": now})
            else:
                unchanged += 1
        update_rows(conn, products, "id", updates, _UPDATED)
        counts += WriteCounts(0, len(updates), unchanged, failed, skipped)
    return counts
