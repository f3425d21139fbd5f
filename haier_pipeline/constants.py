"""Names and numbers shared across the project, kept in one place so they never drift apart."""

from __future__ import annotations

from typing import Final

SYNC_KIND_TAG: Final = "haier/sync_kind"
"""Run tag naming a sync's kind: ``dagster.yaml`` runs one per kind at a time; dead-run sweeps judge only these."""
TRIGGER_TAG: Final = "haier/trigger"
"""Run tag naming what launched a run (``schedule``, ``new_products``, ``tracked_orders``)."""
CATALOG_TAG: Final = "haier/catalog"
"""Run tag holding a password-free identity of the catalogue a run writes."""

TIMEZONE: Final = "Asia/Shanghai"
"""The original system's cron ran in Beijing time; every schedule here does too."""
HAIER_API_POOL: Final = "haier_api"
"""Concurrency pool shared by every step that calls the gateway."""
GATEWAY_TAG: Final = "haier/gateway"
"""Op tag of the steps that call the gateway: the full sync's threaded executor runs them one at a time."""
MEDIA_POOL: Final = "media"
"""Concurrency pool of the steps that write the media folder."""

CHUNK_SIZE: Final = 1000
"""Rows per bulk write and per batch read from the catalogue."""
DEFAULT_SUPPLIER_CODE: Final = "1001"
"""Haier's supplier code when ``HAIER_SUPPLIER_CODE`` is unset (the contract's default)."""
DEFAULT_COUNTY_CODES: Final = ("110101",)
"""Counties whose stock is synced when ``HAIER_COUNTY_CODES`` is unset."""

SHOP_TABLE_DEFAULTS: Final = {
    "product": "catalog_product", "brand": "catalog_brand", "category": "catalog_category",
    "media": "catalog_mediaimage", "sync_log": "integrations_haiersynclog", "state": "haier_pipeline_published",
}
"""The Django shop's table names (the original apps' ``db_table``s) and our published-names table beside them."""
SHOP_TABLE_NAME: Final = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
"""What a configured shop table name may be: a plain SQL identifier, never anything to quote or inject."""
DEFAULT_SHOP_PARENT_CATEGORY: Final = ("家电", "海尔")
"""The ``major``/``minor`` category that item categories created for the shop go under."""
