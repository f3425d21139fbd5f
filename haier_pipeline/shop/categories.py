"""A category the shop accepts for every product: Django's ``Product.clean`` wants a ``minor`` or ``item`` one.

A name (the run's category, else the product group — whatever the catalogue filed the product
under) is matched to an existing ``item``, else ``minor`` category of that name (lowest id);
otherwise it is created as an ``item`` under the configured parent, a ``minor`` category that is
itself created under its ``major`` when missing. A product with no name at all goes into the
parent. Created rows carry the model's defaults (``order`` 0, empty ``logo``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, case, select

from haier_pipeline.catalog.bulk import chunked, dialect_insert

from .tables import ShopTables

ACCEPTED_LEVELS = ("item", "minor")


def _row(name: str, level: str, parent_id: int | None, now: datetime) -> dict:
    return {"name": name, "level": level, "parent_id": parent_id, "order": 0, "logo": "",
            "created_at": now, "updated_at": now}


def _find_or_create(conn: Connection, tables: ShopTables, name: str, level: str, parent_id: int | None,
                    now: datetime) -> int:
    category = tables.category
    parent = category.c.parent_id.is_(None) if parent_id is None else category.c.parent_id == parent_id
    query = (select(category.c.id).where(category.c.name == name, category.c.level == level, parent)
             .order_by(category.c.id))
    found = conn.execute(query).scalars().first()
    if found is None:
        conn.execute(category.insert(), _row(name, level, parent_id, now))
        found = conn.execute(query).scalars().one()
    return int(found)


def ensure_parent(conn: Connection, tables: ShopTables, path: tuple[str, str], now: datetime) -> int:
    """The id of the ``minor`` category ``path[1]`` under the ``major`` ``path[0]``, created when missing."""
    major = _find_or_create(conn, tables, path[0], "major", None, now)
    return _find_or_create(conn, tables, path[1], "minor", major, now)


def resolve_categories(conn: Connection, tables: ShopTables, names: Iterable[str], parent_id: int,
                       now: datetime) -> dict[str, int]:
    """``{name: id}`` of an accepted category for each name, creating missing ones as items under ``parent_id``."""
    category = tables.category
    prefer_items = case((category.c.level == "item", 0), else_=1)
    ids: dict[str, int] = {}
    for chunk in chunked(sorted(set(names))):
        query = (select(category.c.name, category.c.id).where(category.c.name.in_(chunk),
                                                               category.c.level.in_(ACCEPTED_LEVELS))
                 .order_by(category.c.name, prefer_items, category.c.id))
        found: dict[str, int] = {}
        for name, row_id in conn.execute(query):
            found.setdefault(name, row_id)
        missing = [name for name in chunk if name not in found]
        if missing:
            rows = [_row(name, "item", parent_id, now) for name in missing]
            conn.execute(dialect_insert(conn, category).on_conflict_do_nothing(), rows)
            for name, row_id in conn.execute(query.where(category.c.name.in_(missing))):
                found.setdefault(name, row_id)
        ids.update(found)
    return ids
