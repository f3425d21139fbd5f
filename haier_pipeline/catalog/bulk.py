"""Set-based building blocks shared by every writer: chunking, keyed reads, bulk inserts and updates.

Each helper issues one statement for a whole chunk (an executemany counts as one), and
the insert helper picks the dialect's own ``INSERT … ON CONFLICT`` so the same code runs
on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Row, Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from haier_pipeline.constants import CHUNK_SIZE

T = TypeVar("T")

"""Rows per statement: large enough to amortise round trips, small enough for any bind-parameter limit."""


def chunked(items: Iterable[T], size: int = CHUNK_SIZE) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items, consuming ``items`` lazily."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def dialect_insert(conn: Connection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """``INSERT`` with the dialect's ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
    name = conn.dialect.name
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"the catalog supports SQLite and PostgreSQL, not {name}")


def fetch_by_keys(
    conn: Connection, table: Table, key: str, keys: Collection[Any], columns: Sequence[str],
    *where: ColumnElement[bool],
) -> dict[Any, Row[Any]]:
    """Current rows for ``keys`` (one ``SELECT … WHERE key IN (…)``), by key."""
    if not keys:
        return {}
    statement = select(*(table.c[name] for name in dict.fromkeys((key, *columns)))).where(
        table.c[key].in_(list(keys)), *where
    )
    return {row[0]: row for row in conn.execute(statement)}


def differs(old: Row[Any], values: Mapping[str, Any], columns: Sequence[str]) -> bool:
    """True when any of ``columns`` differs between a stored row and the values a sync wants."""
    stored = old._mapping
    return any(stored[name] != values[name] for name in columns)


def insert_rows(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, conflict: Sequence[str] | None = None,
    update_columns: Sequence[str] = (),
) -> None:
    """Insert ``rows`` in one executemany.

    With ``conflict`` (the unique columns), a row that appeared meanwhile is left alone, or
    overwritten in ``update_columns`` when those are given.
    """
    if not rows:
        return
    statement: Any = dialect_insert(conn, table) if conflict else table.insert()
    if conflict and update_columns:
        statement = statement.on_conflict_do_update(
            index_elements=list(conflict), set_={name: statement.excluded[name] for name in update_columns}
        )
    elif conflict:
        statement = statement.on_conflict_do_nothing(index_elements=list(conflict))
    conn.execute(statement, list(rows))


def update_rows(conn: Connection, table: Table, key: str, rows: Sequence[Mapping[str, Any]],
                columns: Sequence[str]) -> None:
    """``UPDATE table SET columns… WHERE key = …`` for every row, as one executemany."""
    if not rows:
        return
    statement = (
        update(table)
        .where(table.c[key] == bindparam("k__" + key))
        .values({name: bindparam("v__" + name) for name in columns})
    )
    params = [{"k__" + key: row[key], **{"v__" + name: row[name] for name in columns}} for row in rows]
    conn.execute(statement, params)


def last_by_key(items: Iterable[T], key: Any) -> dict[Any, T]:
    """Duplicates collapse: the last item for each key wins, first-seen order is kept."""
    return {key(item): item for item in items}
