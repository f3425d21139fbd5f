"""``haier_sync_log``: one row per (run, sync type), opened as ``processing`` and always closed.

Closing decides the status the original system showed operators: ``success`` (nothing failed), ``partial``
(some records failed — the message says how many and names them), ``failed`` (the sync itself raised). In a
Dagster run, the products, prices and stock rows stay ``processing`` after the fetch (:func:`hold_sync_log`),
take what the catalogue now holds from the step that writes it (:func:`note_catalogue_write`) and are closed
when the run ends (:func:`finish_run_sync_logs`), ``failed`` naming the step when one of their sync's steps
failed. Rows left ``processing`` by a killed process are closed later by :func:`close_stale_sync_logs` or
:func:`fail_sync_logs_for_run`. A queued run's rows are written ``pending`` (:func:`write_pending_sync_logs`)
and become ``processing`` when the run starts that sync. Every close records ``duration_seconds`` (the
original's ``duration()``).
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
FETCH_ENDED = "fetch ended"

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
        started = {"started_at": now} if found.status == "pending" else {}  # the sync starts now, not when queued
        conn.execute(
            update(log).where(log.c.id == found.id)
            .values(status="processing", completed_at=None, message=None, duration_seconds=None, **started)
        )
    return found.id


def write_pending_sync_logs(conn: Connection, run_id: str, sync_types: Sequence[str], now: datetime) -> int:
    """A ``pending`` row for each of a queued run's sync types it has none for yet; returns how many were written."""
    written = 0
    for sync_type in sync_types:
        if sync_type not in SYNC_TYPES:
            raise ValueError(f"sync_type must be one of {SYNC_TYPES}, not {sync_type!r}")
        inserted = conn.execute(
            dialect_insert(conn, log).on_conflict_do_nothing(index_elements=["run_id", "sync_type"])
            .returning(log.c.id),
            {"sync_type": sync_type, "run_id": run_id, "status": "pending", "started_at": now},
        ).all()
        written += len(inserted)
    return written


def pending_sync_logs(conn: Connection) -> dict[str, list[int]]:
    """Run id -> ids of its ``pending`` rows."""
    found: dict[str, list[int]] = {}
    for row in conn.execute(select(log.c.id, log.c.run_id).where(log.c.status == "pending", log.c.run_id.is_not(None))):
        found.setdefault(row.run_id, []).append(row.id)
    return found


def record_durations(conn: Connection, log_ids: Sequence[int]) -> None:
    """Set ``duration_seconds`` = ``completed_at - started_at`` on the given closed rows."""
    for chunk in chunked(sorted(log_ids)):
        rows = conn.execute(select(log.c.id, log.c.started_at, log.c.completed_at).where(
            log.c.id.in_(chunk), log.c.completed_at.is_not(None))).all()
        for row in rows:
            conn.execute(update(log).where(log.c.id == row.id).values(
                duration_seconds=round((row.completed_at - row.started_at).total_seconds(), 3)))


def failure_message(failed: int, total: int, failures: Sequence[str]) -> str:
    """``"3 of 120 failed: A: reason; B: reason; … and 1 more"`` with at most 50 names."""
    names = [name if len(name) <= NAME_LENGTH else name[:NAME_LENGTH - 1] + "…" for name in failures[:NAMES_IN_MESSAGE]]
    text = f"{failed} of {total} failed"
    if names:
        text += ": " + "; ".join(names)
    if len(failures) > NAMES_IN_MESSAGE:
        text += f"; … and {len(failures) - NAMES_IN_MESSAGE} more"
    return text


def sync_outcome(*, total: int, failed: int, success: int, failures: Sequence[str],
                 error: str | None) -> tuple[str, str]:
    """The status and message a sync's counts give: ``failed`` with ``error``, ``partial`` with failures, else
    ``success``."""
    failed = max(failed, len(failures))
    if error is not None:
        message = f"failed: {error[:ERROR_LENGTH]}"
        if failed:
            message += "; " + failure_message(failed, total, failures)
        return "failed", message
    if failed:
        return "partial", failure_message(failed, total, failures)
    return "success", f"{success} of {total} succeeded"


def close_sync_log(
    conn: Connection, log_id: int, *, total: int, success: int, failed: int, failures: Sequence[str], error: str | None,
    now: datetime,
) -> str:
    """Record the counts and final status (returned): see :func:`sync_outcome`."""
    status, message = sync_outcome(total=total, failed=failed, success=success, failures=failures, error=error)
    conn.execute(
        update(log)
        .where(log.c.id == log_id)
        .values(status=status, message=message, total_count=total, success_count=success,
                failed_count=max(failed, len(failures)), completed_at=now)
    )
    record_durations(conn, [log_id])
    return status


def hold_sync_log(conn: Connection, log_id: int, *, total: int, success: int, failed: int,
                  failures: Sequence[str], now: datetime) -> None:
    """Record a fetch's counts and named failures but keep the row ``processing``: the catalogue write closes it.

    The message says when the fetch ended (``fetch ended <ISO time>``, :data:`FETCH_ENDED`): the part of the
    sync that held its kind's lock. The run closes the row when it ends (``runs/closing.py``): ``failed`` if a
    step of its sync failed, else the status these counts give.
    """
    _, message = sync_outcome(total=total, failed=failed, success=success, failures=failures, error=None)
    conn.execute(update(log).where(log.c.id == log_id).values(
        message=f"{message}; {FETCH_ENDED} {now.isoformat(timespec='milliseconds')}", total_count=total,
        success_count=success, failed_count=max(failed, len(failures))))


def note_catalogue_write(conn: Connection, run_id: str, sync_type: str, summary: str) -> bool:
    """Append what the catalogue now holds to the run's open row of ``sync_type``; ``False`` when it has none."""
    row = conn.execute(select(log.c.id, log.c.message).where(
        log.c.run_id == run_id, log.c.sync_type == sync_type, log.c.status == "processing")).first()
    if row is None:
        return False
    message = f"{row.message}; {summary}" if row.message else summary
    conn.execute(update(log).where(log.c.id == row.id).values(message=message))
    return True


def open_sync_types(conn: Connection, run_id: str) -> list[str]:
    """The sync types of the run's rows still ``processing``."""
    return list(conn.execute(select(log.c.sync_type).where(log.c.run_id == run_id, log.c.status == "processing"))
                .scalars())


def finish_run_sync_logs(conn: Connection, run_id: str, reasons: dict[str, str], now: datetime) -> dict[str, str]:
    """Close the run's ``processing`` rows when the run ends; returns sync type -> status.

    A row whose sync type has a reason in ``reasons`` (a step of that sync failed or never ran) becomes
    ``failed`` with the reason before the counts; any other is ``partial`` when it counted failures, else
    ``success``.
    """
    rows = conn.execute(select(log.c.id, log.c.sync_type, log.c.message, log.c.failed_count).where(
        log.c.run_id == run_id, log.c.status == "processing")).all()
    closed: dict[str, str] = {}
    for row in rows:
        reason = reasons.get(row.sync_type)
        if reason is not None:
            status = "failed"
            message = f"failed: {reason[:ERROR_LENGTH]}" + (f"; {row.message}" if row.message else "")
        else:
            status = "partial" if row.failed_count else "success"
            message = row.message or ""
        conn.execute(update(log).where(log.c.id == row.id).values(status=status, message=message, completed_at=now))
        closed[row.sync_type] = status
    record_durations(conn, [row.id for row in rows])
    return closed


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
    record_durations(conn, stale)
    return len(stale)


def fail_sync_logs_for_run(conn: Connection, run_id: str, reason: str, now: datetime) -> int:
    """Close the open rows of one run (e.g. from a run-failure sensor) as ``failed``; returns how many."""
    ids = list(conn.execute(select(log.c.id).where(log.c.run_id == run_id, log.c.status.in_(OPEN_STATUSES))).scalars())
    if ids:
        conn.execute(update(log).where(log.c.id.in_(ids)).values(status="failed", message=reason[:ERROR_LENGTH],
                                                                 completed_at=now))
        record_durations(conn, ids)
    return len(ids)


def open_sync_logs(conn: Connection) -> list[tuple[int, str]]:
    """``(id, run_id)`` of every ``processing`` row a Dagster run opened (``pending`` rows wait for their run)."""
    query = select(log.c.id, log.c.run_id).where(log.c.status == "processing", log.c.run_id.is_not(None))
    return [(row.id, row.run_id) for row in conn.execute(query)]


def fail_open_sync_logs(conn: Connection, log_ids: Sequence[int], reason: str, now: datetime) -> int:
    """Close the given rows as ``failed`` — only those still open, so a row its run just closed is kept."""
    closed = 0
    for chunk in chunked(sorted(log_ids)):
        closed += conn.execute(
            update(log).where(log.c.id.in_(chunk), log.c.status.in_(OPEN_STATUSES))
            .values(status="failed", message=reason[:ERROR_LENGTH], completed_at=now)
        ).rowcount
    record_durations(conn, log_ids)
    return closed
