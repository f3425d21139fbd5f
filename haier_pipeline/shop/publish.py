"""Publishing runs: the catalogue's products (with brands and categories), then its images, into a shop.

Each run reads the project's catalogue in chunks and writes the shop in one transaction, so a
failed publish leaves the shop as it was; the shop's sync log row is written in transactions
of its own around it, so it says ``processing`` while the publish runs and ``failed`` after a
crash of the publish. Plain SQLAlchemy: the Dagster assets in ``defs/shop/assets.py`` call these.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, func, select

from haier_pipeline.catalog.writes import WriteCounts
from haier_pipeline.constants import TIMEZONE
from haier_pipeline.media.store import MediaStore

from .brands import brand_name, ensure_shop_brands
from .categories import ensure_parent, resolve_categories
from .fit import Adjustments, Fitter
from .media import ImagePublish, publish_images
from .products import publish_products
from .source import iter_catalogue_products, media_rows
from .sync_log import close_shop_log, open_shop_log
from .tables import ShopTables, check_schema


@dataclass(frozen=True)
class ShopTarget:
    """Where and how to publish: the shop's tables, its media folder and URL prefix, the parent category."""

    tables: ShopTables
    media_root: Path
    media_url: str = "/media/"
    parent_category: tuple[str, str] = ("家电", "海尔")


@dataclass
class CataloguePublish:
    """One products publish: shop row counts, refusals, adjustments, and its sync-log row's status."""

    products: WriteCounts = field(default_factory=WriteCounts)
    brands_created: int = 0
    categories_created: int = 0
    names_kept: int = 0
    refused: list[str] = field(default_factory=list)
    adjustments: Adjustments = field(default_factory=Adjustments)
    log_status: str = ""


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def publish_catalogue(catalog_conn: Connection, shop: Engine, target: ShopTarget, sync_type: str, now: datetime,
                      product_codes: Collection[str] | None = None) -> CataloguePublish:
    """Publish brands, categories and products; one shop sync-log row for the run."""
    tables = target.tables
    with shop.begin() as conn:
        check_schema(conn, tables)
        log_id = open_shop_log(conn, tables, sync_type, now)
    result = CataloguePublish()
    try:
        with shop.begin() as conn:
            _publish_products(catalog_conn, conn, target, now, product_codes, result)
    except Exception as exc:
        with shop.begin() as conn:
            close_shop_log(conn, tables, log_id, total=result.products.total, success=0, failures=[],
                           summary="", error=f"{type(exc).__name__}: {exc}".splitlines()[0], now=now)
        raise
    counts = result.products
    summary = (f"published {counts.total - counts.failed - counts.skipped} product(s): {counts.inserted} new, "
               f"{counts.updated} updated, {counts.unchanged} unchanged; {counts.skipped} local left alone")
    if result.adjustments.total:
        summary += f"; {result.adjustments.total} value(s) adjusted to fit the shop's columns"
    with shop.begin() as conn:
        result.log_status = close_shop_log(conn, tables, log_id, total=counts.total,
                                           success=counts.total - counts.failed, failures=result.refused,
                                           summary=summary, error=None, now=now)
    return result


def _publish_products(catalog_conn: Connection, conn: Connection, target: ShopTarget, now: datetime,
                      product_codes: Collection[str] | None, result: CataloguePublish) -> None:
    tables = target.tables
    fitter = Fitter(conn.dialect.name, result.adjustments)
    brands_before, categories_before = _count(conn, tables.brand), _count(conn, tables.category)
    parent_id = ensure_parent(conn, tables, target.parent_category, now)
    for rows in iter_catalogue_products(catalog_conn, product_codes):
        for row in rows:
            code = row["product_code"]
            row["shop_brand"] = brand_name(row["brand_name"], tables, fitter, code)
            category = (row["category_name"] or "").strip()
            row["shop_category"] = fitter.text(tables.category.c.name, category, code) if category else ""
        brand_ids = ensure_shop_brands(conn, tables, {row["shop_brand"] for row in rows}, now)
        names = {row["shop_category"] for row in rows if row["shop_category"]}
        category_ids = {"": parent_id, **resolve_categories(conn, tables, names, parent_id, now)}
        chunk = publish_products(conn, tables, rows, brand_ids, category_ids, fitter, now)
        result.products += chunk.counts
        result.refused += chunk.refused
        result.names_kept += chunk.names_kept
    result.brands_created = _count(conn, tables.brand) - brands_before
    result.categories_created = _count(conn, tables.category) - categories_before


def publish_catalogue_images(catalog_conn: Connection, shop: Engine, target: ShopTarget, source_root: Path,
                             now: datetime, product_codes: Collection[str] | None = None,
                             timezone: str = TIMEZONE) -> ImagePublish:
    """Place the catalogue's image files under the shop's media root, add media rows, set image lists.

    Files new to the shop go into folders dated in ``timezone`` (``HAIER_MEDIA_TIMEZONE``).
    """
    source, store = MediaStore(source_root), MediaStore(target.media_root, timezone=timezone)
    total = ImagePublish()
    with shop.begin() as conn:
        check_schema(conn, target.tables)
        fitter = Fitter(conn.dialect.name)
        for rows in iter_catalogue_products(catalog_conn, product_codes):
            files = {path for row in rows for path in [*(row["main_images"] or []), *(row["detail_images"] or [])]}
            chunk = publish_images(conn, target.tables, rows, media_rows(catalog_conn, files), source, store,
                                   target.media_url, fitter, now)
            total.files_linked += chunk.files_linked
            total.files_copied += chunk.files_copied
            total.media_rows += chunk.media_rows
            total.products += chunk.products
            total.missing += chunk.missing
    return total
