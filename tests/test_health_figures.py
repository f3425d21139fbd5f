"""Each of the original's targets pushed across its line against the sandbox, with the alerts that follow.

Slow answers come from the sandbox's latency faults, failed calls from its application-error
faults; each warning check must carry its figure and threshold, the run must still succeed, and
the slow-call alert must reach a webhook receiver on 127.0.0.1 once per run, naming the endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from haier_pipeline.catalog.engine import release_database
from haier_pipeline.definitions import build_definitions
from haier_pipeline.sandbox import FaultProfile, RunningSandbox, SandboxOptions, run_sandbox
from haier_pipeline.settings import load_settings
from support.pipeline import pipeline_env, project_env
from support.webhook_receiver import WebhookReceiver, webhook_receiver

ONE_COUNTY = {"resources": {"sync_scope": {"config": {"county_codes": ["110101"]}}}}


@dataclass
class Rig:
    sandbox: RunningSandbox
    hook: WebhookReceiver
    env: dict[str, str]
    instance: dg.DagsterInstance

    def run(self, job: str, run_config: Mapping | None = None, succeed: bool | None = None,
            **extra: str) -> dg.ExecuteInProcessResult:
        # A sandbox of under 100 products carries over 5 % malformed listing records: products' blocking
        # sync_rejections_within_limit then stops the catalog steps, while the raw assets and their checks run.
        succeed = len(self.sandbox.catalogue.listing_codes()) >= 100 if succeed is None else succeed
        with project_env({**self.env, **extra}):
            defs = build_definitions(load_settings())
            result = defs.resolve_job_def(job).execute_in_process(
                instance=self.instance, run_config=dict(run_config or {}), raise_on_error=False)
        assert result.success or not succeed, [event.message for event in result.all_events if event.is_failure]
        return result


@contextmanager
def rig(tmp_path: Path, catalog_url: str, products: int) -> Iterator[Rig]:
    with run_sandbox(SandboxOptions(products=products)) as sandbox, webhook_receiver() as hook, \
            dg.DagsterInstance.ephemeral() as instance:
        env = pipeline_env(sandbox, catalog_url, tmp_path, HAIER_ALERT_WEBHOOK_URL=hook.url)
        try:
            yield Rig(sandbox, hook, env, instance)
        finally:
            release_database(catalog_url)


def checks_of(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations() if e.asset_key.to_user_string() == asset}


def value(evaluation: dg.AssetCheckEvaluation, key: str) -> object:
    raw = evaluation.metadata[key]
    return getattr(raw, "value", raw)


def assert_missed(evaluation: dg.AssetCheckEvaluation, threshold: float) -> float:
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN, evaluation
    assert value(evaluation, "threshold") == threshold
    return float(value(evaluation, "value"))


def test_a_healthy_sync_meets_every_target_and_alerts_nobody(tmp_path, catalog_url):
    with rig(tmp_path, catalog_url, products=150) as r:
        result = r.run("haier_products_sync")
        checks = checks_of(result, "haier_raw_products")
        assert set(checks) >= {"products_per_minute_target", "success_rate_target", "api_p95_latency_ms_target",
                               "error_rate_target"}
        assert all(check.passed for check in checks.values()), {k: c.metadata for k, c in checks.items()}
        assert value(checks["products_per_minute_target"], "value") >= 100
        assert "not_judged" not in checks["products_per_minute_target"].metadata  # 150 records: speed is judged
        assert r.hook.bodies == []


def test_a_small_sync_is_not_judged_on_speed(tmp_path, catalog_url):
    with rig(tmp_path, catalog_url, products=20) as r:
        check = checks_of(r.run("haier_products_sync"), "haier_raw_products")["products_per_minute_target"]
        assert check.passed and "from 100" in value(check, "not_judged")


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_answers_over_ten_seconds_miss_the_latency_target_and_alert_once_naming_the_endpoint(tmp_path, catalog_url):
    with rig(tmp_path, catalog_url, products=20) as r:
        r.sandbox.set_faults(FaultProfile(slow_rate=1.0, slow_seconds=10.5))
        result = r.run("haier_products_sync")
        latency = checks_of(result, "haier_raw_products")["api_p95_latency_ms_target"]
        assert assert_missed(latency, 5000.0) >= 10_500
        assert value(latency, "slow_call_alert_sent") is True
        [alert] = r.hook.of_kind("slow_api_call")
        assert alert["details"]["endpoint"] == "products" and alert["details"]["seconds"] >= 10.5
        assert alert["details"]["threshold_seconds"] == 10.0 and alert["run_id"] == result.run_id
        assert "products" in alert["title"]


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_slow_calls_in_every_asset_of_a_run_alert_once(tmp_path, catalog_url):
    with rig(tmp_path, catalog_url, products=8) as r:
        r.run("haier_products_sync")
        r.sandbox.set_faults(FaultProfile(slow_rate=1.0, slow_seconds=0.6))
        result = r.run("haier_full_sync", ONE_COUNTY, HAIER_SLOW_CALL_SECONDS="0.5")
        sent = [value(checks_of(result, asset)["api_p95_latency_ms_target"], "slow_call_alert_sent")
                for asset in ("haier_raw_products", "haier_raw_prices", "haier_raw_stock")]
        assert sent.count(True) == 1, sent
        [alert] = r.hook.of_kind("slow_api_call")
        assert alert["run_id"] == result.run_id and alert["details"]["endpoint"] in ("products", "prices", "stock")
        assert all(check.passed for check in checks_of(result, "haier_raw_stock").values()
                   if check.check_name != "products_per_minute_target")  # 0.6 s is under the 5 s p95 line


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_failed_price_calls_miss_the_success_and_error_rate_targets(tmp_path, catalog_url):
    with rig(tmp_path, catalog_url, products=200) as r:
        r.run("haier_products_sync")
        # Only price calls fail: the price sync lists products first (issue 14), and a refused listing page
        # would stop the run before any price is asked for.
        r.sandbox.set_faults(FaultProfile(app_error_rate=0.4, endpoints=("prices",), seed=3))
        # Over 5 % rejected fails prices' blocking checks: the run fails, by design, after the price checks ran.
        checks = checks_of(r.run("haier_price_sync", succeed=False), "haier_raw_prices")
        error_rate = assert_missed(checks["error_rate_target"], 0.05)
        success_rate = assert_missed(checks["success_rate_target"], 0.95)
        assert error_rate > 0.05 and success_rate < 0.95 and abs(error_rate + success_rate - 1) < 1e-3
        assert checks["api_p95_latency_ms_target"].passed


@pytest.mark.slow
@pytest.mark.catalog_independent  # a minute of slow answers; the figure is the client's, not the database's
def test_a_slow_stock_sync_misses_the_speed_target(tmp_path, catalog_url):
    with rig(tmp_path, catalog_url, products=110) as r:
        r.run("haier_products_sync")
        r.sandbox.set_faults(FaultProfile(slow_rate=1.0, slow_seconds=0.6))
        result = r.run("haier_stock_sync", ONE_COUNTY, HAIER_MAX_CONCURRENCY="1")
        speed = checks_of(result, "haier_raw_stock")["products_per_minute_target"]
        assert assert_missed(speed, 100.0) < 100
