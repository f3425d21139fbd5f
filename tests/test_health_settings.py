"""Health settings fail fast by name; the e-mail channel is Dagster's own sensor; secrets stay out of sight."""

from __future__ import annotations

import pytest

from haier_pipeline.defs.health.definitions import health_definitions
from haier_pipeline.settings import SettingsError, load_settings

EMAIL = {"HAIER_ALERT_EMAIL_TO": "ops@example.com, oncall@example.com", "HAIER_ALERT_EMAIL_FROM": "dagster@example.com",
         "HAIER_SMTP_HOST": "smtp.example.com", "HAIER_SMTP_PASSWORD": "smtp-pass-9911", "HAIER_SMTP_TYPE": "starttls"}


def test_defaults_are_the_originals_lines():
    settings = load_settings({})
    assert (settings.slow_call_seconds, settings.api_health_failures, settings.media_min_free_bytes) == (
        10.0, 3, 512 * 1024 * 1024)
    assert settings.email is None and settings.slack_channel is None
    names = {sensor.name for sensor in health_definitions(settings).sensors or []}
    assert {"haier_api_health_sensor", "haier_sync_queue_sensor"} <= names and "haier_email_on_run_failure" not in names


@pytest.mark.parametrize(("env", "named"), [
    ({"HAIER_MEDIA_MIN_FREE_BYTES": "lots"}, "HAIER_MEDIA_MIN_FREE_BYTES"),
    ({"HAIER_SLOW_CALL_SECONDS": "-1"}, "HAIER_SLOW_CALL_SECONDS"),
    ({"HAIER_API_HEALTH_FAILURES": "0"}, "HAIER_API_HEALTH_FAILURES"),
    ({"HAIER_SLACK_CHANNEL": "#ops"}, "HAIER_SLACK_TOKEN"),
    ({**EMAIL, "HAIER_SMTP_PASSWORD": ""}, "HAIER_SMTP_PASSWORD"),
    ({**EMAIL, "HAIER_SMTP_TYPE": "carrier-pigeon"}, "HAIER_SMTP_TYPE"),
])
def test_a_bad_setting_is_refused_by_name(env, named):
    with pytest.raises(SettingsError, match=named) as refused:
        load_settings(env)
    assert "smtp-pass-9911" not in str(refused.value)


def test_email_turns_on_dagsters_failure_sensor_without_exposing_the_password():
    settings = load_settings(EMAIL)
    assert settings.email is not None and settings.email.email_to == ("ops@example.com", "oncall@example.com")
    assert settings.email.smtp_type == "STARTTLS" and "smtp-pass-9911" not in repr(settings)
    assert "smtp-pass-9911" in settings.secrets()  # refused wherever the project refuses echoes of secrets
    sensors = {sensor.name: sensor for sensor in health_definitions(settings).sensors or []}
    assert "haier_email_on_run_failure" in sensors
    assert "smtp-pass-9911" not in (sensors["haier_email_on_run_failure"].description or "")
