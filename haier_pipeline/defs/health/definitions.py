"""The health domain: the targets' checks on the raw syncs, the API health and queue sensors, sync_overview,
freshness checks and their sensor, the failure sensors and the dead-run sweep, and e-mail on failed runs."""

from __future__ import annotations

import dagster as dg

from haier_pipeline.settings import Settings

from .api_health import api_health_sensor, haier_api_health, haier_sync_queue_sensor
from .email import email_failure_sensors
from .freshness import FRESHNESS_CHECKS, haier_freshness_sensor
from .overview import haier_sync_overview_job, overview_schedule, sync_overview
from .sync_health import haier_sync_failure_rate_sensor, haier_sync_failure_sensor
from .targets import HEALTH_CHECKS


def health_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=[haier_api_health, sync_overview],
        asset_checks=[*FRESHNESS_CHECKS, *HEALTH_CHECKS],
        jobs=[haier_sync_overview_job],
        schedules=[overview_schedule],
        sensors=[haier_sync_failure_sensor, haier_sync_failure_rate_sensor, haier_freshness_sensor,
                 api_health_sensor(settings.api_health_interval_seconds), haier_sync_queue_sensor,
                 *email_failure_sensors(settings)],
    )
