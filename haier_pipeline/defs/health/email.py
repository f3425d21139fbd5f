"""E-mail on failed runs through Dagster's own ``make_email_on_run_failure_sensor``, when configured.

``HAIER_ALERT_EMAIL_TO`` turns it on; the SMTP password comes from the settings (``HAIER_SMTP_PASSWORD``)
and lives only inside the sensor: never in a log line, the UI or run config.
"""

from __future__ import annotations

import dagster as dg

from haier_pipeline.settings import Settings


def email_failure_sensors(settings: Settings) -> list[dg.SensorDefinition]:
    """Dagster's e-mail-on-run-failure sensor over every job, or nothing when e-mail is not configured."""
    email = settings.email
    if email is None:
        return []
    return [dg.make_email_on_run_failure_sensor(
        email_from=email.email_from,
        email_password=settings.smtp_password or "",
        email_to=list(email.email_to),
        smtp_host=email.smtp_host,
        smtp_type=email.smtp_type,
        smtp_port=email.smtp_port,
        smtp_user=email.smtp_user,
        name="haier_email_on_run_failure",
        monitor_all_code_locations=True,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )]
