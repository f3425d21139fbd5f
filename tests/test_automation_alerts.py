"""Alerts: always a log line; a JSON POST to HAIER_ALERT_WEBHOOK_URL when set; a broken channel never raises."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest

from haier_pipeline.alerts import Alert, LogNotifier, WebhookNotifier, send_alert
from haier_pipeline.resources import AlertResource
from haier_pipeline.settings import SettingsError, load_settings
from support.dagster_dev import free_port
from support.webhook_receiver import webhook_receiver


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured():
    logger = logging.getLogger(f"test-alerts-{id(object())}")
    logger.setLevel(logging.DEBUG)
    handler = ListHandler()
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, handler.records


ALERT = Alert(kind="run_failure", title="haier_full_sync failed", message="step haier_raw_products failed: 503",
              run_id="abc123", details={"job": "haier_full_sync", "sync_log_rows_closed": 2})


def test_without_a_webhook_only_the_log_line_is_written(captured, monkeypatch):
    logger, records = captured
    alerts = AlertResource(webhook_url=load_settings({}).alert_webhook_url)
    assert [type(n) for n in alerts.notifiers(logger)] == [LogNotifier]
    assert alerts.send(ALERT, logger) == 1
    assert len(records) == 1 and records[0].levelno == logging.ERROR
    line = records[0].getMessage()
    assert line.startswith("HAIER ALERT [error] run_failure: haier_full_sync failed")
    assert "run=abc123" in line and "sync_log_rows_closed=2" in line


def test_with_a_webhook_the_alert_is_posted_as_json(captured, monkeypatch):
    logger, records = captured
    with webhook_receiver() as hook:
        alerts = AlertResource(webhook_url=load_settings({"HAIER_ALERT_WEBHOOK_URL": hook.url}).alert_webhook_url)
        assert alerts.send(ALERT, logger) == 2
        [body] = hook.bodies
    assert hook.paths == ["/hooks/alerts"]
    assert body["source"] == "haier_pipeline"
    assert (body["kind"], body["title"], body["run_id"], body["severity"]) == (
        "run_failure", "haier_full_sync failed", "abc123", "error")
    assert body["details"] == {"job": "haier_full_sync", "sync_log_rows_closed": 2}
    assert datetime.fromisoformat(body["at"]).tzinfo is not None
    assert len(records) == 1  # the log line is still written


def test_a_failing_webhook_is_logged_without_its_url_and_never_raises(captured, monkeypatch):
    logger, records = captured
    token = "T0KEN-s3cr3t-path"
    with webhook_receiver(path=f"/hooks/{token}", status=500) as hook:
        assert AlertResource(webhook_url=hook.url).send(ALERT, logger) == 1  # the log line only
        assert len(hook.bodies) == 1  # it was tried
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert warnings and "HTTPError" in warnings[0]
    assert all(token not in r.getMessage() for r in records)
    assert token not in repr(WebhookNotifier(hook.url))


def test_an_unreachable_webhook_does_not_stop_other_notifiers(captured):
    logger, records = captured
    delivered = send_alert(
        ALERT, logger, notifiers=[WebhookNotifier(f"http://127.0.0.1:{free_port()}/x", timeout=2), LogNotifier(logger)]
    )
    assert delivered == 1
    assert any("HAIER ALERT" in r.getMessage() for r in records)


def test_a_malformed_webhook_url_is_refused_at_start_up_by_name():
    with pytest.raises(SettingsError, match="HAIER_ALERT_WEBHOOK_URL"):
        load_settings({"HAIER_ALERT_WEBHOOK_URL": "file:///etc/passwd"})
