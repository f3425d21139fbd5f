"""Alert channels beyond the log line and the webhook: Slack, and Dagster's own e-mail on run failure.

- Slack: every alert of :func:`~haier_pipeline.automation.alerts.send_alert` is posted with
  ``dagster-slack``'s :class:`SlackResource` (token from ``HAIER_SLACK_TOKEN`` through ``EnvVar``)
  to ``HAIER_SLACK_CHANNEL``. ``HAIER_SLACK_API_URL`` points it at a Slack-compatible API instead.
- E-mail: Dagster's ``make_email_on_run_failure_sensor`` mails every failed run when
  ``HAIER_ALERT_EMAIL_TO`` is set (the SMTP password comes from ``HAIER_SMTP_PASSWORD``).

A channel's secret never appears in its ``repr``, in a log line or in an exception message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg
from dagster_slack import SlackResource

from .settings import HealthSettings

if TYPE_CHECKING:
    from haier_pipeline.automation.alerts import Alert

SEVERITY_ICONS = {"error": ":red_circle:", "warning": ":warning:", "info": ":large_green_circle:"}


@dataclass
class SlackNotifier:
    """Posts an alert to one Slack channel through ``SlackResource``'s client."""

    channel: str
    api_url: str | None = None

    def send(self, alert: Alert) -> None:
        client = SlackResource(token=dg.EnvVar("HAIER_SLACK_TOKEN").get_value() or "").get_client()
        if self.api_url:
            client.base_url = self.api_url.rstrip("/") + "/"
        text = f"{SEVERITY_ICONS.get(alert.severity, '')} *{alert.title}*\n{alert.log_line()}"
        client.chat_postMessage(channel=self.channel, text=text)

    def __repr__(self) -> str:
        return f"SlackNotifier(channel={self.channel!r})"


def slack_notifier(settings: HealthSettings) -> SlackNotifier | None:
    """The Slack channel when ``HAIER_SLACK_CHANNEL`` (and its token) are set."""
    if not settings.slack_channel:
        return None
    return SlackNotifier(settings.slack_channel, settings.slack_api_url)


def email_failure_sensors(settings: HealthSettings) -> list[dg.SensorDefinition]:
    """Dagster's e-mail-on-run-failure sensor over every job, when ``HAIER_ALERT_EMAIL_TO`` is set."""
    email = settings.email
    if email is None:
        return []
    return [dg.make_email_on_run_failure_sensor(
        email_from=email.email_from,
        email_password=os.environ.get("HAIER_SMTP_PASSWORD", ""),
        email_to=list(email.email_to),
        smtp_host=email.smtp_host,
        smtp_type=email.smtp_type,
        smtp_port=email.smtp_port,
        smtp_user=email.smtp_user,
        name="haier_email_on_run_failure",
        monitor_all_code_locations=True,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )]
