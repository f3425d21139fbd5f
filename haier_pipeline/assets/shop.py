"""The ``shop`` asset group: the catalogue published into a Django shop's own tables, and its resource.

``shop_products`` runs at the end of the full, price and stock syncs (brands, categories,
products, prices, stock; one row in the shop's sync log); ``shop_images`` after
``product_images`` (files under the shop's MEDIA_ROOT, media rows, image lists). With
``HAIER_SHOP_DB_URL`` unset, or against the built-in sandbox (demo data never reaches a
shop), both say so in their description and materialise as a no-op with the reason in
their metadata. The publishing itself is plain SQLAlchemy in ``haier_pipeline.shop``.
"""

import threading
from pathlib import Path

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from haier_pipeline.catalog.engine import create_catalog_engine
from haier_pipeline.resources import CatalogResource, MediaResource, SyncScope
from haier_pipeline.settings import Settings
from haier_pipeline.shop import (
    ShopTableNames,
    ShopTarget,
    publish_catalogue,
    publish_catalogue_images,
    shop_tables,
)

from .catalog import brands, categories, product_stock, products
from .images import product_images
from .metadata import failures_markdown, markdown_preview
from .sync_tracking import utc_now

SHOP_GROUP = "shop"
SYNC_KIND_TAG = "haier/sync_kind"  # automation/jobs.py; the shop's log names the sync the original way
SHOP_SYNC_TYPES = {"full": "products", "prices": "prices", "stock": "stock"}
UNSET_REASON = "shop publishing off: HAIER_SHOP_DB_URL unset"
SANDBOX_REASON = "shop publishing off: the built-in sandbox's demo data never reaches a shop (set HAIER_BASE_URL)"

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


class ShopResource(dg.ConfigurableResource):
    """The Django shop's database (``HAIER_SHOP_DB_URL``), its table names, media folder and URL prefix."""

    db_url: str = Field(default="", description="SQLAlchemy URL of the shop's database (HAIER_SHOP_DB_URL).")
    product_table: str = Field(default=ShopTableNames.product, description="HAIER_SHOP_PRODUCT_TABLE")
    brand_table: str = Field(default=ShopTableNames.brand, description="HAIER_SHOP_BRAND_TABLE")
    category_table: str = Field(default=ShopTableNames.category, description="HAIER_SHOP_CATEGORY_TABLE")
    media_table: str = Field(default=ShopTableNames.media, description="HAIER_SHOP_MEDIA_TABLE")
    sync_log_table: str = Field(default=ShopTableNames.sync_log, description="HAIER_SHOP_SYNC_LOG_TABLE")
    state_table: str = Field(default=ShopTableNames.state, description="HAIER_SHOP_STATE_TABLE (ours: names published)")
    media_root: str = Field(default="", description="The shop's MEDIA_ROOT (HAIER_SHOP_MEDIA_ROOT).")
    media_url: str = Field(default="/media/", description="The shop's MEDIA_URL, prefixed to published image paths.")
    parent_category: list[str] = Field(default_factory=lambda: ["家电", "海尔"],
                                       description="major/minor category that new item categories go under.")
    off_reason: str = Field(default="", description="Why publishing is off (empty: on).")

    @property
    def enabled(self) -> bool:
        return bool(self.db_url) and not self.off_reason

    def reason(self) -> str:
        return self.off_reason or ("" if self.db_url else UNSET_REASON)

    def engine(self) -> Engine:
        """One engine per shop URL per process (SQLite: busy timeout, foreign keys; PostgreSQL: UTC sessions)."""
        with _engines_lock:
            if self.db_url not in _engines:
                _engines[self.db_url] = create_catalog_engine(self.db_url)
            return _engines[self.db_url]

    def target(self) -> ShopTarget:
        names = ShopTableNames(self.product_table, self.brand_table, self.category_table, self.media_table,
                               self.sync_log_table, self.state_table)
        major, minor = self.parent_category
        return ShopTarget(shop_tables(names), Path(self.media_root), self.media_url, (major, minor))

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, safe for logs and metadata."""
        return make_url(self.db_url).render_as_string(hide_password=True) if self.db_url else ""


def off_reason(settings: Settings) -> str:
    if not settings.shop_db_url:
        return UNSET_REASON
    return SANDBOX_REASON if settings.uses_sandbox else ""


def shop_resource(settings: Settings, bound_url: str | dg.EnvVar) -> ShopResource:
    """The resource for ``settings``; pass the URL as ``EnvVar`` so its password never shows in the UI."""
    names = settings.shop_tables
    reason = off_reason(settings)
    return ShopResource(
        db_url=bound_url if settings.shop_db_url and not reason else "",
        product_table=names.product, brand_table=names.brand, category_table=names.category, media_table=names.media,
        sync_log_table=names.sync_log, state_table=names.state,
        media_root=str(settings.shop_media_root or settings.media_root), media_url=settings.shop_media_url,
        parent_category=list(settings.shop_parent_category), off_reason=reason,
    )


def _off(shop: ShopResource, context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    context.log.info(shop.reason())
    return dg.MaterializeResult(metadata={"published": False, "reason": shop.reason(), "rows_written": 0})


def _describe(text: str, reason: str) -> str:
    return f"{text} ({reason})" if reason else text


def build_shop_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    """The two shop assets; their descriptions say when publishing is off for these settings."""
    reason = off_reason(settings)

    @dg.asset(group_name=SHOP_GROUP, kinds={"django", "sql"}, deps=[brands, categories, products, product_stock],
              description=_describe("The catalogue's Haier products, brands and categories in the Django shop's "
                                    "tables; the shop's own columns, edits and local products untouched.", reason))
    def shop_products(context: dg.AssetExecutionContext, catalog: CatalogResource, shop: ShopResource,
                      sync_scope: SyncScope) -> dg.MaterializeResult:
        if not shop.enabled:
            return _off(shop, context)
        target, engine = shop.target(), shop.engine()
        sync_type = SHOP_SYNC_TYPES.get(context.run.tags.get(SYNC_KIND_TAG, ""), "manual")
        with catalog.begin() as conn:
            result = publish_catalogue(conn, engine, target, sync_type, utc_now(), sync_scope.product_codes or None)
        if result.refused:
            context.log.warning(f"{len(result.refused)} product(s) not published: {result.refused[:5]}")
        counts, product = result.products, target.tables.product
        with engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(product)).scalar_one()
            columns = (product.c.product_code, product.c.name, product.c.price, product.c.stock, product.c.is_sales)
            latest = conn.execute(select(*columns).order_by(product.c.updated_at.desc()).limit(5)).mappings().all()
        return dg.MaterializeResult(metadata={
            "published": True,
            "shop_database": shop.display_url,
            "product_table": product.name,
            "inserted": counts.inserted, "updated": counts.updated, "unchanged": counts.unchanged,
            "rows_written": counts.written, "nothing_changed": counts.written == 0,
            "local_left_alone": counts.skipped,
            "shop_renamed_kept": result.names_kept,
            "brands_created": result.brands_created, "categories_created": result.categories_created,
            "refused": len(result.refused), "refusals": failures_markdown(result.refused),
            "values_adjusted": result.adjustments.total,
            "values_adjusted_by_column": dg.MetadataValue.json(dict(result.adjustments.counts)),
            "adjusted_examples": failures_markdown(result.adjustments.examples),
            "shop_sync_log_status": result.log_status,
            "dagster/row_count": total,
            "preview": markdown_preview([dict(row) for row in latest]),
        })

    @dg.asset(group_name=SHOP_GROUP, kinds={"django", "sql"}, deps=[product_images, shop_products],
              description=_describe("Product images in the Django shop: files under its MEDIA_ROOT, a media row "
                                    "each, and the products' main/detail image lists.", reason))
    def shop_images(context: dg.AssetExecutionContext, catalog: CatalogResource, media: MediaResource,
                    shop: ShopResource, sync_scope: SyncScope) -> dg.MaterializeResult:
        if not shop.enabled:
            return _off(shop, context)
        target = shop.target()
        with catalog.begin() as conn:
            result = publish_catalogue_images(conn, shop.engine(), target, media.root, utc_now(),
                                              sync_scope.product_codes or None)
        if result.missing:
            context.log.warning(f"{len(result.missing)} image(s) missing from the catalogue's media root")
        written = result.media_rows + result.products.updated
        return dg.MaterializeResult(metadata={
            "published": True,
            "shop_database": shop.display_url,
            "shop_media_root": str(target.media_root),
            "media_url": target.media_url,
            "files_linked": result.files_linked, "files_copied": result.files_copied,
            "media_rows_inserted": result.media_rows, "products_updated": result.products.updated,
            "products_unchanged": result.products.unchanged, "local_or_unpublished_skipped": result.products.skipped,
            "rows_written": written, "nothing_changed": written == 0,
            "images_missing": len(result.missing), "missing": failures_markdown(result.missing),
        })

    return [shop_products, shop_images]
