"""Every catalog writer in one import: brands, categories, products, prices, stock, images.

The writers live in small modules by table (``lookups``, ``products``, ``prices``,
``stock``, ``images``); callers import them from here. Each takes a ``Connection``
whose transaction the caller owns, and returns :class:`WriteCounts`.
"""

from __future__ import annotations

from .counts import WriteCounts
from .images import insert_media_images, set_product_images, set_product_images_bulk
from .lookups import ensure_brands, ensure_categories
from .prices import apply_prices, sale_price
from .products import mark_delisted, product_name, upsert_products
from .stock import mirror_first_county, upsert_product_stock

__all__ = ["WriteCounts", "apply_prices", "ensure_brands", "ensure_categories", "insert_media_images",
           "mark_delisted", "mirror_first_county", "product_name", "sale_price", "set_product_images",
           "set_product_images_bulk", "upsert_product_stock", "upsert_products"]
