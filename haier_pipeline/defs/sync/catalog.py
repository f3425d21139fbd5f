"""Catalog assets: brands, categories, products and per-county stock, built from the raw payloads.

They never call Haier: they re-parse the stored payloads with the client's own parsers and
upsert in bulk, comparing before writing, so an unchanged sync changes no values; its only writes
are the confirmation stamps (one set-based statement per step, ``catalog.confirm``).
"""


import time
from collections.abc import Callable, Iterator

import dagster as dg
from sqlalchemy import Connection, func, select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.confirm import confirm_prices, confirm_stock
from haier_pipeline.catalog.raw_store import iter_latest_raw_prices, iter_raw_products, iter_raw_stock
from haier_pipeline.catalog.sync_log import note_catalogue_write
from haier_pipeline.catalog.writes import (
    WriteCounts,
    apply_prices,
    ensure_brands,
    ensure_categories,
    mark_delisted,
    upsert_product_stock,
    upsert_products,
)
from haier_pipeline.constants import CHUNK_SIZE
from haier_pipeline.defs.metadata import columns_metadata, markdown_preview, table_schema, write_metadata
from haier_pipeline.haier_api import MalformedRecord
from haier_pipeline.haier_api.parsing import parse_price, parse_product, parse_stock
from haier_pipeline.haier_api.records import ProductRecord
from haier_pipeline.resources import CatalogResource, SyncScope
from haier_pipeline.runs.liveness import utc_now

from .raw import haier_raw_prices, haier_raw_products

CATALOG_GROUP = "catalog"


def listed_products(conn: Connection, scope: SyncScope) -> Iterator[list[ProductRecord]]:
    """Chunks of parsed products from the latest listing, limited to the run's product codes if any."""
    wanted = set(scope.codes)
    chunk: list[ProductRecord] = []
    for index, (code, payload) in enumerate(iter_raw_products(conn, listed_only=True)):
        if wanted and code not in wanted:
            continue
        try:
            chunk.append(parse_product(payload, index))
        except MalformedRecord:
            continue  # counted when the payload was fetched; raw rows are stored only once they parse
        if len(chunk) >= CHUNK_SIZE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def table_metadata(conn: Connection, table, started: float, counts: WriteCounts, preview_rows: int = 5) -> dict:
    total = conn.execute(select(func.count()).select_from(table)).scalar_one()
    rows = (
        conn.execute(select(table).order_by(table.c[list(table.c.keys())[0]].desc()).limit(preview_rows))
        .mappings()
        .all()
    )
    return {
        **write_metadata(counts),
        "dagster/row_count": total,
        "dagster/column_schema": table_schema(table),
        "preview": markdown_preview(rows),
        "duration_seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
    }


def _count(conn: Connection, table, *where) -> int:
    return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def note_products_written(conn: Connection, run_id: str, counts: WriteCounts, price_counts: WriteCounts,
                          delisted: int) -> None:
    """Tell the run's products and prices log rows what the catalogue holds now that this step wrote it."""
    haier = tables.products.c.source == "haier"
    listed = _count(conn, tables.products, haier, tables.products.c.is_sales != "0")
    priced = _count(conn, tables.products, haier, tables.products.c.supply_price.is_not(None))
    note_catalogue_write(conn, run_id, "products", f"catalogue: {listed} Haier products on sale ({counts.inserted} "
                         f"new, {counts.updated} changed, {delisted} delisted by this sync)")
    note_catalogue_write(conn, run_id, "prices", f"catalogue: {priced} Haier products with a supply price "
                         f"({price_counts.updated} changed by this sync)")


def ensure_named_rows(catalog: CatalogResource, scope: SyncScope, table, ensure, override: str | None,
                      pick: Callable[[ProductRecord], str]) -> dg.MaterializeResult:
    """Create the brand or category rows the listing (or the run's override) names; report what was new."""
    started, names = time.monotonic(), {override} if override else set()
    with catalog.begin() as conn:
        if not override:
            for chunk in listed_products(conn, scope):
                names.update(pick(record) for record in chunk if pick(record))
        before = conn.execute(select(func.count()).select_from(table)).scalar_one()
        ensure(conn, sorted(names))
        created = conn.execute(select(func.count()).select_from(table)).scalar_one() - before
        counts = WriteCounts(inserted=created, updated=0, unchanged=len(names) - created)
        return dg.MaterializeResult(metadata=table_metadata(conn, table, started, counts))


@dg.asset(metadata=columns_metadata(tables.brands),
          group_name=CATALOG_GROUP, kinds={"sql"}, deps=[haier_raw_products],
          description="Brands, created the first time a product names them (or the run's brand).")
def brands(catalog: CatalogResource, sync_scope: SyncScope) -> dg.MaterializeResult:
    return ensure_named_rows(catalog, sync_scope, tables.brands, ensure_brands, sync_scope.brand,
                             lambda r: r.brand_name)


@dg.asset(metadata=columns_metadata(tables.categories),
          group_name=CATALOG_GROUP, kinds={"sql"}, deps=[haier_raw_products],
          description="Categories from Haier's product groups (or the run's category), created on first sight.")
def categories(catalog: CatalogResource, sync_scope: SyncScope) -> dg.MaterializeResult:
    return ensure_named_rows(catalog, sync_scope, tables.categories, ensure_categories, sync_scope.category,
                             lambda r: r.product_group)


@dg.asset(metadata=columns_metadata(tables.products),
          group_name=CATALOG_GROUP, kinds={"sql"}, deps=[haier_raw_products, haier_raw_prices, brands, categories],
          description="The shop's products: listing fields and prices from Haier; local products untouched.")
def products(context: dg.AssetExecutionContext, catalog: CatalogResource,
             sync_scope: SyncScope) -> dg.MaterializeResult:
    started, now = time.monotonic(), utc_now()
    counts, price_counts, bad_prices = WriteCounts(), WriteCounts(), 0
    listed: set[str] = set()
    with catalog.begin() as conn:
        for chunk in listed_products(conn, sync_scope):
            brand_ids = ensure_brands(conn, sorted({sync_scope.brand or r.brand_name for r in chunk}))
            category_ids = ensure_categories(conn, sorted({sync_scope.category or r.product_group for r in chunk}))
            counts += upsert_products(
                conn, chunk, brand_ids, category_ids, now,
                brand_override=brand_ids.get(sync_scope.brand) if sync_scope.brand else None,
                category_override=category_ids.get(sync_scope.category) if sync_scope.category else None,
            )
            listed.update(r.product_code for r in chunk)
        delisted = 0 if sync_scope.codes else mark_delisted(conn, listed, now)
        prices = []
        for index, (code, payload) in enumerate(iter_latest_raw_prices(conn, sync_scope.codes or None)):
            if code not in listed:
                continue  # a delisted product's last price answer must not make it procurable again
            try:
                prices.append(parse_price(payload, index))
            except MalformedRecord:
                bad_prices += 1
                continue
            if len(prices) >= CHUNK_SIZE:
                price_counts += apply_prices(conn, prices, now)
                prices = []
        price_counts += apply_prices(conn, prices, now)
        confirmed = confirm_prices(conn)
        note_products_written(conn, context.run_id, counts, price_counts, delisted)
        metadata = table_metadata(conn, tables.products, started, counts + price_counts)
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "listing_rows_written": counts.inserted + counts.updated,
            "price_rows_written": price_counts.updated,
            "delisted_marked": delisted,
            "unparseable_stored_prices": bad_prices,
            "prices_confirmed": confirmed,
        }
    )


@dg.asset(
    metadata=columns_metadata(tables.product_stock),
    group_name=CATALOG_GROUP,
    kinds={"sql"},
    deps=[dg.AssetKey("haier_raw_stock"), products],
    description="Stock per product and county (every county of the stored raw stock, so one "
    "county's re-sync lands too); products.stock mirrors the first configured county.",
)
def product_stock(
    context: dg.AssetExecutionContext, catalog: CatalogResource, sync_scope: SyncScope
) -> dg.MaterializeResult:
    started, now = time.monotonic(), utc_now()
    counties = sync_scope.counties()
    counts, batch = WriteCounts(), []
    wanted = set(sync_scope.codes)
    with catalog.begin() as conn:
        for index, (code, county, payload) in enumerate(iter_raw_stock(conn, counties)):
            if wanted and code not in wanted:
                continue
            try:
                batch.append(parse_stock(payload, code, county, index))
            except MalformedRecord:
                continue
            if len(batch) >= CHUNK_SIZE:
                counts += upsert_product_stock(conn, batch, sync_scope.first_county, now)
                batch = []
        counts += upsert_product_stock(conn, batch, sync_scope.first_county, now)
        confirmed = confirm_stock(conn, counties)
        held = _count(conn, tables.product_stock, tables.product_stock.c.county_code.in_(counties))
        note_catalogue_write(conn, context.run_id, "stock", f"catalogue: {held} product × county stock rows in "
                             f"{', '.join(counties)} ({counts.inserted} new, {counts.updated} changed by this sync)")
        metadata = table_metadata(conn, tables.product_stock, started, counts)
    return dg.MaterializeResult(metadata={**metadata, "counties": ", ".join(counties), "stock_confirmed": confirmed})
