"""What gets published: the project's own Haier products, with their brand and category names, in chunks.

Read by keyset (``id``) so a catalogue of any size streams in constant memory. Local
products of the project's catalogue are never published (the shop owns its own).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from sqlalchemy import Connection, select

from haier_pipeline.catalog.bulk import CHUNK_SIZE
from haier_pipeline.catalog.tables import brands, categories, media_images, products

PUBLISHED_COLUMNS = (
    "id", "product_code", "name", "product_model", "product_group", "is_sales", "no_sales_reason",
    "supply_price", "invoice_price", "market_price", "stock_rebate", "rebate_money", "price",
    "stock", "warehouse_code", "warehouse_grade", "product_image_url", "product_page_urls",
    "main_images", "detail_images", "last_sync_at",
)


def iter_catalogue_products(
    conn: Connection, product_codes: Collection[str] | None = None, size: int = CHUNK_SIZE
) -> Iterator[list[dict[str, Any]]]:
    """Chunks of the catalogue's Haier products as dicts, plus ``brand_name`` and ``category_name``."""
    query = (
        select(*(products.c[name] for name in PUBLISHED_COLUMNS),
               brands.c.name.label("brand_name"), categories.c.name.label("category_name"))
        .select_from(products.outerjoin(brands, products.c.brand_id == brands.c.id)
                     .outerjoin(categories, products.c.category_id == categories.c.id))
        .where(products.c.source == "haier")
        .order_by(products.c.id)
        .limit(size)
    )
    if product_codes:
        query = query.where(products.c.product_code.in_(list(product_codes)))
    last = 0
    while rows := [dict(row) for row in conn.execute(query.where(products.c.id > last)).mappings()]:
        yield rows
        last = rows[-1]["id"]


def media_rows(conn: Connection, files: Collection[str]) -> dict[str, dict[str, Any]]:
    """The catalogue's ``media_images`` rows for ``files``, by file."""
    found: dict[str, dict[str, Any]] = {}
    wanted = list(files)
    for start in range(0, len(wanted), CHUNK_SIZE):
        query = select(media_images).where(media_images.c.file.in_(wanted[start:start + CHUNK_SIZE]))
        found.update({row["file"]: dict(row) for row in conn.execute(query).mappings()})
    return found
