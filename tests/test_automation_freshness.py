"""Freshness of prices and stock against their schedules: the rule, the check, and the sensor that reports it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from dagster._utils.schedules import cron_string_iterator

from haier_pipeline.constants import TIMEZONE
from haier_pipeline.defs.health.freshness import (
    CHECK_NAME,
    PRICES_KEY,
    RULES,
    STOCK_KEY,
    evaluate,
    haier_freshness_sensor,
)
from haier_pipeline.defs.sync.automation import SCHEDULES


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


def materialized_at(instance: dg.DagsterInstance, key: dg.AssetKey) -> datetime:
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))
    return datetime.fromtimestamp(instance.get_latest_materialization_event(key).timestamp, tz=UTC)


def ticks(cron: str, start: datetime, count: int) -> list[datetime]:
    iterator = cron_string_iterator(start.timestamp(), cron, TIMEZONE)
    return [next(iterator) for _ in range(count)]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.what)
def test_each_deadline_follows_a_scheduled_run_and_spans_one_interval(rule):
    schedule = {str(s.cron_schedule): s for s in SCHEDULES}[rule.schedule_cron]
    assert schedule.execution_timezone == rule.policy.timezone == TIMEZONE
    start = datetime(2025, 7, 1, tzinfo=UTC)
    runs = ticks(rule.schedule_cron, start, 50)
    deadlines = ticks(rule.policy.deadline_cron, runs[0], 48)
    interval = runs[1] - runs[0]
    assert rule.policy.lower_bound_delta == interval  # "materialized within one schedule interval"
    for deadline in deadlines:
        before = max(run for run in runs if run <= deadline)
        assert timedelta(0) < deadline - before < interval  # each deadline leaves the run time to finish


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.what)
def test_fresh_just_after_a_materialization_and_stale_when_the_schedule_was_missed(instance, rule):
    assert not evaluate(rule, instance, datetime.now(UTC)).passed  # never materialized
    at = materialized_at(instance, rule.asset_key)
    fresh = evaluate(rule, instance, at + timedelta(minutes=1))
    assert fresh.passed and fresh.last_materialized == at
    missed = evaluate(rule, instance, at + 3 * rule.policy.lower_bound_delta + timedelta(minutes=1))
    assert not missed.passed
    assert missed.window_start > at
    assert f"{rule.what} stale" in missed.description()


def test_the_sensor_reports_check_evaluations_only_when_a_verdict_changes(instance):
    materialized_at(instance, PRICES_KEY)
    first = haier_freshness_sensor(dg.build_sensor_context(instance=instance))
    verdicts = {(e.asset_key, e.check_name): e.passed for e in first.asset_events}
    assert verdicts == {(PRICES_KEY, CHECK_NAME): True, (STOCK_KEY, CHECK_NAME): False}
    stale_stock = next(e for e in first.asset_events if e.asset_key == STOCK_KEY)
    assert stale_stock.severity == dg.AssetCheckSeverity.WARN
    assert stale_stock.metadata["last_materialized"].value == "never"

    unchanged = haier_freshness_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
    assert not unchanged.asset_events and "unchanged" in unchanged.skip_reason.skip_message

    materialized_at(instance, STOCK_KEY)
    changed = haier_freshness_sensor(dg.build_sensor_context(instance=instance, cursor=unchanged.cursor))
    assert [(e.asset_key, e.passed) for e in changed.asset_events] == [(STOCK_KEY, True)]
