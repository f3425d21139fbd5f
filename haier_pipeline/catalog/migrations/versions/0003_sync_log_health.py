"""Sync log health: ``images`` as a sync type, ``duration_seconds``, old rows rewritten.

- ``sync_type`` may be ``images`` (the images pass wrote ``manual`` before). Rows a Dagster run
  wrote as ``manual`` (a run id) all came from the images pass and become ``images``; rows
  without a run id were written by hand and stay ``manual``.
- Logistics polls write ``order`` (the original's type for order tracking): old ``logistics``
  rows become ``order``.
- ``duration_seconds`` (the original's ``HaierSyncLog.duration()``), filled for closed rows.

Downgrade turns ``images`` back into ``manual`` and drops the column (``order`` rows stay:
0001 allowed ``order`` too).

Revision ID: 0003_sync_log_health
Revises: 0002_price_encodings
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision: str = "0003_sync_log_health"
down_revision: str | Sequence[str] | None = "0002_price_encodings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK = "ck_haier_sync_log_sync_type"
OLD_TYPES = "sync_type IN ('products', 'prices', 'stock', 'order', 'logistics', 'manual')"
NEW_TYPES = "sync_type IN ('products', 'prices', 'stock', 'order', 'logistics', 'images', 'manual')"

log = sa.table(
    "haier_sync_log",
    sa.column("id", sa.Integer()),
    sa.column("sync_type", sa.String(16)),
    sa.column("run_id", sa.String(64)),
    sa.column("started_at", sa.DateTime(timezone=True)),
    sa.column("completed_at", sa.DateTime(timezone=True)),
    sa.column("duration_seconds", sa.Float()),
)


def _aware(value: datetime | str) -> datetime:
    """SQLite hands back text or naive values; every stored time is UTC."""
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def upgrade() -> None:
    with op.batch_alter_table("haier_sync_log") as batch:
        batch.drop_constraint(CHECK, type_="check")
        batch.add_column(sa.Column("duration_seconds", sa.Float(), nullable=True))
        batch.create_check_constraint(CHECK, NEW_TYPES)
    op.execute(log.update().where(log.c.sync_type == "manual", log.c.run_id.is_not(None)).values(sync_type="images"))
    op.execute(log.update().where(log.c.sync_type == "logistics").values(sync_type="order"))
    conn = op.get_bind()
    closed = conn.execute(sa.select(log.c.id, log.c.started_at, log.c.completed_at)
                          .where(log.c.completed_at.is_not(None))).all()
    for row in closed:
        seconds = (_aware(row.completed_at) - _aware(row.started_at)).total_seconds()
        conn.execute(log.update().where(log.c.id == row.id).values(duration_seconds=round(seconds, 3)))


def downgrade() -> None:
    op.execute(log.update().where(log.c.sync_type == "images").values(sync_type="manual"))
    with op.batch_alter_table("haier_sync_log") as batch:
        batch.drop_constraint(CHECK, type_="check")
        batch.drop_column("duration_seconds")
        batch.create_check_constraint(CHECK, OLD_TYPES)
