"""The freshness sensor: reports the prices and stock freshness checks between runs.

A freshness check run together with its asset always passes (the asset was just
materialized); staleness shows only when the scheduled run does *not* happen. So this sensor
evaluates the rules in ``assets/freshness.py`` every few minutes and reports the verdicts as
check evaluations — when a verdict changes, and at least hourly — and the UI turns the check
red without anyone launching a run.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import dagster as dg

from haier_pipeline.assets.freshness import RULES, as_check_evaluation, evaluate
from haier_pipeline.assets.sync_tracking import utc_now

REPORT_AT_LEAST_EVERY = timedelta(hours=1)


@dg.sensor(
    name="haier_freshness_sensor",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Evaluates the prices/stock freshness checks against their schedules and reports them to the UI.",
)
def haier_freshness_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    previous: dict[str, dict] = json.loads(context.cursor or "{}")
    now = utc_now()
    events, state, lines = [], {}, []
    for rule in RULES:
        verdict = evaluate(rule, context.instance, now)
        key = rule.check_key.to_user_string()
        before = previous.get(key, {})
        reported = datetime.fromisoformat(before["reported_at"]) if "reported_at" in before else None
        due = reported is None or before.get("passed") != verdict.passed or now - reported >= REPORT_AT_LEAST_EVERY
        if due:
            events.append(as_check_evaluation(verdict, now))
            reported = now
        state[key] = {"passed": verdict.passed, "reported_at": reported.isoformat()}
        lines.append(verdict.description())
    summary = "; ".join(lines)
    if not events:
        return dg.SensorResult(skip_reason=f"unchanged: {summary}", cursor=json.dumps(state))
    return dg.SensorResult(asset_events=events, cursor=json.dumps(state))
