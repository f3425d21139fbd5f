"""Shop brands by name: an existing brand is reused, a missing one created with the model's defaults."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, select

from haier_pipeline.catalog.bulk import chunked, dialect_insert

from .fit import Fitter
from .tables import ShopTables

FALLBACK_BRAND = "海尔"
"""A product without a brand name still needs one (``brand_id`` is NOT NULL): Haier's own."""


def brand_name(name: str | None, tables: ShopTables, fitter: Fitter, code: str) -> str:
    """The shop's name for a catalogue brand name (cut to the column's length; Haier's when blank)."""
    return fitter.text(tables.brand.c.name, (name or "").strip() or FALLBACK_BRAND, code)


def ensure_shop_brands(conn: Connection, tables: ShopTables, names: Iterable[str], now: datetime) -> dict[str, int]:
    """``{name: id}`` for every name, creating missing brands (``INSERT … ON CONFLICT DO NOTHING``)."""
    brand = tables.brand
    ids: dict[str, int] = {}
    for chunk in chunked(sorted(set(names))):
        query = select(brand.c.name, brand.c.id).where(brand.c.name.in_(chunk))
        found: dict[str, int] = {name: row_id for name, row_id in conn.execute(query)}
        missing = [name for name in chunk if name not in found]
        if missing:
            rows = [{"name": name, "logo": "", "description": "", "order": 0, "is_active": True,
                     "created_at": now, "updated_at": now} for name in missing]
            conn.execute(dialect_insert(conn, brand).on_conflict_do_nothing(), rows)
            found = {name: row_id for name, row_id in conn.execute(query)}
        ids.update(found)
    return ids
