"""Count the SQL statements an engine executes: proof that writes are set-based and no-ops write nothing.

Counted at ``Connection.execute`` level through SQLAlchemy's ``before_execute`` event,
so an executemany of 1,000 rows counts as one statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.sql.dml import Delete, Insert, Update
from sqlalchemy.sql.selectable import Select

WRITE_WORDS = ("INSERT", "UPDATE", "DELETE")
READ_WORDS = ("SELECT", "WITH")


@dataclass
class StatementCount:
    """Statements seen while counting: ``writes`` (INSERT/UPDATE/DELETE) and ``reads`` (SELECT), with their SQL."""

    write_sql: list[str] = field(default_factory=list)
    read_sql: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return len(self.write_sql)

    @property
    def reads(self) -> int:
        return len(self.read_sql)


def _kind(statement: Any) -> str | None:
    if isinstance(statement, (Insert, Update, Delete)):
        return "write"
    if isinstance(statement, Select):
        return "read"
    words = str(statement).split(None, 1)
    first = words[0].upper() if words else ""
    if first in WRITE_WORDS:
        return "write"
    if first in READ_WORDS:
        return "read"
    return None


@contextmanager
def count_statements(engine: Engine) -> Iterator[StatementCount]:
    """Count statements executed on ``engine`` inside the ``with`` block."""
    counted = StatementCount()

    def before_execute(conn: Any, clauseelement: Any, multiparams: Any, params: Any, execution_options: Any) -> None:
        kind = _kind(clauseelement)
        if kind is not None:
            sql = " ".join(str(clauseelement).split())[:300]
            (counted.write_sql if kind == "write" else counted.read_sql).append(sql)

    event.listen(engine, "before_execute", before_execute)
    try:
        yield counted
    finally:
        event.remove(engine, "before_execute", before_execute)
