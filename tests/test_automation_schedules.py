"""The three schedules are the original cron in Asia/Shanghai, each ticking a run request for its job and sync kind."""

from __future__ import annotations

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
def test_a_tick_requests_one_run_tagged_with_its_sync_kind(repository, name):
    job_name, kind, times = EXPECTED[name]
    schedule = repository.get_schedule_def(name)
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2025, 7, 1, 2, 0, tzinfo=SHANGHAI)
        )
        result = schedule.evaluate_tick(context)
    [request] = result.run_requests
    assert request.tags[SYNC_KIND_TAG] == kind
    assert request.tags["haier/trigger"] == "schedule"
    assert request.partition_key is None  # unpartitioned: one stock run covers every county
    # The job carries the same kind, so runs launched by hand queue the same way.
    assert repository.get_job(job_name).tags[SYNC_KIND_TAG] == kind
