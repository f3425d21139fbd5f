"""Brands and categories, created the first time a product names them; ids by name for the upserts.

A name already present costs one SELECT and no write. New names go in with
``INSERT … ON CONFLICT DO NOTHING`` so two runs racing to create the same brand both succeed.
Categories are unique per (name, level, parent) through an expression index on
``coalesce(parent_id, 0)``; top-level (``major``) categories have no parent.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, func, select

from .bulk import chunked, dialect_insert
from .tables import CATEGORY_LEVELS, brands, categories


def _clean(names: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(name.strip() for name in names if name and name.strip()))


def ensure_brands(conn: Connection, names: Iterable[str | None]) -> dict[str, int]:
    """``{name: id}`` for every non-blank name, creating missing brands."""
    wanted = _clean(names)
    ids: dict[str, int] = {}
    for chunk in chunked(wanted):
        query = select(brands.c.name, brands.c.id).where(brands.c.name.in_(chunk))
        found: dict[str, int] = {name: id_ for name, id_ in conn.execute(query)}
        missing = [name for name in chunk if name not in found]
        if missing:
            conn.execute(dialect_insert(conn, brands).on_conflict_do_nothing(), [{"name": name} for name in missing])
            found = {name: id_ for name, id_ in conn.execute(query)}
        ids.update(found)
    return ids


def ensure_categories(
    conn: Connection, names: Iterable[str | None], level: str = "major", parent_id: int | None = None
) -> dict[str, int]:
    """``{name: id}`` for every non-blank name at ``level`` under ``parent_id``, creating missing ones."""
    if level not in CATEGORY_LEVELS:
        raise ValueError(f"category level must be one of {CATEGORY_LEVELS}, not {level!r}")
    wanted = _clean(names)
    ids: dict[str, int] = {}
    for chunk in chunked(wanted):
        query = select(categories.c.name, categories.c.id).where(
            categories.c.name.in_(chunk), categories.c.level == level,
            func.coalesce(categories.c.parent_id, 0) == (parent_id or 0),
        )
        found: dict[str, int] = {name: id_ for name, id_ in conn.execute(query)}
        missing = [name for name in chunk if name not in found]
        if missing:
            rows = [{"name": name, "level": level, "parent_id": parent_id} for name in missing]
            conn.execute(dialect_insert(conn, categories).on_conflict_do_nothing(), rows)
            found = {name: id_ for name, id_ in conn.execute(query)}
        ids.update(found)
    return ids
