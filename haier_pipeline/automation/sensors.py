"""Every sensor of the project, in one list for ``Definitions(sensors=SENSORS)``.

- ``haier_new_products_sensor`` — stock and images for products new since its last tick.
- ``haier_sync_failure_sensor`` — a failed run's open sync-log rows closed as ``failed``, plus an alert.
- ``haier_sync_failure_rate_sensor`` — alert when over 5 % of the last 24 h's records failed;
  marks killed sync runs failed and closes the log rows they left open.
- ``haier_freshness_sensor`` — prices and stock freshness checks reported against the schedules.

Alerts go through :mod:`haier_pipeline.automation.alerts` (log line; webhook when
``HAIER_ALERT_WEBHOOK_URL`` is set).
"""

from __future__ import annotations

import dagster as dg

from .freshness_sensor import haier_freshness_sensor
from .new_products import haier_new_products_sensor, haier_new_products_sync
from .sync_health import haier_sync_failure_rate_sensor, haier_sync_failure_sensor

SENSORS: list[dg.SensorDefinition] = [
    haier_new_products_sensor,
    haier_sync_failure_sensor,
    haier_sync_failure_rate_sensor,
    haier_freshness_sensor,
]

__all__ = ["SENSORS", "haier_new_products_sync"]
