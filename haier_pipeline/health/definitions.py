"""Everything the health feature adds to the code location, in one place for ``Definitions``."""

import dagster as dg

from .channels import email_failure_sensors
from .checks import HEALTH_CHECKS
from .overview import haier_sync_overview_job, overview_schedule, sync_overview
from .sensors import HEALTH_SENSORS, haier_api_health
from .settings import HealthSettings

HEALTH_ASSETS = [haier_api_health, sync_overview]
HEALTH_JOBS = [haier_sync_overview_job]
HEALTH_SCHEDULES = [overview_schedule]


def health_sensors(settings: HealthSettings) -> list[dg.SensorDefinition]:
    """The API health and queue sensors, plus Dagster's e-mail-on-failure sensor when e-mail is configured."""
    return [*HEALTH_SENSORS, *email_failure_sensors(settings)]


__all__ = ["HEALTH_ASSETS", "HEALTH_CHECKS", "HEALTH_JOBS", "HEALTH_SCHEDULES", "health_sensors"]
