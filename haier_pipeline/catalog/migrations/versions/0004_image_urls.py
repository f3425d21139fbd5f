"""Image URLs: every URL an image was fetched from points at the stored image it turned out to be.

Identical bytes behind two URLs are stored once, in one ``media_images`` row that names only the
first URL. Without this table the second URL was downloaded again on every pass just to learn it
was a known digest. Existing rows are carried over: each row's ``original_url`` maps to it.

Revision ID: 0004_image_urls
Revises: 0003_sync_log_health
Create Date: 2026-11-30
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_image_urls"
down_revision: str | Sequence[str] | None = "0003_sync_log_health"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "media_image_urls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url_sha256", sa.String(64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("media_image_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.current_timestamp()),
        sa.PrimaryKeyConstraint("id", name="pk_media_image_urls"),
        sa.UniqueConstraint("url_sha256", name="uq_media_image_urls_url_sha256"),
        sa.ForeignKeyConstraint(["media_image_id"], ["media_images.id"], name="fk_media_image_urls_media_image_id_media_images",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_media_image_urls_media_image_id", "media_image_urls", ["media_image_id"])
    _carry_over_original_urls()


def _carry_over_original_urls() -> None:
    """Each existing row's ``original_url`` -> that row (the newest row when a URL was stored twice)."""
    conn = op.get_bind()
    images = sa.table("media_images", sa.column("id", sa.Integer), sa.column("original_url", sa.Text))
    urls = sa.table("media_image_urls", sa.column("url_sha256", sa.String), sa.column("url", sa.Text),
                    sa.column("media_image_id", sa.Integer))
    newest: dict[str, tuple[str, int]] = {}
    query = sa.select(images.c.id, images.c.original_url).where(images.c.original_url.is_not(None)).order_by(images.c.id)
    for row in conn.execute(query):
        newest[hashlib.sha256(row.original_url.encode()).hexdigest()] = (row.original_url, row.id)
    rows = [{"url_sha256": digest, "url": url, "media_image_id": image_id} for digest, (url, image_id) in newest.items()]
    for start in range(0, len(rows), _BATCH):
        conn.execute(urls.insert(), rows[start:start + _BATCH])


def downgrade() -> None:
    op.drop_index("ix_media_image_urls_media_image_id", table_name="media_image_urls")
    op.drop_table("media_image_urls")
