"""The health domain: freshness checks and their sensor, the failure sensors and the dead-run sweep."""

from __future__ import annotations

import dagster as dg

from .freshness import FRESHNESS_CHECKS, haier_freshness_sensor
from .sync_health import haier_sync_failure_rate_sensor, haier_sync_failure_sensor


def health_definitions() -> dg.Definitions:
    return dg.Definitions(asset_checks=FRESHNESS_CHECKS,
                          sensors=[haier_sync_failure_sensor, haier_sync_failure_rate_sensor, haier_freshness_sensor])
