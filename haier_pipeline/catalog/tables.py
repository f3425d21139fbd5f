"""The catalog database as SQLAlchemy Core tables: the shop's catalog, Haier's raw payloads, sync history.

Names and the columns design.md lists are fixed; everything else here (surrogate ids,
indexes, constraints, server defaults) serves the bulk writers. Money and rates are
exact ``NUMERIC``; timestamps are timezone-aware UTC; URL lists are JSON text.
The Alembic revisions in ``migrations/versions`` create exactly this schema (a test
compares them).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
    true,
)

from .types import MONEY, JsonList, UtcDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

CODE = 64  # product, county, warehouse and account codes
SOURCES = ("haier", "local")
CATEGORY_LEVELS = ("major", "minor", "item")
SYNC_TYPES = ("products", "prices", "stock", "order", "logistics", "images", "manual")
SYNC_STATUSES = ("pending", "processing", "success", "failed", "partial")
EMPTY_LIST = text("'[]'")


def _created() -> Column:
    return Column("created_at", UtcDateTime, nullable=False, server_default=func.current_timestamp())


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


brands = Table(
    "brands",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
)

# One category per (name, level, parent): NULL parents compare equal through coalesce(parent_id, 0),
# an expression index both engines support (a plain UNIQUE would treat NULLs as distinct).
categories = Table(
    "categories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("level", String(16), nullable=False, server_default="major"),
    Column("parent_id", Integer, ForeignKey("categories.id", ondelete="SET NULL"), nullable=True),
    CheckConstraint(_in("level", CATEGORY_LEVELS), name="level"),
)
Index(
    "uq_categories_name_level_parent",
    categories.c.name,
    categories.c.level,
    func.coalesce(categories.c.parent_id, 0),
    unique=True,
)

products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("product_code", String(CODE), nullable=False, unique=True),
    Column("name", Text, nullable=False, server_default=""),
    Column("product_model", Text, nullable=True),
    Column("product_group", Text, nullable=True),
    Column("brand_id", Integer, ForeignKey("brands.id", ondelete="SET NULL"), nullable=True, index=True),
    Column("category_id", Integer, ForeignKey("categories.id", ondelete="SET NULL"), nullable=True, index=True),
    Column("source", String(16), nullable=False, server_default="haier"),
    Column("is_sales", String(8), nullable=False, server_default="1"),
    Column("no_sales_reason", Text, nullable=True),
    Column("supply_price", MONEY, nullable=True),
    Column("invoice_price", MONEY, nullable=True),
    Column("market_price", MONEY, nullable=True),
    Column("stock_rebate", MONEY, nullable=True),  # the direct discount exactly as sent: a rate or an amount
    Column("stock_rebate_kind", String(16), nullable=True),  # rate / amount / unknown, by the invoice formula
    Column("rebate_type", String(16), nullable=True),
    Column("price_reason", Text, nullable=True),  # the price answer's reason (商品暂不可采 / 价格未生效)
    Column("rebate_money", MONEY, nullable=True),
    Column("price", MONEY, nullable=True),
    Column("stock", Integer, nullable=False, server_default="0"),
    Column("warehouse_code", String(CODE), nullable=True),
    Column("warehouse_grade", String(8), nullable=True),
    Column("product_image_url", Text, nullable=True),
    Column("product_page_urls", JsonList, nullable=False, server_default=EMPTY_LIST),
    Column("main_images", JsonList, nullable=False, server_default=EMPTY_LIST),
    Column("detail_images", JsonList, nullable=False, server_default=EMPTY_LIST),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    _created(),
    Column("updated_at", UtcDateTime, nullable=False, server_default=func.current_timestamp()),
    Column("last_sync_at", UtcDateTime, nullable=True),
    CheckConstraint(_in("source", SOURCES), name="source"),
    Index(None, "source", "is_sales"),
)

product_stock = Table(
    "product_stock",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("product_code", String(CODE), nullable=False),
    Column("county_code", String(16), nullable=False),
    Column("stock", Integer, nullable=False, server_default="0"),
    Column("warehouse_code", String(CODE), nullable=True),
    Column("warehouse_grade", String(8), nullable=True),
    Column("cut_time", String(64), nullable=True),
    Column("expected_delivery", String(64), nullable=True),
    Column("delivery_hours", String(32), nullable=True),
    Column("is_transfer", String(8), nullable=True),
    Column("synced_at", UtcDateTime, nullable=False),
    UniqueConstraint("product_code", "county_code"),
    Index(None, "county_code"),
)

media_images = Table(
    "media_images",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("file", String(255), nullable=False, unique=True),
    Column("original_url", Text, nullable=True),
    Column("content_type", String(64), nullable=True),
    Column("size", BigInteger, nullable=True),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("sha256", String(64), nullable=True, index=True),
    _created(),
)

# Every URL an image was fetched from -> the stored image it turned out to be (several URLs may share one
# image: identical bytes are stored once). Keyed by the URL's SHA-256: URLs can outgrow an index entry.
media_image_urls = Table(
    "media_image_urls",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url_sha256", String(64), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    Column("media_image_id", Integer, ForeignKey("media_images.id", ondelete="CASCADE"), nullable=False, index=True),
    _created(),
)

# Each image URL whose last fetch was rejected, and why (the row goes once the URL is fetched intact): which
# URLs keep failing. A pass does not ask again for a URL its own run already rejected (image_files, then
# product_images in the same run).
media_rejected_urls = Table(
    "media_rejected_urls",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url_sha256", String(64), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("run_id", String(64), nullable=True),
    Column("rejected_at", UtcDateTime, nullable=False),
)

haier_sync_log = Table(
    "haier_sync_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sync_type", String(16), nullable=False),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("message", Text, nullable=True),
    Column("total_count", Integer, nullable=False, server_default="0"),
    Column("success_count", Integer, nullable=False, server_default="0"),
    Column("failed_count", Integer, nullable=False, server_default="0"),
    Column("started_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime, nullable=True),
    Column("run_id", String(64), nullable=True),
    Column("duration_seconds", Float, nullable=True),  # the original's duration(): completed_at - started_at
    UniqueConstraint("run_id", "sync_type"),
    CheckConstraint(_in("sync_type", SYNC_TYPES), name="sync_type"),
    CheckConstraint(_in("status", SYNC_STATUSES), name="status"),
    Index(None, "status"),
    Index(None, "started_at"),
)

# --- Haier's payloads as received (JSON text, Decimals exact), written only when they change ---

haier_raw_products = Table(
    "haier_raw_products",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("product_code", String(CODE), nullable=False, unique=True),
    Column("payload", Text, nullable=False),
    Column("payload_sha256", String(64), nullable=False),
    Column("is_sales", String(8), nullable=True),  # copied from the payload so procurable codes are one query
    Column("listed", Boolean, nullable=False, server_default=true()),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("run_id", String(64), nullable=True),
    Index(None, "listed", "is_sales"),
)

haier_raw_prices = Table(
    "haier_raw_prices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("product_code", String(CODE), nullable=False),
    Column("payload", Text, nullable=False),
    Column("payload_sha256", String(64), nullable=False),
    Column("fetched_at", UtcDateTime, nullable=False),
    Column("run_id", String(64), nullable=True),
    Index(None, "product_code", "id"),
)

haier_raw_stock = Table(
    "haier_raw_stock",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("product_code", String(CODE), nullable=False),
    Column("county_code", String(16), nullable=False),
    Column("payload", Text, nullable=False),
    Column("payload_sha256", String(64), nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("run_id", String(64), nullable=True),
    UniqueConstraint("product_code", "county_code"),
    Index(None, "county_code"),
)

# What stock runs learnt of each (product, county) pair: when it was last asked, how often its answer changed
# between asks over how long (its change rate), and the level then. The refresh planner (stock_plan) reads it;
# a row written in the current window means the pair is not asked again in that window.
stock_refresh_state = Table(
    "stock_refresh_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("product_code", String(CODE), nullable=False),
    Column("county_code", String(16), nullable=False),
    Column("asked_at", UtcDateTime, nullable=False),
    Column("asks", Integer, nullable=False, server_default="0"),  # intervals watched (asks after the first)
    Column("changes", Integer, nullable=False, server_default="0"),  # of them, how many saw a different answer
    Column("observed_seconds", Float, nullable=False, server_default="0"),
    Column("stock", Integer, nullable=True),
    Column("payload_sha256", String(64), nullable=False),
    UniqueConstraint("product_code", "county_code"),
    Index(None, "asked_at"),
)

# --- Filled by later features; defined now so the schema is one design ---

product_price_history = Table(
    "product_price_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("product_code", String(CODE), nullable=False),
    Column("supply_price", MONEY, nullable=True),
    Column("invoice_price", MONEY, nullable=True),
    Column("stock_rebate", MONEY, nullable=True),
    Column("rebate_type", String(16), nullable=True),
    Column("rebate_money", MONEY, nullable=True),
    Column("is_sales", String(8), nullable=True),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_to", UtcDateTime, nullable=True),
    Column("run_id", String(64), nullable=True),
    Index(None, "product_code", "valid_from"),
)

tracked_orders = Table(
    "tracked_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_code", String(CODE), nullable=False, unique=True),
    Column("delivery_record_code", String(CODE), nullable=True),
    Column("member_id", BigInteger, nullable=True),
    Column("added_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("last_polled_at", UtcDateTime, nullable=True),
)

logistics_records = Table(
    "logistics_records",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_code", String(CODE), nullable=False),
    Column("source_list", String(64), nullable=False),  # which of the answer's three lists
    Column("payload", Text, nullable=False),
    Column("payload_sha256", String(64), nullable=False),
    Column("fetched_at", UtcDateTime, nullable=False),
    Column("run_id", String(64), nullable=True),
    UniqueConstraint("order_code", "source_list", "payload_sha256"),
)

account_balances = Table(
    "account_balances",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sale_group_code", String(CODE), nullable=False),
    Column("sale_group_name", Text, nullable=True),
    Column("payer_account_code", String(CODE), nullable=False),
    Column("payer_account_name", Text, nullable=True),
    Column("balance", MONEY, nullable=False),
    Column("observed_at", UtcDateTime, nullable=False),
    Column("run_id", String(64), nullable=True),
    Index(None, "payer_account_code", "observed_at"),
)
