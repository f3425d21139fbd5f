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
from typing import Any

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

from haier_pipeline.catalog import tables as catalogue
from haier_pipeline.catalog.tables import LINEAGE
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
    return [Column("created_at", UtcDateTime, nullable=False,
                   doc="When the publisher (or the shop) created the row (UTC)."),
            Column("updated_at", UtcDateTime, nullable=nullable_updated,
                   doc="When the publisher (or the shop) last changed the row (UTC).")]


def _mirror(name: str, type_: Any, nullable: bool, source: Table = catalogue.products) -> Column:
    """A shop column published from the catalogue's column of the same name, described by that column's text."""
    return Column(name, type_, nullable=nullable, info={LINEAGE: [(source.name, name)]},
                  doc=f"From the catalogue's {source.name}.{name}: {source.c[name].doc}")


def _shop_own(name: str, type_: Any, doc: str) -> Column:
    return Column(name, type_, nullable=False, doc=f"The shop's own: {doc}")


def shop_tables(names: ShopTableNames | None = None) -> ShopTables:
    """Table objects for the shop's schema under ``names`` (a fresh ``MetaData`` each call)."""
    names = names or ShopTableNames()
    metadata = MetaData()
    category = Table(
        names.category, metadata,
        Column("id", BigInteger, primary_key=True, doc="Django's key."),
        _mirror("name", String(100), False, catalogue.categories),
        _shop_own("order", Integer, "sort order; 0 when the publisher creates the category."),
        _shop_own("logo", String(500), "logo URL; empty when the publisher creates the category."),
        Column("level", String(10), nullable=False, doc="major / minor / item: Haier's product groups sit under the "
               "configured parent (HAIER_SHOP_PARENT_CATEGORY)."),
        Column("parent_id", BigInteger, nullable=True, doc="The parent category's id."),
        *_timestamps(nullable_updated=True),
    )
    brand = Table(
        names.brand, metadata,
        Column("id", BigInteger, primary_key=True, doc="Django's key."),
        Column("name", String(100), nullable=False, unique=True, doc=f"From the catalogue's brands.name: "
               f"{catalogue.brands.c.name.doc}"),
        _shop_own("logo", String(500), "logo URL; empty when the publisher creates the brand."),
        _shop_own("description", Text, "text; empty when the publisher creates the brand."),
        _shop_own("order", Integer, "sort order; 0 when the publisher creates the brand."),
        Column("is_active", Boolean(create_constraint=False), nullable=False,
               doc="Shown in the shop; true when the publisher creates the brand, never changed after."),
        *_timestamps(),
    )
    product = Table(
        names.product, metadata,
        Column("id", BigInteger, primary_key=True, doc="Django's key."),
        Column("name", String(200), nullable=False, doc="From the catalogue's products.name, published until the "
               "shop renames the product (a shop edit is never overwritten)."),
        _shop_own("description", Text, "product text; empty when the publisher creates the product."),
        Column("category_id", BigInteger, nullable=False, doc="The shop category of the product's group."),
        Column("brand_id", BigInteger, nullable=False, doc="The shop brand of the product's brand."),
        Column("price", SHOP_MONEY, nullable=False, doc=f"Sale price in yuan (2 decimals). From the catalogue's "
               f"products.price: {catalogue.products.c.price.doc}"),
        Column("dealer_price", SHOP_MONEY, nullable=True, doc="The shop's own dealer price in yuan; never written by "
               "the publisher."),
        Column("source", String(10), nullable=False, doc="`haier` for published products, `local` for the "
               "shop's own (never touched)."),
        _shop_own("tag", String(20), "merchandising tag; empty when the publisher creates the product."),
        _mirror("stock", Integer, False),
        Column("product_code", String(50), nullable=True, unique=True, doc="From the catalogue's "
               f"products.product_code: {catalogue.products.c.product_code.doc}"),
        _mirror("product_model", String(100), False),
        _mirror("product_group", String(100), False),
        *(_mirror(name, SHOP_MONEY, True)
          for name in ("supply_price", "invoice_price", "market_price", "stock_rebate", "rebate_money")),
        Column("main_images", JSON_LIST, nullable=False, doc="Shop media paths of the main images (JSON list), "
               "published by shop_images from the catalogue's products.main_images."),
        Column("detail_images", JSON_LIST, nullable=False, doc="Shop media paths of the detail images (JSON list), "
               "published by shop_images from the catalogue's products.detail_images."),
        _mirror("product_page_urls", JSON_LIST, False),
        _mirror("product_image_url", String(500), False),
        Column("is_active", Boolean(create_constraint=False), nullable=False, doc=f"From the catalogue's "
               f"products.is_active: {catalogue.products.c.is_active.doc}"),
        _shop_own("show_in_gift_zone", Boolean(create_constraint=False), "shown in the gift zone; false on insert."),
        _shop_own("show_in_designer_zone", Boolean(create_constraint=False),
                  "shown in the designer zone; false on insert."),
        _mirror("is_sales", String(1), False),
        _mirror("no_sales_reason", String(200), False),
        _shop_own("view_count", Integer, "page views; 0 on insert, never written after."),
        _shop_own("sales_count", Integer, "units sold; 0 on insert, never written after."),
        _mirror("warehouse_code", String(50), False),
        _mirror("warehouse_grade", String(1), False),
        *_timestamps(),
        Column("last_sync_at", UtcDateTime, nullable=True,
               doc=f"Confirmed by Haier at: products.last_sync_at: {catalogue.products.c.last_sync_at.doc}"),
    )
    media = Table(
        names.media, metadata,
        Column("id", BigInteger, primary_key=True, doc="Django's key."),
        Column("file", String(100), nullable=False, doc="Path under the shop's MEDIA_ROOT (`images/YYYY/MM/DD/"
               "<uuid>.<ext>`, the day in HAIER_MEDIA_TIMEZONE), as Django's upload_to names it."),
        Column("original_name", String(255), nullable=False, doc="The Haier image URL the file came from "
               "(media_images.original_url)."),
        Column("content_type", String(100), nullable=False, doc="MIME type decoded from the bytes."),
        Column("size", Integer, nullable=False, doc="File size in bytes."),
        Column("created_at", UtcDateTime, nullable=False, doc="When the publisher added the row (UTC)."),
    )
    sync_log = Table(
        names.sync_log, metadata,
        Column("id", BigInteger, primary_key=True, doc="Django's key."),
        Column("sync_type", String(20), nullable=False, doc="products (full sync), prices, stock or manual: the "
               "run's sync kind."),
        Column("status", String(20), nullable=False, doc="processing while publishing; success, partial or failed "
               "when the publish ends."),
        Column("message", Text, nullable=False, doc="Counts of the publish and every refused product named."),
        Column("total_count", Integer, nullable=False, doc="Products the publish handled."),
        Column("success_count", Integer, nullable=False, doc="Products published or left unchanged."),
        Column("failed_count", Integer, nullable=False, doc="Products refused (named in message)."),
        Column("started_at", UtcDateTime, nullable=False, doc="When the publish started (UTC)."),
        Column("completed_at", UtcDateTime, nullable=True, doc="When the publish ended (UTC)."),
        Column("created_at", UtcDateTime, nullable=False, doc="When the row was written (UTC)."),
    )
    state = Table(
        names.state, metadata,
        Column("product_code", String(50), primary_key=True, doc="The product's code `productCode`."),
        Column("published_name", Text, nullable=False, doc="The name last published, so a shop rename is kept."),
        Column("published_at", UtcDateTime, nullable=False, doc="When that name was published (UTC)."),
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
