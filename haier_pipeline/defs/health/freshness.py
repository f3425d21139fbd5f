"""Freshness of the catalog's prices and stock, measured against the schedules that refresh them.

Each rule is a Dagster ``FreshnessPolicy.cron``: a deadline some minutes after each scheduled
tick, and a window one schedule interval long before it. At 10:20 (Asia/Shanghai) the prices
must have been materialized since 09:20 — by the 10:00 hourly run, or any run after 09:20.
The same evaluation serves two callers: the asset checks (run with the asset) and the freshness
sensor. A check run together with its asset always passes (the asset was just materialized);
staleness shows only when the scheduled run does *not* happen, so the sensor evaluates the rules
every few minutes and reports the verdicts as check evaluations — when a verdict changes, and at
least hourly — and the UI turns the check red without anyone launching a run.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from dagster._core.definitions.freshness import CronFreshnessPolicy  # what FreshnessPolicy.cron builds
from dagster._utils.schedules import get_latest_completed_cron_tick  # the evaluator Dagster's own daemon uses

from haier_pipeline.constants import TIMEZONE
from haier_pipeline.defs.sync.automation import price_sync_hourly, stock_sync_half_hourly

PRICES_KEY = dg.AssetKey("products")
STOCK_KEY = dg.AssetKey("product_stock")
CHECK_NAME = "fresh_against_schedule"


@dataclass(frozen=True)
class FreshnessRule:
    """An asset, the schedule that refreshes it, and the policy that says how late is too late."""

    asset_key: dg.AssetKey
    what: str
    schedule_cron: str
    policy: CronFreshnessPolicy

    @property
    def check_key(self) -> dg.AssetCheckKey:
        return dg.AssetCheckKey(self.asset_key, CHECK_NAME)


RULES: tuple[FreshnessRule, ...] = (
    FreshnessRule(
        PRICES_KEY, "prices", str(price_sync_hourly.cron_schedule),
        CronFreshnessPolicy(deadline_cron="20 * * * *", lower_bound_delta=timedelta(hours=1), timezone=TIMEZONE),
    ),
    FreshnessRule(
        STOCK_KEY,
        "stock",
        str(stock_sync_half_hourly.cron_schedule),
        CronFreshnessPolicy(
            deadline_cron="15,45 * * * *", lower_bound_delta=timedelta(minutes=30), timezone=TIMEZONE
        ),
    ),
)


@dataclass(frozen=True)
class FreshnessVerdict:
    """Whether the asset was materialized inside the window that ended at the last deadline."""

    rule: FreshnessRule
    passed: bool
    deadline: datetime
    window_start: datetime
    last_materialized: datetime | None

    def metadata(self, now: datetime) -> dict[str, Any]:
        last = self.last_materialized
        return {
            "schedule_cron": self.rule.schedule_cron,
            "deadline": dg.MetadataValue.timestamp(self.deadline),
            "window_start": dg.MetadataValue.timestamp(self.window_start),
            "last_materialized": dg.MetadataValue.timestamp(last) if last else "never",
            "age_minutes": dg.MetadataValue.float(round((now - last).total_seconds() / 60, 1)) if last else -1.0,
        }

    def description(self) -> str:
        if self.passed:
            return f"{self.rule.what} refreshed since {self.window_start:%Y-%m-%d %H:%M %Z}"
        last = f"last at {self.last_materialized:%Y-%m-%d %H:%M %Z}" if self.last_materialized else "never materialized"
        window = f"{self.window_start:%H:%M} and {self.deadline:%H:%M %Z}"
        return f"{self.rule.what} stale: not refreshed between {window} ({last})"


def last_materialized(instance: dg.DagsterInstance, key: dg.AssetKey) -> datetime | None:
    """When ``key`` was last materialized (any partition), as an aware UTC datetime."""
    event = instance.get_latest_materialization_event(key)
    return datetime.fromtimestamp(event.timestamp, tz=UTC) if event else None


def evaluate(rule: FreshnessRule, instance: dg.DagsterInstance, now: datetime) -> FreshnessVerdict:
    """The cron policy's verdict at ``now``: the latest deadline tick and its window vs the last materialization."""
    policy = rule.policy
    deadline = get_latest_completed_cron_tick(policy.deadline_cron, now.astimezone(UTC), policy.timezone)
    window_start = deadline - policy.lower_bound_delta
    last = last_materialized(instance, rule.asset_key)
    return FreshnessVerdict(rule, last is not None and last >= window_start, deadline, window_start, last)


def as_check_result(verdict: FreshnessVerdict, now: datetime) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=verdict.passed, severity=dg.AssetCheckSeverity.WARN,
        metadata=verdict.metadata(now), description=verdict.description(),
    )


def as_check_evaluation(verdict: FreshnessVerdict, now: datetime) -> dg.AssetCheckEvaluation:
    """The verdict as an event a sensor can report for the check (no run needed)."""
    return dg.AssetCheckEvaluation(
        asset_key=verdict.rule.asset_key, check_name=CHECK_NAME, passed=verdict.passed,
        severity=dg.AssetCheckSeverity.WARN, metadata=verdict.metadata(now), description=verdict.description(),
    )


def _freshness_check(rule: FreshnessRule) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=rule.asset_key, name=CHECK_NAME,
        description=f"The {rule.what} were refreshed by the schedule `{rule.schedule_cron}` ({TIMEZONE}): "
                    f"materialized since {rule.policy.lower_bound_delta} before each deadline "
                    f"`{rule.policy.deadline_cron}`.",
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        now = datetime.now(UTC)
        return as_check_result(evaluate(rule, context.instance, now), now)

    return _check


FRESHNESS_CHECKS: list[dg.AssetChecksDefinition] = [_freshness_check(rule) for rule in RULES]


REPORT_AT_LEAST_EVERY = timedelta(hours=1)


@dg.sensor(
    name="haier_freshness_sensor", minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
    description="Evaluates the prices/stock freshness checks against their schedules and reports them to the UI.",
)
def haier_freshness_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    previous: dict[str, dict] = json.loads(context.cursor or "{}")
    now = datetime.now(UTC)
    events, state, lines = [], {}, []
    for rule in RULES:
        verdict = evaluate(rule, context.instance, now)
        key = rule.check_key.to_user_string()
        before = previous.get(key, {})
        reported = datetime.fromisoformat(before["reported_at"]) if "reported_at" in before else None
        due = reported is None or before.get("passed") != verdict.passed or now - reported >= REPORT_AT_LEAST_EVERY
        if due or reported is None:
            events.append(as_check_evaluation(verdict, now))
            reported = now
        state[key] = {"passed": verdict.passed, "reported_at": reported.isoformat()}
        lines.append(verdict.description())
    summary = "; ".join(lines)
    if not events:
        return dg.SensorResult(skip_reason=f"unchanged: {summary}", cursor=json.dumps(state))
    return dg.SensorResult(asset_events=events, cursor=json.dumps(state))
