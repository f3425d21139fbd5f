"""Products from Haier's listing: insert new, update changed, leave unchanged and local rows alone.

Each chunk reads the current rows for its codes in one SELECT, compares in Python and
issues at most one bulk INSERT and one bulk UPDATE. ``last_changed_at`` and ``updated_at``
move only when a row really changed, so re-syncing an unchanged listing writes nothing here
(``last_sync_at``, last confirmed, is set by :mod:`confirm`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from haier_pipeline.haier_api.records import ProductRecord

from .bulk import CHUNK_SIZE, chunked, differs, fetch_by_keys, insert_rows, last_by_key, update_rows
from .counts import WriteCounts
from .tables import products

LISTING_COLUMNS = (
    "name",
    "product_model",
    "product_group",
    "brand_id",
    "category_id",
    "is_sales",
    "no_sales_reason",
    "product_image_url",
    "product_page_urls",
)
_UPDATED = (*LISTING_COLUMNS, "updated_at", "last_changed_at")


def product_name(record: ProductRecord) -> str:
    """Haier's listing has no name: brand, model and group make one (``海尔 EC6001-HT3 电热水器``)."""
    parts = (record.brand_name, record.product_model, record.product_group)
    return " ".join(part.strip() for part in parts if part and part.strip()) or record.product_code


def _lookup(ids: Mapping[str, int], name: str | None, what: str) -> int | None:
    name = (name or "").strip()
    if not name:
        return None
    try:
        return ids[name]
    except KeyError:
        raise KeyError(f"{what} {name!r} has no id: pass it through ensure_{what} first") from None


def listing_values(
    record: ProductRecord, brand_ids: Mapping[str, int], category_ids: Mapping[str, int],
    brand_override: int | None, category_override: int | None,
) -> dict[str, Any]:
    """The product columns a listing entry determines."""
    return {
        "name": product_name(record),
        "product_model": record.product_model,
        "product_group": record.product_group,
        "brand_id": brand_override if brand_override is not None else _lookup(brand_ids, record.brand_name, "brands"),
        "category_id": category_override
        if category_override is not None
        else _lookup(category_ids, record.product_group, "categories"),
        "is_sales": record.is_sales,
        "no_sales_reason": record.no_sales_reason,
        "product_image_url": record.image_url,
        "product_page_urls": list(record.page_urls),
    }


def upsert_products(
    conn: Connection,
    records: Sequence[ProductRecord],
    brand_ids: Mapping[str, int],
    category_ids: Mapping[str, int],
    now: datetime,
    *,
    category_override: int | None = None,
    brand_override: int | None = None,
) -> WriteCounts:
    """Write listing entries into ``products``; ``source='local'`` rows are counted as ``skipped``.

    ``brand_ids``/``category_ids`` map brand names and product groups to ids (see
    :mod:`lookups`); an override id, when given, replaces the lookup for every record.
    Duplicate codes in ``records`` collapse to the last one.
    """
    counts = WriteCounts()
    for chunk in chunked(records):
        latest = last_by_key(chunk, lambda record: record.product_code)
        failed = sum(1 for code in latest if not code)
        latest = {code: record for code, record in latest.items() if code}
        current = fetch_by_keys(conn, products, "product_code", latest, ("id", "source", *LISTING_COLUMNS))
        inserts, updates, unchanged, skipped = [], [], 0, 0
        for code, record in latest.items():
            values = listing_values(record, brand_ids, category_ids, brand_override, category_override)
            old = current.get(code)
            if old is None:
                inserts.append({**values, "product_code": code, "source": "haier", "is_active": True,
                                "created_at": now, "updated_at": now, "last_changed_at": now})
            elif old.source != "haier":
                skipped += 1
            elif differs(old, values, LISTING_COLUMNS):
                updates.append({**values, "id": old.id, "updated_at": now, "last_changed_at": now})
            else:
                unchanged += 1
        # A product created meanwhile (possibly a local one) is left alone rather than overwritten.
        insert_rows(conn, products, inserts, conflict=["product_code"])
        update_rows(conn, products, "id", updates, _UPDATED)
        counts += WriteCounts(len(inserts), len(updates), unchanged, failed, skipped)
    return counts


def mark_delisted(conn: Connection, listed_codes: set[str], now: datetime) -> int:
    """Haier products missing from a complete listing get ``is_sales='0'`` (kept, never deleted).

    Only rows not already '0' are written; returns how many. An empty ``listed_codes``
    changes nothing (an empty listing is likelier a failed fetch than an empty catalogue).
    """
    if not listed_codes:
        return 0
    query = select(products.c.id, products.c.product_code).where(
        products.c.source == "haier", products.c.is_sales != "0"
    )
    gone = [row.id for row in conn.execute(query) if row.product_code not in listed_codes]
    for chunk in chunked(gone, CHUNK_SIZE):
        rows = [{"id": row_id, "is_sales": "0", "updated_at": now, "last_changed_at": now} for row_id in chunk]
        update_rows(conn, products, "id", rows, ("is_sales", "updated_at", "last_changed_at"))
    return len(gone)
