"""Publishing the catalogue into a Django shop's own tables (``catalog_product`` & co.), plain SQLAlchemy.

- ``tables`` — the shop's tables under configurable names, and a schema check
- ``fit`` — values the shop's columns cannot hold, stored as Django would and counted
- ``brands``, ``categories`` — brands by name; a ``minor``/``item`` category for every product
- ``products`` — the product upsert: the shop's own columns and edits survive
- ``media`` — image files under the shop's MEDIA_ROOT, media rows, image lists
- ``sync_log`` — the shop's sync log row per sync
- ``publish`` — the two publishing runs the Dagster assets call
"""

from .publish import (
           CataloguePublish,
           ShopTarget,
           publish_catalogue,
           publish_catalogue_images,
)
from .tables import ShopSchemaError, ShopTableNames, shop_tables

__all__ = ["CataloguePublish", "ShopSchemaError", "ShopTableNames", "ShopTarget", "publish_catalogue",
           "publish_catalogue_images", "shop_tables"]
