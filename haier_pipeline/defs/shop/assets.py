"""The ``shop`` asset group: the catalogue published into a Django shop's own tables.

``shop_products`` runs at the end of the full, price and stock syncs (brands, categories,
products, prices, stock; one row in the shop's sync log); ``shop_images`` after
``product_images`` (files under the shop's MEDIA_ROOT, media rows, image lists). With
``HAIER_SHOP_DB_URL`` unset both say so in their description and materialise as a no-op with
the reason in their metadata. The publishing itself is plain SQLAlchemy in ``haier_pipeline.shop``.
"""

import dagster as dg
from sqlalchemy import func, select

from haier_pipeline.constants import SYNC_KIND_TAG
from haier_pipeline.defs.media.assets import product_images
from haier_pipeline.defs.metadata import columns_metadata, failures_markdown, markdown_preview
from haier_pipeline.defs.sync.catalog import brands, categories, product_stock, products
from haier_pipeline.resources import CatalogResource, MediaResource, ShopResource, SyncScope
from haier_pipeline.resources.shop import UNSET_REASON
from haier_pipeline.runs.liveness import utc_now
from haier_pipeline.shop import publish_catalogue, publish_catalogue_images, shop_tables

SHOP_GROUP = "shop"
SHOP = shop_tables()  # the shop's columns under its default table names, for the assets' column schemas
SHOP_SYNC_TYPES = {"full": "products", "prices": "prices", "stock": "stock"}
"""The shop's sync log names each sync the original way; a run launched by hand is ``manual``."""


def _off(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    context.log.info(UNSET_REASON)
    return dg.MaterializeResult(metadata={"published": False, "reason": UNSET_REASON, "rows_written": 0})


def _describe(text: str, enabled: bool) -> str:
    return text if enabled else f"{text} ({UNSET_REASON})"


def build_shop_assets(enabled: bool) -> list[dg.AssetsDefinition]:
    """The two shop assets; their descriptions say when publishing is off."""

    @dg.asset(metadata=columns_metadata(SHOP.product, SHOP.brand, SHOP.category, SHOP.sync_log, SHOP.state),
              group_name=SHOP_GROUP, kinds={"django", "sql"}, deps=[brands, categories, products, product_stock],
              description=_describe("The catalogue's Haier products, brands and categories in the Django shop's "
                                    "tables; the shop's own columns, edits and local products untouched.", enabled))
    def shop_products(context: dg.AssetExecutionContext, catalog: CatalogResource, shop: ShopResource,
                      sync_scope: SyncScope) -> dg.MaterializeResult:
        if not shop.enabled:
            return _off(context)
        target, engine = shop.target(), shop.engine()
        sync_type = SHOP_SYNC_TYPES.get(context.run.tags.get(SYNC_KIND_TAG, ""), "manual")
        with catalog.begin() as conn:
            result = publish_catalogue(conn, engine, target, sync_type, utc_now(), sync_scope.codes or None)
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

    @dg.asset(metadata=columns_metadata(SHOP.media),
              group_name=SHOP_GROUP, kinds={"django", "sql"}, deps=[product_images, shop_products],
              description=_describe("Product images in the Django shop: files under its MEDIA_ROOT, a media row "
                                    "each, and the products' main/detail image lists.", enabled))
    def shop_images(context: dg.AssetExecutionContext, catalog: CatalogResource, media: MediaResource,
                    shop: ShopResource, sync_scope: SyncScope) -> dg.MaterializeResult:
        if not shop.enabled:
            return _off(context)
        target = shop.target()
        with catalog.begin() as conn:
            result = publish_catalogue_images(conn, shop.engine(), target, media.root, utc_now(),
                                              sync_scope.codes or None, timezone=media.timezone)
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
