"""``haier_sync_log``: one row per (run, sync type), opened as ``processing`` and always closed.

Closing decides the status the original system showed operators: ``success`` (nothing
failed), ``partial`` (some records failed — the message says how many and names them),
``failed`` (the sync itself raised). Rows left ``processing`` by a killed process are closed
later by :func:`close_stale_sync_logs` or :func:`fail_sync_logs_for_run`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, select, update

from .bulk import chunked, dialect_insert
from .tables import SYNC_TYPES, haier_sync_log

OPEN_STATUSES = ("pending", "processing")
NAMES_IN_MESSAGE = 50
NAME_LENGTH = 300
ERROR_LENGTH = 2000

log = haier_sync_log


def open_sync_log(conn: Connection, sync_type: str, run_id: str | None, now: datetime) -> int:
    """The id of the run's row for ``sync_type``, created or re-opened as ``processing``.

    A retried step re-opens its run's row (keeping ``started_at``); ``run_id=None``
    (a sync outside Dagster) always gets a new row.
    """
    if sync_type not in SYNC_TYPES:
        raise ValueError(f"sync_type must be one of {SYNC_TYPES}, not {sync_type!r}")
    row = {"sync_type": sync_type, "run_id": run_id, "status": "processing", "started_at": now}
    if run_id is None:
        return conn.execute(log.insert().returning(log.c.id), row).scalar_one()
    conn.execute(dialect_insert(conn, log).on_conflict_do_nothing(index_elements=["run_id", "sync_type"]), row)
    found = conn.execute(
        select(log.c.id, log.c.status).where(log.c.run_id == run_id, log.c.sync_type == sync_type)
    ).one()
    if found.status != "processing":
        conn.execute(
            update(log).where(log.c.id == found.id).values(status="processing", completed_at=None, message=None)
        )
    return found.id


def failure_message(failed: int, total: int, failures: Sequence[str]) -> str:
    """``"3 of 120 failed: A: reason; B: reason; … and 1 more"`` with at most 50 names."""
    names = [name if len(name) <= NAME_LENGTH else name[:NAME_LENGTH - 1] + "…" for name in failures[:NAMES_IN_MESSAGE]]
    text = f"{failed} of {total} failed"
    if names:
        text += ": " + "; ".join(names)
    if len(failures) > NAMES_IN_MESSAGE:
        text += f"; … and {len(failures) - NAMES_IN_MESSAGE} more"
    return text


def close_sync_log(
    conn: Connection, log_id: int, *, total: int, success: int, failed: int, failures: Sequence[str], error: str | None,
    now: datetime,
) -> str:
    """Record the counts and final status (returned).

    ``failed`` with ``error``, ``partial`` with failures, else ``success``.
    """
    failed = max(failed, len(failures))
    if error is not None:
        status = "failed"
        message = f"failed: {error[:ERROR_LENGTH]}"
        if failed:
            message += "; " + failure_message(failed, total, failures)
    elif failed:
        status, message = "partial", failure_message(failed, total, failures)
    else:
        status, message = "success", f"{success} of {total} succeeded"
    conn.execute(
        update(log)
        .where(log.c.id == log_id)
        .values(status=status, message=message, total_count=total, success_count=success,
                failed_count=failed, completed_at=now)
    )
    return status


def close_stale_sync_logs(conn: Connection, active_run_ids: set[str] | None, reason: str, now: datetime) -> int:
    """Mark open rows of runs no longer alive as ``failed`` with ``reason``; returns how many.

    ``active_run_ids=None`` closes every open row. Otherwise rows of the given runs stay
    open, and rows without a run id (syncs outside Dagster) are left alone.
    """
    query = select(log.c.id, log.c.run_id).where(log.c.status.in_(OPEN_STATUSES))
    if active_run_ids is not None:
        query = query.where(log.c.run_id.is_not(None))
    stale = [row.id for row in conn.execute(query) if active_run_ids is None or row.run_id not in active_run_ids]
    for chunk in chunked(stale):
        conn.execute(
            update(log).where(log.c.id.in_(chunk)).values(status="failed", message=reason[:ERROR_LENGTH],
                                                          completed_at=now)
        )
    return len(stale)


def fail_sync_logs_for_run(conn: Connection, run_id: str, reason: str, now: datetime) -> int:
    """Close the open rows of one run (e.g. from a run-failure sensor) as ``failed``; returns how many."""
    ids = list(conn.execute(select(log.c.id).where(log.c.run_id == run_id, log.c.status.in_(OPEN_STATUSES))).scalars())
    if ids:
        conn.execute(update(log).where(log.c.id.in_(ids)).values(status="failed", message=reason[:ERROR_LENGTH],
                                                                 completed_at=now))
    return len(ids)


def open_sync_logs(conn: Connection) -> list[tuple[int, str]]:
    """``(id, run_id)`` of every row still open that a Dagster run opened."""
    query = select(log.c.id, log.c.run_id).where(log.c.status.in_(OPEN_STATUSES), log.c.run_id.is_not(None))
    return [(row.id, row.run_id) for row in conn.execute(query)]


def fail_open_sync_logs(conn: Connection, log_ids: Sequence[int], reason: str, now: datetime) -> int:
    """Close the given rows as ``failed`` — only those still open, so a row its run just closed is kept."""
    closed = 0
    for chunk in chunked(sorted(log_ids)):
        closed += conn.execute(
            update(log).where(log.c.id.in_(chunk), log.c.status.in_(OPEN_STATUSES))
            .values(status="failed", message=reason[:ERROR_LENGTH], completed_at=now)
        ).rowcount
    return closed
