"""The three schedules are the original cron in Asia/Shanghai, each ticking a run request for its job and sync kind."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._utils.schedules import cron_string_iterator

from haier_pipeline.constants import SYNC_KIND_TAG
from haier_pipeline.definitions import defs

SHANGHAI = ZoneInfo("Asia/Shanghai")
EXPECTED = {
    # schedule name: (job, sync kind, the next three run times after 2025-07-01 00:10 Shanghai time)
    "haier_full_sync_daily": ("haier_full_sync", "full", ["07-01 02:00", "07-02 02:00", "07-03 02:00"]),
    "haier_price_sync_hourly": ("haier_price_sync", "prices", ["07-01 01:00", "07-01 02:00", "07-01 03:00"]),
    "haier_stock_sync_every_30_minutes": ("haier_stock_sync", "stock", ["07-01 00:30", "07-01 01:00", "07-01 01:30"]),
}


@pytest.fixture(scope="module")
def repository():
    return defs.get_repository_def()


def test_the_three_sync_schedules_exist_and_no_other_schedule_runs_a_sync_job(repository):
    assert set(EXPECTED) <= {schedule.name for schedule in repository.schedule_defs}
    sync_jobs = {job for job, _, _ in EXPECTED.values()}
    others = [s.name for s in repository.schedule_defs if s.name not in EXPECTED and s.job_name in sync_jobs]
    assert others == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_schedule_runs_its_job_at_the_original_times_in_shanghai(repository, name):
    job_name, kind, times = EXPECTED[name]
    schedule = repository.get_schedule_def(name)
    assert schedule.job_name == job_name
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    start = datetime(2025, 7, 1, 0, 10, tzinfo=SHANGHAI)
    ticks = cron_string_iterator(start.timestamp(), str(schedule.cron_schedule), schedule.execution_timezone)
    assert [next(ticks).astimezone(SHANGHAI).strftime("%m-%d %H:%M") for _ in times] == times


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_tick_requests_one_run_tagged_with_its_sync_kind(repository, name, tmp_path):
    job_name, kind, times = EXPECTED[name]
    schedule = repository.get_schedule_def(name)
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:  # persistent: ticks read its runs
        # Entered: the context's own instance is closed with it (left open, it outlives this test).
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=SHANGHAI_TICK(times[0])) as context:
            result = schedule.evaluate_tick(context)
    [request] = result.run_requests
    assert request.tags[SYNC_KIND_TAG] == kind
    assert request.tags["haier/trigger"] == "schedule"
    assert request.partition_key is None  # unpartitioned: one stock run covers every county


def SHANGHAI_TICK(month_day_time: str) -> datetime:  # noqa: N802 - reads like the constant it builds
    return datetime.strptime(f"2025-{month_day_time}", "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


def evaluate_all(repository, instance, tick: datetime) -> dict[str, dg.SensorResult | object]:
    """The three sync schedules' ticks for one timestamp, as the daemon evaluates them."""
    results = {}
    for name in EXPECTED:
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=tick) as context:
            results[name] = repository.get_schedule_def(name).evaluate_tick(context)
    return results


def test_at_two_oclock_the_full_sync_runs_and_the_price_and_stock_ticks_skip_saying_why(repository, tmp_path):
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:  # persistent: ticks read its runs
        results = evaluate_all(repository, instance, SHANGHAI_TICK("07-01 02:00"))
    [full] = results["haier_full_sync_daily"].run_requests
    assert full.tags[SYNC_KIND_TAG] == "full"
    for name in ("haier_price_sync_hourly", "haier_stock_sync_every_30_minutes"):
        assert not results[name].run_requests
        assert "daily full sync fires at this same tick" in results[name].skip_message


def test_a_queued_or_running_full_sync_makes_price_and_stock_ticks_skip_naming_it(repository, tmp_path):
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:  # persistent: ticks read its runs
        run = instance.add_run(dg.DagsterRun(job_name="haier_full_sync", run_id=str(uuid.uuid4()),
                                             status=dg.DagsterRunStatus.STARTED))
        tick = SHANGHAI_TICK("07-01 03:00")
        covered = evaluate_all(repository, instance, tick)
        for name in ("haier_price_sync_hourly", "haier_stock_sync_every_30_minutes"):
            assert not covered[name].run_requests
            assert run.run_id in covered[name].skip_message and "started" in covered[name].skip_message
        instance.report_run_failed(run)  # once it has ended, the next tick syncs again
        after = evaluate_all(repository, instance, tick)
        assert all(len(after[name].run_requests) == 1 for name in EXPECTED)
