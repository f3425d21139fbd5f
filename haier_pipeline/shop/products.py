"""The catalogue's Haier products into the shop's product table, by ``product_code``, set-based per chunk.

Each chunk costs one SELECT of the shop's rows, one of the published-name state, and at
most one INSERT plus one UPDATE per distinct set of changed columns. A row the shop marked
``source='local'`` is never touched. The sale ``price`` is set once (market price, else supply
price) and kept once it holds a value; the ``name`` follows Haier only while the shop still
shows the name we last published (a row we never published keeps its name unless it equals
ours). Columns the shop owns (``description``, ``tag``, ``dealer_price``, counters,
``show_in_*``, ``is_active``) are written on insert with the model's defaults, never afterwards.
Delisted products stay, with ``is_sales='0'``. ``last_sync_at`` is the catalogue's: when Haier last
confirmed the price, as the original command meant it; a row whose only news is a newer confirmation
gets that one column, in one UPDATE per chunk (``updated_at`` stays: nothing changed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from haier_pipeline.catalog.bulk import fetch_by_keys, insert_rows, update_rows
from haier_pipeline.catalog.prices import sale_price
from haier_pipeline.catalog.writes import WriteCounts

from .fit import Fitter
from .tables import ShopTables

MONEY_COLUMNS = ("supply_price", "invoice_price", "market_price", "stock_rebate", "rebate_money")
TEXT_COLUMNS = ("product_model", "product_group", "no_sales_reason", "warehouse_code", "warehouse_grade",
                "product_image_url", "is_sales")
HAIER_COLUMNS = (*MONEY_COLUMNS, *TEXT_COLUMNS, "product_page_urls", "stock", "category_id", "brand_id")
"""Columns Haier's data decides on every publish (besides ``name`` and ``price``, which have their own rules)."""
SHOP_DEFAULTS: dict[str, Any] = {
    "description": "", "tag": "", "dealer_price": None, "view_count": 0, "sales_count": 0,
    "show_in_gift_zone": False, "show_in_designer_zone": False, "is_active": True,
    "main_images": [], "detail_images": [],
}
"""The model's defaults for the columns the shop owns (the image lists are filled by the images pass)."""
ZERO = Decimal("0.00")


@dataclass
class ProductPublish:
    """What one publish did: row counts, and the products refused by name."""

    counts: WriteCounts = field(default_factory=WriteCounts)
    refused: list[str] = field(default_factory=list)
    names_kept: int = 0


def haier_values(row: Mapping[str, Any], brand_id: int, category_id: int, tables: ShopTables,
                 fitter: Fitter) -> dict[str, Any]:
    """The shop columns one catalogue product decides, fitted to the shop's column types."""
    columns, code = tables.product.c, row["product_code"]
    values: dict[str, Any] = {name: fitter.decimal(columns[name], row[name], code) for name in MONEY_COLUMNS}
    values.update({name: fitter.text(columns[name], row[name], code) for name in TEXT_COLUMNS})
    values.update(product_page_urls=list(row["product_page_urls"] or []), stock=max(int(row["stock"] or 0), 0),
                  category_id=category_id, brand_id=brand_id)
    return values


def _price(current: Decimal | None, values: Mapping[str, Any]) -> Decimal:
    return sale_price(current, values["market_price"], values["supply_price"]) or ZERO


def publish_products(
    conn: Connection, tables: ShopTables, rows: Sequence[Mapping[str, Any]], brand_ids: Mapping[str, int],
    category_ids: Mapping[str, int], fitter: Fitter, now: datetime,
) -> ProductPublish:
    """Publish one chunk of catalogue rows (with ``shop_brand``/``shop_category`` names resolved to ids)."""
    product, state = tables.product, tables.state
    result = ProductPublish()
    code_length = int(getattr(product.c.product_code.type, "length", 0) or 50)
    fitting = {row["product_code"]: row for row in rows if len(row["product_code"]) <= code_length}
    result.refused += [f"{row['product_code']}: product code longer than {code_length} characters"
                       for row in rows if row["product_code"] not in fitting]
    current = fetch_by_keys(conn, product, "product_code", fitting,
                            ("id", "source", "name", "price", "last_sync_at", *HAIER_COLUMNS))
    published = fetch_by_keys(conn, state, "product_code", fitting, ("published_name",))
    inserts: list[dict[str, Any]] = []
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    names: list[dict[str, Any]] = []
    confirmed: list[dict[str, Any]] = []
    unchanged = skipped = 0
    for code, row in fitting.items():
        values = haier_values(row, brand_ids[row["shop_brand"]], category_ids[row["shop_category"]], tables, fitter)
        name = fitter.text(product.c.name, row["name"], code)
        old = current.get(code)
        if old is None:
            inserts.append({**SHOP_DEFAULTS, **values, "product_code": code, "name": name, "source": "haier",
                            "price": _price(None, values), "created_at": now, "updated_at": now,
                            "last_sync_at": row["last_sync_at"]})
            names.append({"product_code": code, "published_name": name, "published_at": now})
            continue
        if old.source != "haier":
            skipped += 1
            continue
        changes = {column: value for column, value in values.items() if getattr(old, column) != value}
        price = _price(old.price, values)
        if price != old.price:
            changes["price"] = price
        last_name = published[code].published_name if code in published else None
        if last_name is None:
            # A row we never published (e.g. the old command's): its name is the shop's unless it is already ours.
            names.append({"product_code": code, "published_name": name, "published_at": now})
            result.names_kept += old.name != name
        elif old.name != last_name:
            result.names_kept += 1  # the shop renamed it: its name now
        elif name != old.name:
            changes["name"] = name
            names.append({"product_code": code, "published_name": name, "published_at": now})
        if changes:
            updates[tuple(sorted(changes))].append({**changes, "id": old.id, "updated_at": now,
                                                    "last_sync_at": row["last_sync_at"]})
        else:
            unchanged += 1
            if row["last_sync_at"] != old.last_sync_at:
                confirmed.append({"id": old.id, "last_sync_at": row["last_sync_at"]})
    insert_rows(conn, product, inserts, conflict=["product_code"])
    for columns, batch in updates.items():
        update_rows(conn, product, "id", batch, (*columns, "updated_at", "last_sync_at"))
    update_rows(conn, product, "id", confirmed, ("last_sync_at",))
    insert_rows(conn, state, names, conflict=["product_code"], update_columns=("published_name", "published_at"))
    written = sum(len(batch) for batch in updates.values())
    result.counts = WriteCounts(len(inserts), written, unchanged, len(result.refused), skipped)
    return result
