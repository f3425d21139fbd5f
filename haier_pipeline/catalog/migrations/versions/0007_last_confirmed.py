"""Last confirmed beside last changed: ``products.last_sync_at`` becomes "confirmed by Haier at".

Adds ``products.last_changed_at`` (filled from the old ``last_sync_at``, which moved only on a
change), ``product_stock.confirmed_at`` (filled from ``synced_at``) and ``confirmed_at`` on the raw
price and stock tables, which the raw steps stamp on every answer, changed or not.

Revision ID: 0007_last_confirmed
Revises: 0006_stock_refresh
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_last_confirmed"
down_revision: str | Sequence[str] | None = "0006_stock_refresh"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADDED = (("products", "last_changed_at"), ("product_stock", "confirmed_at"),
         ("haier_raw_prices", "confirmed_at"), ("haier_raw_stock", "confirmed_at"))


def upgrade() -> None:
    for table, column in ADDED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE products SET last_changed_at = last_sync_at")
    op.execute("UPDATE product_stock SET confirmed_at = synced_at")
    op.execute("UPDATE haier_raw_prices SET confirmed_at = fetched_at")
    op.execute("UPDATE haier_raw_stock SET confirmed_at = changed_at")


def downgrade() -> None:
    op.execute("UPDATE products SET last_sync_at = last_changed_at")  # back to its old meaning
    for table, column in reversed(ADDED):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
