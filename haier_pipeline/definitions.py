"""The Dagster code location: every asset, check, job, schedule, sensor and resource of the project.

Settings are validated here, at load time, so a bad ``HAIER_*`` value stops ``dagster dev``
and ``dagster job execute`` at start-up with the variable's name.
"""

from __future__ import annotations

import os

import dagster as dg

from haier_pipeline.assets import catalog as catalog_assets
from haier_pipeline.assets import raw as raw_assets
from haier_pipeline.assets.balances import BALANCE_ASSETS, BALANCE_JOBS, BALANCE_SCHEDULES, balance_checks
from haier_pipeline.assets.checks import CHECKS
from haier_pipeline.assets.history import HISTORY_ASSETS, HISTORY_CHECKS
from haier_pipeline.assets.images import IMAGE_ASSETS, IMAGE_CHECKS, IMAGE_JOBS
from haier_pipeline.assets.logistics import LOGISTICS_ASSETS, LOGISTICS_JOBS, LOGISTICS_SCHEDULES, LOGISTICS_SENSORS
from haier_pipeline.automation.jobs import SYNC_JOBS
from haier_pipeline.automation.schedules import SCHEDULES
from haier_pipeline.automation.sensors import SENSORS
from haier_pipeline.haier_api import HaierApiResource
from haier_pipeline.health.definitions import HEALTH_ASSETS, HEALTH_CHECKS, HEALTH_JOBS, HEALTH_SCHEDULES, health_sensors
from haier_pipeline.health.settings import load_health_settings
from haier_pipeline.haier_api.config import SETTING_NAMES
from haier_pipeline.resources import CatalogResource, MediaResource, SyncScope
from haier_pipeline.settings import Settings, load_settings

# Resource field -> HAIER_* variable; the supplier code has a default and comes from the settings.
BOUND_SETTINGS = {field: var for field, var in SETTING_NAMES.items() if field != "supplier_code"}


def _bound(names: dict[str, str]) -> dict[str, dg.EnvVar]:
    """Bind each field to its environment variable when set, so values never appear in run config."""
    return {field: dg.EnvVar(var) for field, var in names.items() if os.environ.get(var, "").strip()}


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """Resources from the validated settings; secrets only ever through ``EnvVar``."""
    api_fields: dict = {
        **_bound(BOUND_SETTINGS),
        "supplier_code": settings.supplier_code,
        "rate_limit": settings.rate_limit,
        "max_concurrency": settings.max_concurrency,
    }
    if "customer_password" not in api_fields and settings.password:
        api_fields["customer_password"] = dg.EnvVar("HAIER_PASSWORD")  # the original's default
    db_url = dg.EnvVar("HAIER_CATALOG_DB_URL") if os.environ.get("HAIER_CATALOG_DB_URL", "").strip() else settings.catalog_db_url
    return {
        "haier_api": HaierApiResource(**api_fields),
        "catalog": CatalogResource(db_url=db_url),
        "media": MediaResource(media_root=str(settings.media_root)),
        "sync_scope": SyncScope(),
    }


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    """The project's definitions for ``settings`` (default: read from the environment now)."""
    settings = settings or load_settings()
    health = load_health_settings()  # a bad HAIER_* health setting stops start-up here, by name
    return dg.Definitions(
        assets=[*dg.load_assets_from_modules([raw_assets, catalog_assets]), *IMAGE_ASSETS, *HISTORY_ASSETS,
                *LOGISTICS_ASSETS, *BALANCE_ASSETS, *HEALTH_ASSETS],
        jobs=[*SYNC_JOBS, *IMAGE_JOBS, *LOGISTICS_JOBS, *BALANCE_JOBS, *HEALTH_JOBS],
        schedules=[*SCHEDULES, *LOGISTICS_SCHEDULES, *BALANCE_SCHEDULES, *HEALTH_SCHEDULES],
        asset_checks=[*CHECKS, *IMAGE_CHECKS, *HISTORY_CHECKS, *balance_checks(settings.balance_alert_threshold),
                      *HEALTH_CHECKS],
        sensors=[*SENSORS, *LOGISTICS_SENSORS, *health_sensors(health)],
        resources=build_resources(settings),
        # Ad-hoc materialisations from the UI run in-process too: steps wait on one rate-limited API,
        # and a process per step costs seconds each on a small machine.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
