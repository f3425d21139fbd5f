"""Alerts from the sensors: always a log line, plus a webhook POST when ``HAIER_ALERT_WEBHOOK_URL`` is set.

Plain Python (no Dagster): ``resources/alerts.py`` picks the channels from the settings.

The original system's operators were told about failed syncs and a failure rate over 5 %.
Here a sensor builds an :class:`Alert` and hands it to :func:`send_alert`, which passes it to
every :class:`Notifier`. Add a notifier (mail, chat, pager) by implementing ``send`` and passing
it in ``notifiers``; a notifier that fails is logged and never stops the others or the sensor.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

WEBHOOK_TIMEOUT_SECONDS = 5.0
SOURCE = "haier_pipeline"


@dataclass(frozen=True)
class Alert:
    """One thing an operator should know about: what happened, how bad, and the figures behind it."""

    kind: str  # "run_failure", "failure_rate", "failure_rate_recovered"
    title: str
    message: str
    severity: str = "error"  # "error" | "warning" | "info"
    run_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["at"] = self.at.isoformat()
        body["details"] = {key: _plain(value) for key, value in self.details.items()}
        body["source"] = SOURCE
        return body

    def log_line(self) -> str:
        figures = ", ".join(f"{key}={_plain(value)}" for key, value in self.details.items())
        run = f" run={self.run_id}" if self.run_id else ""
        return f"HAIER ALERT [{self.severity}] {self.kind}: {self.title} — {self.message}{run}" + (
            f" ({figures})" if figures else ""
        )


def _plain(value: Any) -> Any:
    """JSON-safe figures: numbers, strings, booleans and None as they are, anything else as text."""
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


class Notifier(Protocol):
    """Delivers an alert somewhere. Raise on failure; :func:`send_alert` logs it and carries on."""

    def send(self, alert: Alert) -> None: ...


@dataclass
class LogNotifier:
    """Writes the alert as one log line (the sensor's log in the UI, and the daemon's output)."""

    logger: logging.Logger | Any

    def send(self, alert: Alert) -> None:
        log = self.logger.error if alert.severity == "error" else (
            self.logger.warning if alert.severity == "warning" else self.logger.info
        )
        log(alert.log_line())


@dataclass
class WebhookNotifier:
    """POSTs the alert as JSON to a URL (Slack-style incoming webhooks, an alert manager, a chat bot)."""

    url: str
    timeout: float = WEBHOOK_TIMEOUT_SECONDS

    def send(self, alert: Alert) -> None:
        response = requests.post(self.url, json=alert.as_json(), timeout=self.timeout)
        response.raise_for_status()

    def __repr__(self) -> str:  # webhook URLs often carry a token in their path: show the host only
        return f"WebhookNotifier(host={urlsplit(self.url).hostname!r})"


def send_alert(alert: Alert, logger: logging.Logger | Any, notifiers: Sequence[Notifier]) -> int:
    """Give ``alert`` to every notifier; return how many delivered it. Failures are logged, never raised."""
    delivered = 0
    for notifier in notifiers:
        try:
            notifier.send(alert)
        except Exception as exc:  # noqa: BLE001 - one broken channel must not silence the others
            # The exception text can include the webhook URL (and its token): name the type only.
            logger.warning(f"alert notifier {notifier!r} failed: {type(exc).__name__}")
            continue
        delivered += 1
    return delivered
