"""The shop's own sync log (``integrations_haiersynclog``): a row per sync, as the Django command wrote it.

Opened as ``processing`` when publishing starts and closed with the counts and
``success``/``partial``/``failed``, the message worded like the catalogue's own log
(``catalog.sync_log.failure_message``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, update

from haier_pipeline.catalog.sync_log import ERROR_LENGTH, failure_message

from .tables import ShopTables

SYNC_TYPES = ("products", "prices", "stock", "order", "logistics", "manual")


def open_shop_log(conn: Connection, tables: ShopTables, sync_type: str, now: datetime) -> int:
    if sync_type not in SYNC_TYPES:
        raise ValueError(f"sync_type must be one of {SYNC_TYPES}, not {sync_type!r}")
    log = tables.sync_log
    row = {"sync_type": sync_type, "status": "processing", "message": "", "total_count": 0, "success_count": 0,
           "failed_count": 0, "started_at": now, "completed_at": None, "created_at": now}
    return int(conn.execute(log.insert().returning(log.c.id), row).scalar_one())


def close_shop_log(conn: Connection, tables: ShopTables, log_id: int, *, total: int, success: int,
                   failures: Sequence[str], summary: str, error: str | None, now: datetime) -> str:
    """Close the row; returns its status (``failed`` with ``error``, ``partial`` with failures, else ``success``)."""
    if error is not None:
        status, message = "failed", f"failed: {error}"[:ERROR_LENGTH]
    elif failures:
        status, message = "partial", f"{summary}; {failure_message(len(failures), total, failures)}"
    else:
        status, message = "success", summary
    log = tables.sync_log
    conn.execute(update(log).where(log.c.id == log_id).values(
        status=status, message=message, total_count=total, success_count=success, failed_count=len(failures),
        completed_at=now))
    return status
