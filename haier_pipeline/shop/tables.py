"""The Django shop's own tables as SQLAlchemy Core, under the names the shop gives them.

They mirror the original project's models (``catalog.Product``, ``Brand``, ``Category``,
``MediaImage``, ``integrations.HaierSyncLog``): Django creates them with its own migrations,
so this module never creates or alters them — :func:`missing_columns` only checks that the
live schema has every column the publisher writes. Django sets no database defaults, so the
publisher writes every NOT NULL column itself. The one table of ours, ``state`` (the name we
last published per product, so a name the shop edited is never overwritten), is created
beside them on first use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
)
from sqlalchemy.dialects.postgresql import JSONB

from haier_pipeline.catalog.types import ExactDecimal, UtcDateTime
from haier_pipeline.constants import SHOP_TABLE_DEFAULTS, SHOP_TABLE_NAME

IDENTIFIER = re.compile(SHOP_TABLE_NAME)
SHOP_MONEY = ExactDecimal(10, 2)
"""``DecimalField(max_digits=10, decimal_places=2)``: every price and rate column of the shop."""
JSON_LIST = JSON().with_variant(JSONB(), "postgresql")  # Django's JSONField is jsonb on PostgreSQL, text on SQLite


@dataclass(frozen=True)
class ShopTableNames:
    """Table names in the shop's database; the defaults are the original Django apps'."""

    product: str = SHOP_TABLE_DEFAULTS["product"]
    brand: str = SHOP_TABLE_DEFAULTS["brand"]
    category: str = SHOP_TABLE_DEFAULTS["category"]
    media: str = SHOP_TABLE_DEFAULTS["media"]
    sync_log: str = SHOP_TABLE_DEFAULTS["sync_log"]
    state: str = SHOP_TABLE_DEFAULTS["state"]

    def __post_init__(self) -> None:
        for field in fields(self):
            if not IDENTIFIER.match(getattr(self, field.name)):
                raise ValueError(f"{field.name} table: {getattr(self, field.name)!r} is not a plain SQL table name")


@dataclass(frozen=True)
class ShopTables:
    """The shop's tables, bound to one set of names."""

    product: Table
    brand: Table
    category: Table
    media: Table
    sync_log: Table
    state: Table
    metadata: MetaData

    def django_tables(self) -> tuple[Table, ...]:
        return (self.product, self.brand, self.category, self.media, self.sync_log)


def _timestamps(nullable_updated: bool = False) -> list[Column]:
    return [Column("created_at", UtcDateTime, nullable=False),
            Column("updated_at", UtcDateTime, nullable=nullable_updated)]


def shop_tables(names: ShopTableNames | None = None) -> ShopTables:
    """Table objects for the shop's schema under ``names`` (a fresh ``MetaData`` each call)."""
    names = names or ShopTableNames()
    metadata = MetaData()
    category = Table(
        names.category, metadata,
        Column("id", BigInteger, primary_key=True),
        Column("name", String(100), nullable=False),
        Column("order", Integer, nullable=False),
        Column("logo", String(500), nullable=False),
        Column("level", String(10), nullable=False),
        Column("parent_id", BigInteger, nullable=True),
        *_timestamps(nullable_updated=True),
    )
    brand = Table(
        names.brand, metadata,
        Column("id", BigInteger, primary_key=True),
        Column("name", String(100), nullable=False, unique=True),
        Column("logo", String(500), nullable=False),
        Column("description", Text, nullable=False),
        Column("order", Integer, nullable=False),
        Column("is_active", Boolean(create_constraint=False), nullable=False),
        *_timestamps(),
    )
    product = Table(
        names.product, metadata,
        Column("id", BigInteger, primary_key=True),
        Column("name", String(200), nullable=False),
        Column("description", Text, nullable=False),
        Column("category_id", BigInteger, nullable=False),
        Column("brand_id", BigInteger, nullable=False),
        Column("price", SHOP_MONEY, nullable=False),
        Column("dealer_price", SHOP_MONEY, nullable=True),
        Column("source", String(10), nullable=False),
        Column("tag", String(20), nullable=False),
        Column("stock", Integer, nullable=False),
        Column("product_code", String(50), nullable=True, unique=True),
        Column("product_model", String(100), nullable=False),
        Column("product_group", String(100), nullable=False),
        *(Column(name, SHOP_MONEY, nullable=True)
          for name in ("supply_price", "invoice_price", "market_price", "stock_rebate", "rebate_money")),
        Column("main_images", JSON_LIST, nullable=False),
        Column("detail_images", JSON_LIST, nullable=False),
        Column("product_page_urls", JSON_LIST, nullable=False),
        Column("product_image_url", String(500), nullable=False),
        *(Column(name, Boolean(create_constraint=False), nullable=False)
          for name in ("is_active", "show_in_gift_zone", "show_in_designer_zone")),
        Column("is_sales", String(1), nullable=False),
        Column("no_sales_reason", String(200), nullable=False),
        Column("view_count", Integer, nullable=False),
        Column("sales_count", Integer, nullable=False),
        Column("warehouse_code", String(50), nullable=False),
        Column("warehouse_grade", String(1), nullable=False),
        *_timestamps(),
        Column("last_sync_at", UtcDateTime, nullable=True),
    )
    media = Table(
        names.media, metadata,
        Column("id", BigInteger, primary_key=True),
        Column("file", String(100), nullable=False),
        Column("original_name", String(255), nullable=False),
        Column("content_type", String(100), nullable=False),
        Column("size", Integer, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
    )
    sync_log = Table(
        names.sync_log, metadata,
        Column("id", BigInteger, primary_key=True),
        Column("sync_type", String(20), nullable=False),
        Column("status", String(20), nullable=False),
        Column("message", Text, nullable=False),
        Column("total_count", Integer, nullable=False),
        Column("success_count", Integer, nullable=False),
        Column("failed_count", Integer, nullable=False),
        Column("started_at", UtcDateTime, nullable=False),
        Column("completed_at", UtcDateTime, nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
    )
    state = Table(
        names.state, metadata,
        Column("product_code", String(50), primary_key=True),
        Column("published_name", Text, nullable=False),
        Column("published_at", UtcDateTime, nullable=False),
    )
    return ShopTables(product, brand, category, media, sync_log, state, metadata)


class ShopSchemaError(RuntimeError):
    """The shop's database lacks a table or column the publisher writes (wrong table names, or not migrated)."""


def missing_columns(conn: Connection, tables: ShopTables) -> list[str]:
    """``table.column`` for every table or column of the shop schema the live database lacks."""
    inspector = inspect(conn)
    missing: list[str] = []
    for table in tables.django_tables():
        if not inspector.has_table(table.name):
            missing.append(f"{table.name} (table)")
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        missing += [f"{table.name}.{column.name}" for column in table.columns if column.name not in present]
    return missing


def check_schema(conn: Connection, tables: ShopTables) -> None:
    """Raise :class:`ShopSchemaError` naming what is missing; create our own state table if absent."""
    missing = missing_columns(conn, tables)
    if missing:
        raise ShopSchemaError("the shop database lacks " + ", ".join(missing[:20])
                              + " (check the HAIER_SHOP_*_TABLE settings and that the shop is migrated)")
    tables.state.create(conn, checkfirst=True)
