"""Set-based building blocks shared by every writer: chunking, keyed reads, bulk inserts and updates.

Each helper issues one statement for a whole chunk (an executemany counts as one), and
the insert helper picks the dialect's own ``INSERT … ON CONFLICT`` so the same code runs
on SQLite and PostgreSQL.

On PostgreSQL a large chunk travels by ``COPY`` (psycopg 3's ``cursor.copy``) into a temporary
table, then lands with one ``INSERT … SELECT … ON CONFLICT`` or ``UPDATE … FROM``: one round trip
for the rows and one statement, where an executemany of updates costs a round trip per row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Row, Table, bindparam, column, select, table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.expression import TableClause

from haier_pipeline.constants import CHUNK_SIZE

T = TypeVar("T")

"""Rows per statement: large enough to amortise round trips, small enough for any bind-parameter limit."""

COPY_MIN_ROWS = 50
"""On PostgreSQL, chunks of at least this many rows go through ``COPY`` (smaller ones: a plain executemany)."""


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
    staged = _staged(conn, table, rows, list(rows[0]))
    statement: Any = dialect_insert(conn, table) if conflict else table.insert()
    if staged is not None:
        names = list(rows[0])
        statement = statement.from_select(names, select(*(staged.c[name] for name in names)))
    if conflict and update_columns:
        statement = statement.on_conflict_do_update(
            index_elements=list(conflict), set_={name: statement.excluded[name] for name in update_columns}
        )
    elif conflict:
        statement = statement.on_conflict_do_nothing(index_elements=list(conflict))
    if staged is not None:
        conn.execute(statement)
    else:
        conn.execute(statement, list(rows))


def update_rows(conn: Connection, table: Table, key: str, rows: Sequence[Mapping[str, Any]],
                columns: Sequence[str]) -> None:
    """``UPDATE table SET columns… WHERE key = …`` for every row, as one executemany."""
    if not rows:
        return
    staged = _staged(conn, table, rows, [key, *columns])
    if staged is not None:
        values = {name: staged.c[name] for name in columns}
        conn.execute(update(table).where(table.c[key] == staged.c[key]).values(values))
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


def _staged(
    conn: Connection, target: Table, rows: Sequence[Mapping[str, Any]], names: Sequence[str]
) -> TableClause | None:
    """On PostgreSQL, ``COPY`` ``rows`` (``names`` of them) into an empty temporary table shaped like ``target``'s
    columns and return it; ``None`` where a plain executemany is used instead (SQLite, small chunks)."""
    if conn.dialect.name != "postgresql" or len(rows) < COPY_MIN_ROWS:
        return None
    tag = hashlib.sha1(",".join(names).encode()).hexdigest()[:10]
    name = f"_copy_{target.name}_{tag}"
    columns = ", ".join(f'"{n}"' for n in names)
    # Same column types as the target, no constraints; dropped with the transaction, emptied between chunks.
    conn.exec_driver_sql(
        f'CREATE TEMP TABLE IF NOT EXISTS "{name}" ON COMMIT DROP AS SELECT {columns} FROM "{target.name}" WITH NO DATA'
    )
    conn.exec_driver_sql(f'TRUNCATE "{name}"')
    processors = [target.c[n].type._cached_bind_processor(conn.dialect) for n in names]
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(f'COPY "{name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([process(value) if process is not None else value
                            for process, value in zip(processors, (row[n] for n in names), strict=True)])
    return table(name, *(column(n) for n in names))
