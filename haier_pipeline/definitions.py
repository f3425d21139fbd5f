"""The Dagster code location: the domains' definitions merged, with resources built from the settings.

The one route for settings: the environment is read and validated once, here (``load_settings``),
and the :class:`Settings` flow into the resources and the domains' definitions (the county
partitions, the balance threshold). A bad ``HAIER_*`` value stops ``dagster dev`` and
``dagster job execute`` at start-up with the variable's name. Nothing below this module reads
the environment.
"""

from __future__ import annotations

import sys

import dagster as dg

from haier_pipeline.defs.finance.definitions import finance_definitions
from haier_pipeline.defs.health.definitions import health_definitions
from haier_pipeline.defs.logistics.definitions import logistics_definitions
from haier_pipeline.defs.media.definitions import media_definitions
from haier_pipeline.defs.shop.definitions import shop_definitions
from haier_pipeline.defs.sync.definitions import sync_definitions
from haier_pipeline.media.options import ImageOptions
from haier_pipeline.resources import (
    AlertResource,
    CatalogResource,
    HaierApiResource,
    MediaResource,
    SandboxApiResource,
    ShopResource,
    SyncScope,
)
from haier_pipeline.settings import Settings, SettingsError, load_settings


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Resources from the validated settings: the real gateway or the built-in sandbox, never both."""
    api_class = SandboxApiResource if settings.uses_sandbox else HaierApiResource
    return {
        "haier_api": api_class(
            settings=settings, rate_limit=settings.rate_limit, max_concurrency=settings.max_concurrency,
            latency_target=settings.latency_target,
        ),
        "catalog": CatalogResource(db_url=settings.catalog_db_url, sync_lock_wait=settings.sync_lock_wait,
                                   dead_run_confirm=settings.dead_run_confirm),
        "media": MediaResource(media_root=str(settings.media_root), images=ImageOptions.from_settings(settings),
                               min_free_bytes=settings.media_min_free_bytes, timezone=settings.media_timezone),
        "sync_scope": SyncScope(configured_counties=settings.county_codes, secrets=settings.secrets(),
                                stock_refresh=settings.stock_refresh),
        "alerts": AlertResource(webhook_url=settings.alert_webhook_url, slack_token=settings.slack_token,
                                slack_channel=settings.slack_channel, slack_api_url=settings.slack_api_url,
                                slow_call_seconds=settings.slow_call_seconds,
                                api_health_failures=settings.api_health_failures),
        "shop": ShopResource(
            db_url=settings.shop_db_url, tables=dict(settings.shop_tables),
            media_root=str(settings.shop_media_root or settings.media_root), media_url=settings.shop_media_url,
            parent_category=list(settings.shop_parent_category),
        ),
    }


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    """The project's definitions for ``settings`` (default: read from the environment now)."""
    settings = settings or load_settings()
    return dg.Definitions.merge(
        sync_definitions(settings),
        media_definitions(),
        logistics_definitions(),
        finance_definitions(settings),
        health_definitions(settings),
        shop_definitions(settings),
        # Ad-hoc materialisations from the UI run in-process too: steps wait on one rate-limited API,
        # and a process per step costs seconds each on a small machine.
        dg.Definitions(resources=build_resources(settings), executor=dg.in_process_executor),
    )


try:
    defs = build_definitions()
except SettingsError as error:
    # Dagster reports a code location that fails to load with its whole traceback, the variable's name on the
    # last line; this line comes first, as every other command of the project prints it (issue 25).
    print(f"haier_pipeline: {error}", file=sys.stderr, flush=True)
    raise
