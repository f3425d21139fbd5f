"""Health and alerting settings (``HAIER_*``), validated at start-up and naming the bad variable.

Kept apart from :mod:`haier_pipeline.settings` so the whole health feature moves as one folder.
Secrets (the Slack token, the SMTP password) are read here only to know whether a channel is on;
they are handed to Dagster through ``EnvVar`` or straight to the channel, never logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from haier_pipeline.settings import SettingsError, _number, _text, _url

DEFAULT_MIN_FREE_BYTES = 512 * 1024 * 1024
SMTP_TYPES = ("SSL", "STARTTLS")


@dataclass(frozen=True)
class EmailSettings:
    """Where run-failure mail goes (Dagster's ``make_email_on_run_failure_sensor``)."""

    email_from: str
    email_to: tuple[str, ...]
    smtp_host: str
    smtp_port: int | None
    smtp_type: str
    smtp_user: str | None


@dataclass(frozen=True)
class HealthSettings:
    """Thresholds and alert channels; ``None`` channels are off."""

    media_min_free_bytes: int = DEFAULT_MIN_FREE_BYTES
    slow_call_seconds: float = 10.0
    api_health_failures: int = 3
    api_health_interval_seconds: int = 300
    slack_channel: str | None = None
    slack_api_url: str | None = None
    email: EmailSettings | None = field(default=None)

    @property
    def slack_enabled(self) -> bool:
        return self.slack_channel is not None


def load_health_settings(env: Mapping[str, str] | None = None) -> HealthSettings:
    """Read and validate the health settings; :class:`SettingsError` names the first bad one."""
    env = os.environ if env is None else env
    slack_channel = _text(env, "HAIER_SLACK_CHANNEL")
    if slack_channel and not _text(env, "HAIER_SLACK_TOKEN"):
        raise SettingsError("HAIER_SLACK_TOKEN: required when HAIER_SLACK_CHANNEL is set")
    return HealthSettings(
        media_min_free_bytes=int(_number(env, "HAIER_MEDIA_MIN_FREE_BYTES", DEFAULT_MIN_FREE_BYTES, int, 0, 1 << 50)),
        slow_call_seconds=_number(env, "HAIER_SLOW_CALL_SECONDS", 10.0, float, 0.001, 3600),
        api_health_failures=int(_number(env, "HAIER_API_HEALTH_FAILURES", 3, int, 1, 1000)),
        api_health_interval_seconds=int(_number(env, "HAIER_API_HEALTH_INTERVAL_SECONDS", 300, int, 30, 86_400)),
        slack_channel=slack_channel,
        slack_api_url=_url(env, "HAIER_SLACK_API_URL"),
        email=_email(env),
    )


def _email(env: Mapping[str, str]) -> EmailSettings | None:
    to = tuple(address.strip() for address in (env.get("HAIER_ALERT_EMAIL_TO") or "").split(",") if address.strip())
    if not to:
        return None
    for name in ("HAIER_ALERT_EMAIL_FROM", "HAIER_SMTP_HOST", "HAIER_SMTP_PASSWORD"):
        if not _text(env, name):
            raise SettingsError(f"{name}: required when HAIER_ALERT_EMAIL_TO is set")
    smtp_type = (_text(env, "HAIER_SMTP_TYPE") or "SSL").upper()
    if smtp_type not in SMTP_TYPES:
        raise SettingsError(f"HAIER_SMTP_TYPE: {smtp_type!r} is not one of {', '.join(SMTP_TYPES)}")
    port = _text(env, "HAIER_SMTP_PORT")
    return EmailSettings(
        email_from=_text(env, "HAIER_ALERT_EMAIL_FROM") or "",
        email_to=to,
        smtp_host=_text(env, "HAIER_SMTP_HOST") or "",
        smtp_port=int(_number(env, "HAIER_SMTP_PORT", 0, int, 1, 65535)) if port else None,
        smtp_type=smtp_type,
        smtp_user=_text(env, "HAIER_SMTP_USER"),
    )
