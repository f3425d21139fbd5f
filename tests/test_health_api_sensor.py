"""The API health sensor against the sandbox: a token and a one-product listing each tick, observed with
latencies; an alert after consecutive failures and a notice on recovery (both to a local webhook);
the 30-day uptime from the sensor's own counts. Plus the Slack channel, against a Slack-shaped API on 127.0.0.1.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from haier_pipeline.alerts import Alert
from haier_pipeline.definitions import build_resources
from haier_pipeline.defs.health.api_health import api_health_sensor
from haier_pipeline.health.uptime import HealthLedger
from haier_pipeline.resources import AlertResource, CatalogResource
from haier_pipeline.sandbox import FaultProfile, SandboxOptions, run_sandbox
from haier_pipeline.settings import load_settings
from support.pipeline import pipeline_env, project_env
from support.webhook_receiver import webhook_receiver


class Ticks:
    """Evaluates the sensor like the daemon does: each tick gets the previous tick's cursor."""

    def __init__(self, instance: dg.DagsterInstance, catalog: CatalogResource) -> None:
        self.instance, self.catalog, self.cursor = instance, catalog, None

    def tick(self) -> dg.SensorResult:
        resources = {**build_resources(load_settings()), "catalog": self.catalog}
        with dg.build_sensor_context(instance=self.instance, cursor=self.cursor, resources=resources) as context:
            result = api_health_sensor(300)(context)
        self.cursor = result.cursor
        return result


def observed(result: dg.SensorResult) -> dict:
    [event] = result.asset_events
    assert event.asset_key == dg.AssetKey("haier_api_health")
    return {key: getattr(value, "value", value) for key, value in event.metadata.items()}


def test_failures_in_a_row_alert_once_and_recovery_is_announced(tmp_path, catalog, instance):
    with run_sandbox(SandboxOptions(products=5)) as sandbox, webhook_receiver() as hook:
        env = pipeline_env(sandbox, catalog.db_url, tmp_path, HAIER_ALERT_WEBHOOK_URL=hook.url,
                           HAIER_API_HEALTH_FAILURES="3")
        with project_env(env):
            ticks = Ticks(instance, catalog)
            first = observed(ticks.tick())
            assert first["ok"] is True and first["token_ms"] > 0 and first["listing_ms"] > 0
            assert first["uptime_30d"] == 1.0 and hook.bodies == []

            sandbox.set_faults(FaultProfile(error_rate=1.0, include_token=True))
            streak = [observed(ticks.tick()) for _ in range(4)]
            assert [seen["ok"] for seen in streak] == [False] * 4
            assert [seen["failures_in_row"] for seen in streak] == [1, 2, 3, 4]
            assert streak[0]["error"].startswith("token: ")
            [down] = hook.of_kind("api_down")  # on the third failure, not again on the fourth
            assert down["details"]["failures_in_row"] == 3 and down["severity"] == "error"

            sandbox.set_faults(FaultProfile(app_error_rate=1.0))  # token fine, listing refused
            listing = observed(ticks.tick())
            assert listing["ok"] is False and listing["error"].startswith("listing: ") and listing["token_ms"] > 0

            sandbox.set_faults(FaultProfile(slow_rate=1.0, slow_seconds=0.3))
            back = observed(ticks.tick())
            assert back["ok"] is True and back["listing_ms"] >= 300 and back["failures_in_row"] == 0
            [recovered] = hook.of_kind("api_recovered")
            assert recovered["severity"] == "info"
            assert back["uptime_30d"] == round(2 / 7, 6) and back["checks_30d"] == 7
            assert len(hook.bodies) == 2
            secrets = [env["HAIER_CLIENT_SECRET"], env["HAIER_PASSWORD"]]
            assert not [s for s in secrets if s in json.dumps(hook.bodies) or s in ticks.cursor + str(streak)]


def test_the_sensor_skips_without_a_gateway(catalog, instance, monkeypatch):
    monkeypatch.delenv("HAIER_BASE_URL", raising=False)
    result = Ticks(instance, catalog).tick()
    assert not result.asset_events and "HAIER_BASE_URL is unset" in result.skip_reason.skip_message


def test_uptime_counts_thirty_days_and_forgets_older_ones():
    ledger, start = HealthLedger(), datetime(2026, 10, 1, 12, tzinfo=UTC)
    ledger.record(False, start)  # 40 days before the last check: out of the window
    for day in range(10, 41):
        ledger.record(True, start + timedelta(days=day))
    ledger.record(False, start + timedelta(days=40))
    restored = HealthLedger.from_cursor(ledger.to_cursor())
    assert restored.checks == 30 + 1 and restored.uptime == 30 / 31 == ledger.uptime  # days 11..40 kept
    assert restored.failures_in_row == 1


def test_alerts_reach_slack_with_the_token_only_in_the_authorization_header():
    token = "xoxb-secret-token-4242"
    with webhook_receiver(path="/api/", answer=b'{"ok": true}') as slack:
        settings = load_settings({"HAIER_SLACK_CHANNEL": "#haier-ops", "HAIER_SLACK_TOKEN": token,
                                  "HAIER_SLACK_API_URL": slack.url})
        alerts = build_resources(settings)["alerts"]
        assert isinstance(alerts, AlertResource) and token not in repr(alerts) and token in settings.secrets()
        lines: list[str] = []

        class Log:
            def error(self, line: str) -> None:
                lines.append(line)

            warning = info = error

        delivered = alerts.send(Alert(kind="api_down", title="Haier API failed 3 health checks in a row",
                                      message="token: HTTP 503"), Log())
        assert delivered == 2  # the log line and Slack
        [body] = slack.bodies
        assert slack.paths == ["/api/chat.postMessage"] and body["channel"] == "#haier-ops"
        assert "Haier API failed 3 health checks in a row" in body["text"] and "api_down" in body["text"]
        assert slack.headers[0]["Authorization"] == f"Bearer {token}"
        assert token not in json.dumps(body) and not [line for line in lines if token in line]
