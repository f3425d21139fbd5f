"""Where alerts go, as a Dagster resource: always a log line; the webhook and Slack when configured.

It also carries the alert lines that are settings (``HAIER_SLOW_CALL_SECONDS``,
``HAIER_API_HEALTH_FAILURES``), so checks and sensors read them from the resource, not the environment.
"""


import logging
from typing import Any

import dagster as dg

from haier_pipeline.alerts import Alert, LogNotifier, Notifier, SlackNotifier, WebhookNotifier, send_alert

from .values import settings_value


class AlertResource(dg.ConfigurableResource):
    """Sends an :class:`Alert` to every channel: the log, plus ``HAIER_ALERT_WEBHOOK_URL`` when set.

    The webhook URL (often carrying a token) comes from the settings only: a resource dependency,
    never run config.
    """

    webhook_url: dg.ResourceDependency[str | None] = settings_value(None, repr=False)
    slack_token: dg.ResourceDependency[str | None] = settings_value(None, repr=False)
    slack_channel: dg.ResourceDependency[str | None] = settings_value(None)
    slack_api_url: dg.ResourceDependency[str | None] = settings_value(None)
    slow_call_seconds: dg.ResourceDependency[float] = settings_value(10.0)
    api_health_failures: dg.ResourceDependency[int] = settings_value(3)

    def notifiers(self, logger: logging.Logger | Any) -> list[Notifier]:
        """The log line always; the webhook and Slack when configured."""
        found: list[Notifier] = [LogNotifier(logger)]
        if self.webhook_url:
            found.append(WebhookNotifier(self.webhook_url))
        if self.slack_channel and self.slack_token:
            found.append(SlackNotifier(self.slack_token, self.slack_channel, self.slack_api_url))
        return found

    def send(self, alert: Alert, logger: logging.Logger | Any) -> int:
        """Give ``alert`` to every channel; return how many delivered it (failures are logged, never raised)."""
        return send_alert(alert, logger, self.notifiers(logger))
