"""The daemon's view of 02:00: ``dagster dev`` (webserver + daemon, the project's dagster.yaml) gets the full,
price and stock syncs at the same instant, with their schedules' tags, and all three end in success.

Making three cron schedules fire for one real tick would mean waiting for the clock; instead the three
runs go through the run queue together (GraphQL ``launchRun``, as a schedule's run request does), and
the three schedules are evaluated for one 02:00 timestamp against the same instance: the full sync's
tick requests a run, the price and stock ticks skip because the full sync covers them.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from haier_pipeline.catalog.engine import release_database
from haier_pipeline.defs.sync.automation import SCHEDULES
from haier_pipeline.sandbox import SandboxOptions, run_sandbox
from support.dagster_dev import dagster_dev

pytestmark = pytest.mark.slow

RUN_TIMEOUT = 240.0
TICK = datetime(2025, 7, 1, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_the_three_syncs_queued_together_by_the_daemon_all_succeed(tmp_path: Path, catalog_url: str) -> None:
    with run_sandbox(SandboxOptions(products=100, latency=0.02, rate_limit=100)) as sandbox:
        env = {**sandbox.env(), "HAIER_DATA_DIR": str(tmp_path), "HAIER_CATALOG_DB_URL": catalog_url,
               "HAIER_MEDIA_ROOT": str(tmp_path / "media"), "HAIER_COUNTY_CODES": "110101",
               "HAIER_IMAGE_ALLOW_PRIVATE_HOSTS": "true", "HAIER_IMAGE_RATE_LIMIT": "200"}
        with dagster_dev(tmp_path / "home", env) as server:
            launched: dict[str, str] = {}
            start = threading.Barrier(len(SCHEDULES))

            def launch(schedule: dg.ScheduleDefinition) -> None:
                start.wait(30)
                launched[schedule.job_name] = server.launch_run(schedule.job_name, tags=dict(schedule.tags))

            threads = [threading.Thread(target=launch, args=(schedule,)) for schedule in SCHEDULES]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert set(launched) == {"haier_full_sync", "haier_price_sync", "haier_stock_sync"}

            with dg.DagsterInstance.from_config(str(server.home)) as instance:  # the daemon's own instance
                results = {}
                for schedule in SCHEDULES:
                    with dg.build_schedule_context(instance=instance, scheduled_execution_time=TICK) as context:
                        results[schedule.name] = schedule.evaluate_tick(context)
            assert len(results["haier_full_sync_daily"].run_requests) == 1
            for name in ("haier_price_sync_hourly", "haier_stock_sync_every_30_minutes"):
                assert not results[name].run_requests and "covers prices and stock" in results[name].skip_message

            statuses = {job: server.wait_for_run(run_id, RUN_TIMEOUT) for job, run_id in launched.items()}
            assert statuses == dict.fromkeys(launched, "SUCCESS"), {
                job: server.run_failure_messages(run_id) for job, run_id in launched.items()}
        seen = sandbox.stats()
    assert seen.answered_429 == 0 and seen.max_calls_in_one_second <= 100
    release_database(catalog_url)
