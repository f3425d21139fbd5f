"""Rejected image URLs: each URL whose last fetch was rejected, with the reason, until it is fetched intact.

A full sync runs two images passes (``image_files`` from the listing, then ``product_images``
over the product rows); without this table the second asked again for every URL the first had
just rejected. It also answers "which image URLs keep failing, and why" in the catalogue.

Revision ID: 0005_rejected_image_urls
Revises: 0004_image_urls
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_rejected_image_urls"
down_revision: str | Sequence[str] | None = "0004_image_urls"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_rejected_urls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url_sha256", sa.String(64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_media_rejected_urls"),
        sa.UniqueConstraint("url_sha256", name="uq_media_rejected_urls_url_sha256"),
    )


def downgrade() -> None:
    op.drop_table("media_rejected_urls")
