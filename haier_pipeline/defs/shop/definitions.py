"""The shop domain's definitions: the two publishing assets (the sync jobs select them, see ``defs/sync``)."""

from __future__ import annotations

import dagster as dg

from haier_pipeline.settings import Settings

from .assets import build_shop_assets


def shop_definitions(settings: Settings) -> dg.Definitions:
    """Publishing is on when ``settings.shop_db_url`` is set; the assets' descriptions say which."""
    return dg.Definitions(assets=build_shop_assets(enabled=bool(settings.shop_db_url)))
