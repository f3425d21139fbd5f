"""Stock per product and county into ``product_stock``; the first county's figures mirrored onto products.

``product_stock`` holds every county (``synced_at`` moves only when a row changes; ``confirmed_at``
is set by :mod:`confirm`);
``products.stock``, ``warehouse_code`` and ``warehouse_grade`` follow the first configured
county, for Haier products only. Same pattern as every writer: one SELECT per chunk, then
at most one bulk INSERT and one bulk UPDATE per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select

from haier_pipeline.haier_api.records import StockRecord

from .bulk import chunked, differs, fetch_by_keys, insert_rows, last_by_key, update_rows
from .counts import WriteCounts
from .tables import product_stock, products

STOCK_COLUMNS = (
    "stock", "warehouse_code", "warehouse_grade", "cut_time", "expected_delivery", "delivery_hours", "is_transfer",
)
MIRRORED_COLUMNS = ("stock", "warehouse_code", "warehouse_grade")


def _values(record: StockRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in STOCK_COLUMNS}


def upsert_product_stock(
    conn: Connection, records: Sequence[StockRecord], first_county: str | None, now: datetime
) -> WriteCounts:
    """Write stock rows (counts are ``product_stock``'s) and mirror ``first_county``'s onto products.

    Pass ``first_county=None`` to skip the mirror; :func:`mirror_first_county` reports its own counts.
    """
    counts = WriteCounts()
    for chunk in chunked(records):
        latest = last_by_key(chunk, lambda record: (record.product_code, record.county_code))
        failed = sum(1 for code, county in latest if not code or not county)
        latest = {key: record for key, record in latest.items() if key[0] and key[1]}
        current = _current_stock(conn, latest)
        inserts, updates, unchanged = [], [], 0
        for key, record in latest.items():
            values = _values(record)
            old = current.get(key)
            if old is None:
                inserts.append({**values, "product_code": key[0], "county_code": key[1], "synced_at": now})
            elif differs(old, values, STOCK_COLUMNS):
                updates.append({**values, "id": old.id, "synced_at": now})
            else:
                unchanged += 1
        insert_rows(conn, product_stock, inserts, conflict=["product_code", "county_code"],
                    update_columns=(*STOCK_COLUMNS, "synced_at"))
        update_rows(conn, product_stock, "id", updates, (*STOCK_COLUMNS, "synced_at"))
        if first_county is not None:
            mirror_first_county(conn, list(latest.values()), first_county, now)
        counts += WriteCounts(len(inserts), len(updates), unchanged, failed)
    return counts


def _current_stock(conn: Connection, keys: dict[tuple[str, str], StockRecord]) -> dict[tuple[str, str], Row[Any]]:
    if not keys:
        return {}
    # Product codes only (see raw_store.store_raw_stock): served by the (product_code, county_code) index.
    codes = list({code for code, _ in keys})
    query = select(product_stock.c.id, product_stock.c.product_code, product_stock.c.county_code,
                   *(product_stock.c[name] for name in STOCK_COLUMNS)).where(product_stock.c.product_code.in_(codes))
    return {(row.product_code, row.county_code): row for row in conn.execute(query)}


def mirror_first_county(conn: Connection, records: Sequence[StockRecord], first_county: str,
                        now: datetime) -> WriteCounts:
    """Copy stock, warehouse code and grade of ``first_county`` records onto Haier products.

    ``skipped`` counts local products and codes the catalog does not hold.
    """
    counts = WriteCounts()
    mine = [record for record in records if record.county_code == first_county and record.product_code]
    for chunk in chunked(mine):
        latest = last_by_key(chunk, lambda record: record.product_code)
        current = fetch_by_keys(conn, products, "product_code", latest, ("id", "source", *MIRRORED_COLUMNS))
        updates, unchanged, skipped = [], 0, 0
        for code, record in latest.items():
            old = current.get(code)
            if old is None or old.source != "haier":
                skipped += 1
                continue
            values = {name: getattr(record, name) for name in MIRRORED_COLUMNS}
            if differs(old, values, MIRRORED_COLUMNS):
                updates.append({**values, "id": old.id, "updated_at": now, "last_changed_at": now})
            else:
                unchanged += 1
        update_rows(conn, products, "id", updates, (*MIRRORED_COLUMNS, "updated_at", "last_changed_at"))
        counts += WriteCounts(0, len(updates), unchanged, 0, skipped)
    return counts
