"""Where the sensors' alerts go, as a Dagster resource: always a log line, and the webhook when configured."""


import logging
from typing import Any

import dagster as dg

from haier_pipeline.alerts import Alert, LogNotifier, Notifier, WebhookNotifier, send_alert

from .values import settings_value


class AlertResource(dg.ConfigurableResource):
    """Sends an :class:`Alert` to every channel: the log, plus ``HAIER_ALERT_WEBHOOK_URL`` when set.

    The webhook URL (often carrying a token) comes from the settings only: a resource dependency,
    never run config.
    """

    webhook_url: dg.ResourceDependency[str | None] = settings_value(None, repr=False)

    def notifiers(self, logger: logging.Logger | Any) -> list[Notifier]:
        """The log line always; the webhook when configured."""
        found: list[Notifier] = [LogNotifier(logger)]
        if self.webhook_url:
            found.append(WebhookNotifier(self.webhook_url))
        return found

    def send(self, alert: Alert, logger: logging.Logger | Any) -> int:
        """Give ``alert`` to every channel; return how many delivered it (failures are logged, never raised)."""
        return send_alert(alert, logger, self.notifiers(logger))
