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
from sqlalchemy.types import TypeEngine

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


# Each table of the shop as its Django model declares it: ``column:type`` in model order, the type one of
# ``COLUMN_TYPES`` (``strN`` is a CharField of max_length N), then ``?`` where NULL is allowed, ``!`` for a
# unique column, ``+`` for the primary key. Read by the one builder, :func:`_table`.
SCHEMA = {
    "category": """id:bigint+ name:str100 order:int logo:str500 level:str10 parent_id:bigint?
                   created_at:time updated_at:time?""",
    "brand": """id:bigint+ name:str100! logo:str500 description:text order:int is_active:bool
                created_at:time updated_at:time""",
    "product": """id:bigint+ name:str200 description:text category_id:bigint brand_id:bigint
                  price:money dealer_price:money? source:str10 tag:str20 stock:int
                  product_code:str50?! product_model:str100 product_group:str100
                  supply_price:money? invoice_price:money? market_price:money? stock_rebate:money? rebate_money:money?
                  main_images:json detail_images:json product_page_urls:json product_image_url:str500
                  is_active:bool show_in_gift_zone:bool show_in_designer_zone:bool
                  is_sales:str1 no_sales_reason:str200 view_count:int sales_count:int
                  warehouse_code:str50 warehouse_grade:str1 created_at:time updated_at:time last_sync_at:time?""",
    "media": "id:bigint+ file:str100 original_name:str255 content_type:str100 size:int created_at:time",
    "sync_log": """id:bigint+ sync_type:str20 status:str20 message:text
                   total_count:int success_count:int failed_count:int
                   started_at:time completed_at:time? created_at:time""",
    "state": "product_code:str50+ published_name:text published_at:time",  # ours, not Django's
}
COLUMN_TYPES: dict[str, TypeEngine | type[TypeEngine]] = {
    "bigint": BigInteger, "int": Integer, "text": Text, "time": UtcDateTime, "money": SHOP_MONEY, "json": JSON_LIST,
    "bool": Boolean(create_constraint=False),  # Django's BooleanField has no CHECK constraint
}
COLUMN = re.compile(r"(?P<name>\w+):(?P<type>[a-z]+)(?P<length>\d*)(?P<flags>[?!+]*)")


def _table(name: str, metadata: MetaData, spec: str) -> Table:
    """A table from its ``SCHEMA`` line."""
    columns = []
    for field in spec.split():
        match = COLUMN.fullmatch(field)
        if match is None:
            raise ValueError(f"{name}: column {field!r} is not name:type[length][?!+]")
        kind, length, flags = match["type"], match["length"], match["flags"]
        column_type = String(int(length)) if kind == "str" else COLUMN_TYPES[kind]
        columns.append(Column(match["name"], column_type, nullable="?" in flags, unique="!" in flags or None,
                              primary_key="+" in flags))
    return Table(name, metadata, *columns)


def shop_tables(names: ShopTableNames | None = None) -> ShopTables:
    """Table objects for the shop's schema under ``names`` (a fresh ``MetaData`` each call)."""
    names = names or ShopTableNames()
    metadata = MetaData()
    built = {role: _table(getattr(names, role), metadata, spec) for role, spec in SCHEMA.items()}
    return ShopTables(metadata=metadata, **built)


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
