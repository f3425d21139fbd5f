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
LINEAGE = "lineage"
"""``Column.info`` key: the ``(table, column)`` pairs a column's values come from (``dagster/column_lineage``)."""


def _created(doc: str) -> Column:
    return Column("created_at", UtcDateTime, nullable=False, server_default=func.current_timestamp(), doc=doc)


def _id() -> Column:
    return Column("id", Integer, primary_key=True, doc="Surrogate key.")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


brands = Table(
    "brands",
    metadata,
    _id(),
    Column("name", String(255), nullable=False, unique=True,
           doc="Brand name from Haier's listing field `productBrandName` (or the run's brand "
               "override); created on first sight, never renamed."),
)

# One category per (name, level, parent): NULL parents compare equal through coalesce(parent_id, 0),
# an expression index both engines support (a plain UNIQUE would treat NULLs as distinct).
categories = Table(
    "categories",
    metadata,
    _id(),
    Column("name", String(255), nullable=False,
           doc="Category name: Haier's product group `productGroupNamd` (or the run's category "
               "override)."),
    Column("level", String(16), nullable=False, server_default="major",
           doc="major / minor / item; categories from Haier are `major`."),
    Column("parent_id", Integer, ForeignKey("categories.id", ondelete="SET NULL"), nullable=True,
           doc="The parent category's id; NULL for a top-level category."),
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
    _id(),
    Column("product_code", String(CODE), nullable=False, unique=True,
           doc="Haier's product code `productCode` (the key of every Haier answer); unique."),
    Column("name", Text, nullable=False, server_default="",
           doc="Display name made from brand, model and group (`productBrandName productModel "
               "productGroupNamd`); Haier sends no name."),
    Column("product_model", Text, nullable=True, doc="Model number from the listing's `productModel`."),
    Column("product_group", Text, nullable=True,
           doc="Product group from the listing's `productGroupNamd` (Haier's spelling)."),
    Column("brand_id", Integer, ForeignKey("brands.id", ondelete="SET NULL"), nullable=True, index=True,
           doc="The brand (`brands.id`) named by `productBrandName`."),
    Column("category_id", Integer, ForeignKey("categories.id", ondelete="SET NULL"), nullable=True, index=True,
           doc="The category (`categories.id`) of the product group."),
    Column("source", String(16), nullable=False, server_default="haier",
           doc="`haier` (written by the sync) or `local` (the shop's own product: never touched by a "
               "sync)."),
    Column("is_sales", String(8), nullable=False, server_default="1",
           doc="Procurable flag `isSales` ('1' yes, '0' no): from the listing and the price answer; "
               "'0' also when Haier stops listing the product (kept, never deleted)."),
    Column("no_sales_reason", Text, nullable=True,
           doc="Why the product cannot be procured: the listing's `noSalesReason`."),
    Column("supply_price", MONEY, nullable=True,
           doc="Supply price `supplyPrice` (普通供价) in yuan; NULL when no price is in force (`价格未生效`) or"
               " the field was refused."),
    Column("invoice_price", MONEY, nullable=True,
           doc="Invoice price `invoicePrice` (开票价) in yuan: supply × (1 − discount rate) − rebate "
               "money, as Haier computes it."),
    Column("market_price", MONEY, nullable=True,
           doc="Market price in yuan: the shop's own column; Haier's answers never fill it."),
    Column("stock_rebate", MONEY, nullable=True,
           doc="Direct discount (直扣) exactly as sent in `stockRebatePolicy` when numeric: a rate 0–1 "
               "or an amount in yuan (see stock_rebate_kind)."),
    Column("stock_rebate_kind", String(16), nullable=True,
           doc="`rate`, `amount` or `unknown`: which of Haier's invoice formulas reproduces "
               "`invoicePrice` to the cent with stock_rebate; NULL without a numeric discount."),
    Column("rebate_type", String(16), nullable=True,
           doc="Rebate type code (返利类型: COM, FHQ, BF, DTDBF, unknown codes kept) when "
               "`stockRebatePolicy` carries text."),
    Column("price_reason", Text, nullable=True,
           doc="The price answer's `reason` (商品暂不可采 not procurable, 价格未生效 no price in force); NULL "
               "when empty."),
    Column("rebate_money", MONEY, nullable=True, doc="Rebate money `rebateMoney` (台返) in yuan, 0 when none."),
    Column("price", MONEY, nullable=True,
           doc="The shop's sale price in yuan: set once from market price, else supply price, while "
               "NULL or 0; never overwritten after."),
    Column("stock", Integer, nullable=False, server_default="0",
           doc="Available stock in pieces (`stock`) of the first configured county; mirrors "
               "product_stock."),
    Column("warehouse_code", String(CODE), nullable=True,
           doc="Warehouse location `secCode` of the first configured county's stock answer."),
    Column("warehouse_grade", String(8), nullable=True,
           doc="`warehouseGrade` of the first configured county: '0' local warehouse, '1' upper-level "
               "warehouse."),
    Column("product_image_url", Text, nullable=True,
           doc="Haier's main image URL `productImageUrl` (downloaded into main_images)."),
    Column("product_page_urls", JsonList, nullable=False, server_default=EMPTY_LIST,
           doc="Haier's detail-page image URLs `productLageUrls` (JSON list; downloaded into "
               "detail_images)."),
    Column("main_images", JsonList, nullable=False, server_default=EMPTY_LIST,
           doc="Stored main image paths under the media root (JSON list, "
               "`images/YYYY/MM/DD/<uuid>.<ext>`)."),
    Column("detail_images", JsonList, nullable=False, server_default=EMPTY_LIST,
           doc="Stored detail image paths under the media root (JSON list)."),
    Column("is_active", Boolean, nullable=False, server_default=true(),
           doc="Whether the shop shows the product; set true on insert, never changed by a sync."),
    _created("When the row was inserted (UTC); set once, never overwritten."),
    Column("updated_at", UtcDateTime, nullable=False, server_default=func.current_timestamp(),
           doc="When a sync last changed a value of the row (UTC)."),
    Column("last_sync_at", UtcDateTime, nullable=True,
           doc="Last confirmed: when Haier last answered this product's price (`supplyPrice`…), the "
               "answer's fetch time (UTC); moves on every sync that got an answer, changed or not."),
    Column("last_changed_at", UtcDateTime, nullable=True,
           doc="Last changed: when a sync last changed a Haier value of the row (listing, price or the "
               "first county's stock) (UTC); an unchanged answer leaves it."),
    CheckConstraint(_in("source", SOURCES), name="source"),
    Index(None, "source", "is_sales"),
)

product_stock = Table(
    "product_stock",
    metadata,
    _id(),
    Column("product_code", String(CODE), nullable=False,
           doc="Haier's product code `productCode` the stock answer is for."),
    Column("county_code", String(16), nullable=False,
           doc="6-digit district code `countyCode` the stock was asked for (HAIER_COUNTY_CODES)."),
    Column("stock", Integer, nullable=False, server_default="0",
           doc="Available stock `stock` in pieces (Haier sends it as a string)."),
    Column("warehouse_code", String(CODE), nullable=True, doc="Warehouse location code `secCode`."),
    Column("warehouse_grade", String(8), nullable=True,
           doc="`warehouseGrade`: '0' local warehouse, '1' upper-level warehouse."),
    Column("cut_time", String(64), nullable=True, doc="Order cut-off time `timelinessData.cutTime`, as sent."),
    Column("expected_delivery", String(64), nullable=True,
           doc="Expected delivery date `timelinessData.achieveUserOrderCut`, as sent."),
    Column("delivery_hours", String(32), nullable=True,
           doc="Delivery time in hours `timelinessData.hour` (whole number as text)."),
    Column("is_transfer", String(8), nullable=True,
           doc="`timelinessData.isTranfer` (Haier's spelling): '1' when shipped via a transfer between"
               " warehouses, '0' not."),
    Column("synced_at", UtcDateTime, nullable=False,
           doc="Last changed: when a sync last changed the row (UTC); an unchanged answer leaves it."),
    Column("confirmed_at", UtcDateTime, nullable=True,
           doc="Last confirmed: when Haier last answered stock for this product and county, the "
               "answer's fetch time (UTC); moves on every sync that asked the pair and got an answer."),
    UniqueConstraint("product_code", "county_code"),
    Index(None, "county_code"),
)

media_images = Table(
    "media_images",
    metadata,
    _id(),
    Column("file", String(255), nullable=False, unique=True,
           doc="Stored path under the media root: `images/YYYY/MM/DD/<uuid4>.<ext>`, the day in "
               "HAIER_MEDIA_TIMEZONE; unique."),
    Column("original_url", Text, nullable=True,
           doc="The Haier image URL (`productImageUrl` / `productLageUrls`) first stored under this "
               "file."),
    Column("content_type", String(64), nullable=True,
           doc="MIME type decoded from the bytes (image/jpeg, image/png, …), not the server's header."),
    Column("size", BigInteger, nullable=True, doc="File size in bytes."),
    Column("width", Integer, nullable=True, doc="Width in pixels."),
    Column("height", Integer, nullable=True, doc="Height in pixels."),
    Column("sha256", String(64), nullable=True, index=True,
           doc="SHA-256 of the bytes (hex): identical images are stored once."),
    _created("When the file was stored (UTC); set once."),
)

# Every URL an image was fetched from -> the stored image it turned out to be (several URLs may share one
# image: identical bytes are stored once). Keyed by the URL's SHA-256: URLs can outgrow an index entry.
media_image_urls = Table(
    "media_image_urls",
    metadata,
    _id(),
    Column("url_sha256", String(64), nullable=False, unique=True,
           doc="SHA-256 of the URL (hex), the lookup key; unique."),
    Column("url", Text, nullable=False, doc="An image URL from Haier's listing that was fetched."),
    Column("media_image_id", Integer, ForeignKey("media_images.id", ondelete="CASCADE"), nullable=False, index=True,
           doc="The stored image (`media_images.id`) the URL turned out to be."),
    _created("When the URL was first fetched intact (UTC); set once."),
)

# Each image URL whose last fetch was rejected, and why (the row goes once the URL is fetched intact): which
# URLs keep failing. A pass does not ask again for a URL its own run already rejected (image_files, then
# product_images in the same run).
media_rejected_urls = Table(
    "media_rejected_urls",
    metadata,
    _id(),
    Column("url_sha256", String(64), nullable=False, unique=True, doc="SHA-256 of the URL (hex); unique."),
    Column("url", Text, nullable=False,
           doc="An image URL whose last fetch was rejected; the row goes once it is fetched intact."),
    Column("reason", String(32), nullable=False,
           doc="Short rejection kind (too_large, not_an_image, blocked_host, http_error, …)."),
    Column("detail", Text, nullable=False, doc="The rejection in words."),
    Column("run_id", String(64), nullable=True, doc="Dagster run that rejected it."),
    Column("rejected_at", UtcDateTime, nullable=False, doc="When it was last rejected (UTC)."),
)

haier_sync_log = Table(
    "haier_sync_log",
    metadata,
    _id(),
    Column("sync_type", String(16), nullable=False,
           doc="products, prices, stock, order, logistics, images or manual; one row per run and type."),
    Column("status", String(16), nullable=False, server_default="pending",
           doc="pending, processing, success, failed or partial; products/prices/stock close when the "
               "run ends, after the catalogue write and its blocking checks."),
    Column("message", Text, nullable=True,
           doc="Counts, every failed record named (first 50), the failing step and reason, and what "
               "the catalogue holds."),
    Column("total_count", Integer, nullable=False, server_default="0",
           doc="Records received from Haier for this sync."),
    Column("success_count", Integer, nullable=False, server_default="0", doc="Records stored."),
    Column("failed_count", Integer, nullable=False, server_default="0",
           doc="Records rejected (each named in message)."),
    Column("started_at", UtcDateTime, nullable=False, doc="When the sync started (UTC)."),
    Column("completed_at", UtcDateTime, nullable=True, doc="When the row was closed (UTC); NULL while open."),
    Column("run_id", String(64), nullable=True, doc="Dagster run id; NULL for a sync outside Dagster."),
    Column("duration_seconds", Float, nullable=True,
           doc="completed_at − started_at in seconds (the original's duration())."),
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
    _id(),
    Column("product_code", String(CODE), nullable=False, unique=True,
           doc="`productCode` of the listing record; unique."),
    Column("payload", Text, nullable=False, doc="The listing record as received (JSON text, decimals exact)."),
    Column("payload_sha256", String(64), nullable=False,
           doc="SHA-256 of the payload: a new payload is written only when it differs."),
    Column("is_sales", String(8), nullable=True, doc="`isSales` copied from the payload ('1'/'0')."),
    Column("listed", Boolean, nullable=False, server_default=true(),
           doc="Whether the last complete listing contained the code."),
    Column("first_seen_at", UtcDateTime, nullable=False,
           doc="When the code was first listed (UTC); set once, never overwritten."),
    Column("changed_at", UtcDateTime, nullable=False, doc="When the payload last changed (UTC)."),
    Column("run_id", String(64), nullable=True, doc="Dagster run that wrote the current payload."),
    Index(None, "listed", "is_sales"),
)

haier_raw_prices = Table(
    "haier_raw_prices",
    metadata,
    _id(),
    Column("product_code", String(CODE), nullable=False, doc="`productCode` of the price record."),
    Column("payload", Text, nullable=False,
           doc="The price record as received (JSON text, decimals exact): supplyPrice, invoicePrice, "
               "stockRebatePolicy, rebateMoney, reason, isSales."),
    Column("payload_sha256", String(64), nullable=False,
           doc="SHA-256 of the payload: a row is added only when it differs from the latest."),
    Column("fetched_at", UtcDateTime, nullable=False, doc="When this answer was fetched (UTC)."),
    Column("run_id", String(64), nullable=True, doc="Dagster run that fetched it."),
    Column("confirmed_at", UtcDateTime, nullable=True,
           doc="When Haier last gave this same answer (UTC); stamped on the product's newest row only, "
               "by every sync whose call for it succeeded."),
    Index(None, "product_code", "id"),
)

haier_raw_stock = Table(
    "haier_raw_stock",
    metadata,
    _id(),
    Column("product_code", String(CODE), nullable=False, doc="`productCode` asked about."),
    Column("county_code", String(16), nullable=False, doc="`countyCode` asked about (6 digits)."),
    Column("payload", Text, nullable=False,
           doc="The stock answer as received (JSON text): secCode, stock, warehouseGrade, "
               "timelinessData."),
    Column("payload_sha256", String(64), nullable=False, doc="SHA-256 of the payload: written only when it changed."),
    Column("changed_at", UtcDateTime, nullable=False, doc="When the payload last changed (UTC)."),
    Column("run_id", String(64), nullable=True, doc="Dagster run that wrote the current payload."),
    Column("confirmed_at", UtcDateTime, nullable=True,
           doc="When Haier last gave this payload (UTC): every sync that asked the pair and got an answer "
               "stamps it, changed or not."),
    UniqueConstraint("product_code", "county_code"),
    Index(None, "county_code"),
)

# What stock runs learnt of each (product, county) pair: when it was last asked, how often its answer changed
# between asks over how long (its change rate), and the level then. The refresh planner (stock_plan) reads it;
# a row written in the current window means the pair is not asked again in that window.
stock_refresh_state = Table(
    "stock_refresh_state",
    metadata,
    Column("id", Integer, primary_key=True, doc="Surrogate key."),
    Column("product_code", String(CODE), nullable=False, doc="`productCode` of the pair asked."),
    Column("county_code", String(16), nullable=False, doc="`countyCode` of the pair asked (6-digit district)."),
    Column("asked_at", UtcDateTime, nullable=False,
           doc="When Haier last answered this pair's stock call (UTC); a pair asked in the current window "
               "is not asked again, so a killed pass resumes."),
    Column("asks", Integer, nullable=False, server_default="0",
           doc="Intervals watched: answers received after the first one (count)."),
    Column("changes", Integer, nullable=False, server_default="0",
           doc="Of those intervals, how many saw a different answer (count): with `observed_seconds`, the "
               "pair's estimated change rate."),
    Column("observed_seconds", Float, nullable=False, server_default="0",
           doc="Seconds watched over those intervals (sum of the gaps between answers)."),
    Column("stock", Integer, nullable=True,
           doc="`stock` (pieces) in the last answer: a pair near zero weighs more in the refresh plan."),
    Column("payload_sha256", String(64), nullable=False,
           doc="SHA-256 of the last answer's payload: tells a change from a repeat without storing it again."),
    UniqueConstraint("product_code", "county_code"),
    Index(None, "asked_at"),
)

# --- Filled by later features; defined now so the schema is one design ---

product_price_history = Table(
    "product_price_history",
    metadata,
    _id(),
    Column("product_code", String(CODE), nullable=False, doc="`productCode`."),
    Column("supply_price", MONEY, nullable=True, doc="`supplyPrice` in yuan during the interval."),
    Column("invoice_price", MONEY, nullable=True, doc="`invoicePrice` in yuan during the interval."),
    Column("stock_rebate", MONEY, nullable=True,
           doc="Numeric `stockRebatePolicy` (rate 0–1 or amount in yuan) during the interval."),
    Column("rebate_type", String(16), nullable=True,
           doc="Text `stockRebatePolicy` (rebate type code) during the interval."),
    Column("rebate_money", MONEY, nullable=True, doc="`rebateMoney` in yuan during the interval."),
    Column("is_sales", String(8), nullable=True, doc="`isSales` during the interval."),
    Column("valid_from", UtcDateTime, nullable=False, doc="When these values were first seen (UTC)."),
    Column("valid_to", UtcDateTime, nullable=True,
           doc="When they were replaced (UTC); NULL for the row in force (one per product)."),
    Column("run_id", String(64), nullable=True, doc="Dagster run that opened the interval."),
    Index(None, "product_code", "valid_from"),
)

tracked_orders = Table(
    "tracked_orders",
    metadata,
    _id(),
    Column("order_code", String(CODE), nullable=False, unique=True,
           doc="Retail order code `orderCode` (e.g. SO.20190106.000003) whose logistics are polled; "
               "unique."),
    Column("delivery_record_code", String(CODE), nullable=True,
           doc="`deliveryRecordCode` to narrow the query, if given."),
    Column("member_id", BigInteger, nullable=True, doc="`memberId` to narrow the query, if given."),
    Column("added_at", UtcDateTime, nullable=False, doc="When the order was added for tracking (UTC)."),
    Column("delivered_at", UtcDateTime, nullable=True,
           doc="When a delivered status was first seen (UTC); polling stops."),
    Column("last_polled_at", UtcDateTime, nullable=True, doc="When Haier was last asked (UTC)."),
)

logistics_records = Table(
    "logistics_records",
    metadata,
    _id(),
    Column("order_code", String(CODE), nullable=False, doc="`orderCode` the record belongs to."),
    Column("source_list", String(64), nullable=False,
           doc="Which list of the answer: getAllLogisticsInfoByOrderCode, "
               "getStockDeliveryLogisticsRecord or getStockDeliveryLogisticsRecordThirdparty."),
    Column("payload", Text, nullable=False, doc="The record as received (JSON text)."),
    Column("payload_sha256", String(64), nullable=False,
           doc="SHA-256 of the payload: each distinct record stored once."),
    Column("fetched_at", UtcDateTime, nullable=False, doc="When the record was first fetched (UTC)."),
    Column("run_id", String(64), nullable=True, doc="Dagster run that fetched it."),
    UniqueConstraint("order_code", "source_list", "payload_sha256"),
)

account_balances = Table(
    "account_balances",
    metadata,
    _id(),
    Column("sale_group_code", String(CODE), nullable=False, doc="`saleGroupCode`."),
    Column("sale_group_name", Text, nullable=True, doc="`saleGroupName`."),
    Column("payer_account_code", String(CODE), nullable=False, doc="`payerAccountCode`."),
    Column("payer_account_name", Text, nullable=True, doc="`payerAccountName`."),
    Column("balance", MONEY, nullable=False, doc="`payerAccountBalance` in yuan (negative: money owed)."),
    Column("observed_at", UtcDateTime, nullable=False, doc="When the balance was read (UTC)."),
    Column("run_id", String(64), nullable=True, doc="Dagster run that read it."),
    Index(None, "payer_account_code", "observed_at"),
)


def _derived(table: Table, sources: dict[tuple[str, str], tuple[str, ...]]) -> None:
    """Record in ``info`` which (table, column) each of ``table``'s columns is derived from."""
    for source, names in sources.items():
        for name in names:
            table.c[name].info.setdefault(LINEAGE, []).append(source)


_derived(products, {
    ("haier_raw_products", "payload"): ("product_code", "name", "product_model", "product_group", "is_sales",
                                        "no_sales_reason", "product_image_url", "product_page_urls"),
    ("haier_raw_prices", "payload"): ("supply_price", "invoice_price", "stock_rebate", "stock_rebate_kind",
                                      "rebate_type", "price_reason", "rebate_money", "is_sales", "price"),
    ("product_stock", "stock"): ("stock",),
    ("product_stock", "warehouse_code"): ("warehouse_code",),
    ("product_stock", "warehouse_grade"): ("warehouse_grade",),
})
_derived(product_stock, {("haier_raw_stock", "payload"): (
    "product_code", "county_code", "stock", "warehouse_code", "warehouse_grade", "cut_time", "expected_delivery",
    "delivery_hours", "is_transfer")})
_derived(product_price_history, {("haier_raw_prices", "payload"): (
    "product_code", "supply_price", "invoice_price", "stock_rebate", "rebate_type", "rebate_money", "is_sales")})
