"""Close a run's sync-log rows when the run ends, so a row covers its whole sync, not just the fetch.

A raw asset (``haier_raw_prices`` …) leaves its row ``processing`` once the payloads are stored; the
catalogue step (``products`` …) adds what the catalogue now holds; the blocking checks guarding that
write run after it. Only when the run ends — the catalogue resource's teardown, still holding the
run lock — is each row closed: ``failed`` naming the step and its reason when one of its sync's
steps (or a check on one of them) failed or never ran, else ``success``/``partial`` by its counts.
A run killed before its end leaves the rows ``processing``; the dead-run sweeps close them.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg
from dagster._core.events import DagsterEvent

from haier_pipeline.catalog.sync_log import finish_run_sync_logs, open_sync_types

from .liveness import CatalogHandle, utc_now

SYNC_STEPS: dict[str, tuple[str, ...]] = {
    "products": ("haier_raw_products", "brands", "categories", "products"),
    "prices": ("haier_raw_prices", "products"),
    "stock": ("haier_raw_stock", "product_stock"),
}
"""The steps (asset names) a sync of each kind takes, fetch to catalogue; checks on these assets count too."""


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def failure_reason(event: DagsterEvent) -> str:
    """A failed step's reason: a ``dg.Failure``'s description, else the error the step raised (one line)."""
    data = event.step_failure_data
    if data is None:
        return "unknown error"
    if data.user_failure_data is not None and data.user_failure_data.description:
        return _first_line(data.user_failure_data.description)
    error = data.error
    wrapper = "DagsterExecutionStepExecutionError"
    while error is not None and error.cause is not None and wrapper in (error.cls_name or ""):
        error = error.cause
    return _first_line(error.message) if error is not None else "unknown error"


def _events(instance: dg.DagsterInstance, run_id: str, kind: dg.DagsterEventType) -> list[DagsterEvent]:
    records = instance.get_records_for_run(run_id, of_type=kind, limit=10_000).records
    return [record.event_log_entry.dagster_event for record in records if record.event_log_entry.dagster_event]


def step_outcomes(instance: dg.DagsterInstance, run: dg.DagsterRun) -> tuple[set[str], set[str], dict[str, str],
                                                                            dict[str, str]]:
    """(planned steps, succeeded steps, failed step -> reason, check step -> its asset's name) of a run."""
    planned: set[str] = set()
    snapshot = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id) if (
        run.execution_plan_snapshot_id) else None
    if snapshot is not None:
        planned = set(snapshot.step_keys_to_execute)
    succeeded = {event.step_key for event in _events(instance, run.run_id, dg.DagsterEventType.STEP_SUCCESS)
                 if event.step_key}
    checks: dict[str, str] = {}
    refused: dict[str, str] = {}
    for event in _events(instance, run.run_id, dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = event.event_specific_data
        if not event.step_key or not isinstance(evaluation, dg.AssetCheckEvaluation):
            continue
        asset = evaluation.asset_key.to_user_string()
        checks[event.step_key] = asset
        if not evaluation.passed and evaluation.blocking and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            why = evaluation.description or "see the check's metadata"
            refused[event.step_key] = f"blocking check {evaluation.check_name!r} on {asset} failed: {why}"
    failed = {
        event.step_key: refused.get(event.step_key) or failure_reason(event)
        for event in _events(instance, run.run_id, dg.DagsterEventType.STEP_FAILURE) if event.step_key
    }
    return planned, succeeded, failed, checks


def sync_reasons(planned: set[str], succeeded: set[str], failed: dict[str, str],
                 checks: dict[str, str], sync_types: Iterable[str]) -> dict[str, str]:
    """Sync type -> why its row must close ``failed``; a sync type missing from the result closes by its counts."""
    reasons: dict[str, str] = {}
    first_failure = next(iter(failed.items()), None)
    for sync_type in sync_types:
        steps = set(SYNC_STEPS.get(sync_type, ()))
        own = [(step, why) for step, why in failed.items() if step in steps or checks.get(step) in steps]
        missed = sorted(step for step in steps & planned if step not in succeeded)
        if own:
            reasons[sync_type] = "; ".join(f"step {step} failed: {why}" for step, why in own)
        elif missed:
            after = f" (step {first_failure[0]} failed: {first_failure[1]})" if first_failure else ""
            reasons[sync_type] = f"step {', '.join(missed)} did not run{after}"
        elif first_failure and not steps & planned:
            # A row none of this sync's own steps wrote (another asset opened it): the run's failure decides.
            reasons[sync_type] = f"step {first_failure[0]} failed: {first_failure[1]}"
    return reasons


def close_run_sync_logs(catalog: CatalogHandle, instance: dg.DagsterInstance, run: dg.DagsterRun) -> dict[str, str]:
    """Close the run's ``processing`` rows by what its steps did; returns sync type -> status."""
    with catalog.begin() as conn:
        open_types = open_sync_types(conn, run.run_id)
    if not open_types:
        return {}
    planned, succeeded, failed, checks = step_outcomes(instance, run)
    with catalog.begin() as conn:
        return finish_run_sync_logs(conn, run.run_id, sync_reasons(planned, succeeded, failed, checks, open_types),
                                    utc_now())
