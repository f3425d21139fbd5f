"""Initial catalog schema: the shop catalog, Haier's raw payloads, sync history, later features' tables.

Written by hand from ``tables.py`` with plain SQLAlchemy types (a revision must not change
when application code does): ``NUMERIC`` for money and rates, ``TIMESTAMP WITH TIME ZONE``
for time, ``TEXT`` for JSON. Runs unchanged on SQLite and PostgreSQL.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.func.current_timestamp()


def money(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.Numeric(18, 4), nullable=nullable)


def rate(name: str) -> sa.Column:
    return sa.Column(name, sa.Numeric(12, 6), nullable=True)


def when(name: str, nullable: bool = False, default: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=NOW if default else None)


def code(name: str, nullable: bool = False, length: int = 64) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=nullable)


def key() -> sa.Column:
    return sa.Column("id", sa.Integer(), nullable=False)


def pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def json_list(name: str) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=False, server_default=sa.text("'[]'"))


def upgrade() -> None:
    op.create_table(
        "brands",
        key(),
        sa.Column("name", sa.String(255), nullable=False),
        pk("brands"),
        sa.UniqueConstraint("name", name="uq_brands_name"),
    )
    op.create_table(
        "categories",
        key(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("level", sa.String(16), nullable=False, server_default="major"),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("level IN ('major', 'minor', 'item')", name="ck_categories_level"),
        sa.ForeignKeyConstraint(["parent_id"], ["categories.id"], name="fk_categories_parent_id_categories", ondelete="SET NULL"),
        pk("categories"),
    )
    op.create_index(
        "uq_categories_name_level_parent",
        "categories",
        ["name", "level", sa.text("coalesce(parent_id, 0)")],
        unique=True,
    )
    op.create_table(
        "products",
        key(),
        code("product_code"),
        sa.Column("name", sa.Text(), nullable=False, server_default=""),
        sa.Column("product_model", sa.Text(), nullable=True),
        sa.Column("product_group", sa.Text(), nullable=True),
        sa.Column("brand_id", sa.Integer(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False, server_default="haier"),
        sa.Column("is_sales", sa.String(8), nullable=False, server_default="1"),
        sa.Column("no_sales_reason", sa.Text(), nullable=True),
        money("supply_price"),
        money("invoice_price"),
        money("market_price"),
        rate("stock_rebate"),
        sa.Column("rebate_type", sa.String(16), nullable=True),
        money("rebate_money"),
        money("price"),
        sa.Column("stock", sa.Integer(), nullable=False, server_default="0"),
        code("warehouse_code", nullable=True),
        sa.Column("warehouse_grade", sa.String(8), nullable=True),
        sa.Column("product_image_url", sa.Text(), nullable=True),
        json_list("product_page_urls"),
        json_list("main_images"),
        json_list("detail_images"),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
        when("created_at", default=True),
        when("updated_at", default=True),
        when("last_sync_at", nullable=True),
        sa.CheckConstraint("source IN ('haier', 'local')", name="ck_products_source"),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name="fk_products_brand_id_brands", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name="fk_products_category_id_categories", ondelete="SET NULL"
        ),
        pk("products"),
        sa.UniqueConstraint("product_code", name="uq_products_product_code"),
    )
    op.create_index("ix_products_brand_id", "products", ["brand_id"])
    op.create_index("ix_products_category_id", "products", ["category_id"])
    op.create_index("ix_products_source_is_sales", "products", ["source", "is_sales"])
    op.create_table(
        "product_stock",
        key(),
        code("product_code"),
        code("county_code", length=16),
        sa.Column("stock", sa.Integer(), nullable=False, server_default="0"),
        code("warehouse_code", nullable=True),
        sa.Column("warehouse_grade", sa.String(8), nullable=True),
        sa.Column("cut_time", sa.String(64), nullable=True),
        sa.Column("expected_delivery", sa.String(64), nullable=True),
        sa.Column("delivery_hours", sa.String(32), nullable=True),
        sa.Column("is_transfer", sa.String(8), nullable=True),
        when("synced_at"),
        pk("product_stock"),
        sa.UniqueConstraint("product_code", "county_code", name="uq_product_stock_product_code_county_code"),
    )
    op.create_index("ix_product_stock_county_code", "product_stock", ["county_code"])
    op.create_table(
        "media_images",
        key(),
        sa.Column("file", sa.String(255), nullable=False),
        sa.Column("original_url", sa.Text(), nullable=True),
        sa.Column("content_type", sa.String(64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        when("created_at", default=True),
        pk("media_images"),
        sa.UniqueConstraint("file", name="uq_media_images_file"),
    )
    op.create_index("ix_media_images_sha256", "media_images", ["sha256"])
    op.create_table(
        "haier_sync_log",
        key(),
        sa.Column("sync_type", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("total_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("success_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failed_count", sa.Integer(), nullable=False, server_default="0"),
        when("started_at"),
        when("completed_at", nullable=True),
        code("run_id", nullable=True),
        sa.CheckConstraint(
            "sync_type IN ('products', 'prices', 'stock', 'order', 'logistics', 'manual')", name="ck_haier_sync_log_sync_type"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'success', 'failed', 'partial')", name="ck_haier_sync_log_status"
        ),
        pk("haier_sync_log"),
        sa.UniqueConstraint("run_id", "sync_type", name="uq_haier_sync_log_run_id_sync_type"),
    )
    op.create_index("ix_haier_sync_log_status", "haier_sync_log", ["status"])
    op.create_index("ix_haier_sync_log_started_at", "haier_sync_log", ["started_at"])
    op.create_table(
        "haier_raw_products",
        key(),
        code("product_code"),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("is_sales", sa.String(8), nullable=True),
        sa.Column("listed", sa.Boolean(), nullable=False, server_default=sa.true()),
        when("first_seen_at"),
        when("changed_at"),
        code("run_id", nullable=True),
        pk("haier_raw_products"),
        sa.UniqueConstraint("product_code", name="uq_haier_raw_products_product_code"),
    )
    op.create_index("ix_haier_raw_products_listed_is_sales", "haier_raw_products", ["listed", "is_sales"])
    op.create_table(
        "haier_raw_prices",
        key(),
        code("product_code"),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        when("fetched_at"),
        code("run_id", nullable=True),
        pk("haier_raw_prices"),
    )
    op.create_index("ix_haier_raw_prices_product_code_id", "haier_raw_prices", ["product_code", "id"])
    op.create_table(
        "haier_raw_stock",
        key(),
        code("product_code"),
        code("county_code", length=16),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        when("changed_at"),
        code("run_id", nullable=True),
        pk("haier_raw_stock"),
        sa.UniqueConstraint("product_code", "county_code", name="uq_haier_raw_stock_product_code_county_code"),
    )
    op.create_index("ix_haier_raw_stock_county_code", "haier_raw_stock", ["county_code"])
    op.create_table(
        "product_price_history",
        key(),
        code("product_code"),
        money("supply_price"),
        money("invoice_price"),
        rate("stock_rebate"),
        sa.Column("rebate_type", sa.String(16), nullable=True),
        money("rebate_money"),
        sa.Column("is_sales", sa.String(8), nullable=True),
        when("valid_from"),
        when("valid_to", nullable=True),
        code("run_id", nullable=True),
        pk("product_price_history"),
    )
    op.create_index(
        "ix_product_price_history_product_code_valid_from", "product_price_history", ["product_code", "valid_from"]
    )
    op.create_table(
        "tracked_orders",
        key(),
        code("order_code"),
        code("delivery_record_code", nullable=True),
        sa.Column("member_id", sa.BigInteger(), nullable=True),
        when("added_at"),
        when("delivered_at", nullable=True),
        when("last_polled_at", nullable=True),
        pk("tracked_orders"),
        sa.UniqueConstraint("order_code", name="uq_tracked_orders_order_code"),
    )
    op.create_table(
        "logistics_records",
        key(),
        code("order_code"),
        code("source_list"),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        when("fetched_at"),
        code("run_id", nullable=True),
        pk("logistics_records"),
        sa.UniqueConstraint(
            "order_code", "source_list", "payload_sha256", name="uq_logistics_records_order_code_source_list_payload_sha256"
        ),
    )
    op.create_table(
        "account_balances",
        key(),
        code("sale_group_code"),
        sa.Column("sale_group_name", sa.Text(), nullable=True),
        code("payer_account_code"),
        sa.Column("payer_account_name", sa.Text(), nullable=True),
        money("balance", nullable=False),
        when("observed_at"),
        code("run_id", nullable=True),
        pk("account_balances"),
    )
    op.create_index(
        "ix_account_balances_payer_account_code_observed_at", "account_balances", ["payer_account_code", "observed_at"]
    )


def downgrade() -> None:
    for table in (
        "account_balances",
        "logistics_records",
        "tracked_orders",
        "product_price_history",
        "haier_raw_stock",
        "haier_raw_prices",
        "haier_raw_products",
        "haier_sync_log",
        "media_images",
        "product_stock",
        "products",
        "categories",
        "brands",
    ):
        op.drop_table(table)
