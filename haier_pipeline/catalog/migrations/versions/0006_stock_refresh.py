"""Stock refresh state: per (product, county) when it was last asked, its changes seen, and its level.

The stock planner (``haier_pipeline.stock_plan``) ranks pairs from it, and a killed stock pass resumes
from it: a pair asked in the current window is not asked again.

Revision ID: 0006_stock_refresh
Revises: 0005_rejected_image_urls
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_stock_refresh"
down_revision: str | Sequence[str] | None = "0005_rejected_image_urls"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stock_refresh_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_code", sa.String(64), nullable=False),
        sa.Column("county_code", sa.String(16), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("asks", sa.Integer(), server_default="0", nullable=False),
        sa.Column("changes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("observed_seconds", sa.Float(), server_default="0", nullable=False),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stock_refresh_state"),
        sa.UniqueConstraint("product_code", "county_code", name="uq_stock_refresh_state_product_code_county_code"),
    )
    op.create_index("ix_stock_refresh_state_asked_at", "stock_refresh_state", ["asked_at"])


def downgrade() -> None:
    op.drop_index("ix_stock_refresh_state_asked_at", table_name="stock_refresh_state")
    op.drop_table("stock_refresh_state")
