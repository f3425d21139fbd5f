"""Concurrency as configured: the project's dagster.yaml loads into an instance with one run per sync kind,
and every step that calls Haier's gateway is in the ``haier_api`` pool.

The end-to-end proof (two full syncs launched together run one after the other) is in
test_ui_browser.py, where a real daemon dequeues them.
"""

from __future__ import annotations

import dagster as dg
import pytest

from haier_pipeline.constants import SYNC_KIND_TAG
from haier_pipeline.definitions import defs
from haier_pipeline.defs.sync.automation import SYNC_JOBS
from haier_pipeline.defs.sync.new_products import haier_new_products_sync
from support.dagster_dev import prepare_home


@pytest.fixture
def instance(tmp_path):
    with dg.DagsterInstance.from_config(str(prepare_home(tmp_path / "home"))) as instance:
        yield instance


def test_the_project_instance_queues_one_run_per_sync_kind(instance):
    config = instance.get_concurrency_config()
    queue = config.run_queue_config
    assert queue.max_concurrent_runs >= 2  # different kinds may overlap...
    assert {
        "key": SYNC_KIND_TAG,
        "value": {"applyLimitPerUniqueValue": True},
        "limit": 1,
    } in queue.tag_concurrency_limits
    assert config.pool_config.default_pool_limit >= 1
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert instance.run_monitoring_enabled
    assert not instance.telemetry_enabled


def test_every_job_that_writes_the_catalog_carries_a_sync_kind():
    # ...but never two of the same kind: each job's runs carry its kind as a tag.
    kinds = {job.name: job.tags.get(SYNC_KIND_TAG) for job in [*SYNC_JOBS, haier_new_products_sync]}
    assert kinds == {"haier_full_sync": "full", "haier_price_sync": "prices", "haier_stock_sync": "stock",
                     "haier_products_sync": "products", "haier_new_products_sync": "stock"}


def test_every_asset_that_calls_haier_is_in_the_haier_api_pool():
    graph = defs.resolve_asset_graph()
    callers = {}
    for key in graph.get_all_asset_keys():
        assets_def = graph.assets_def_for_key(key)
        if "haier_api" in assets_def.required_resource_keys:
            callers[key.to_user_string()] = assets_def.op.pool
    assert set(callers) == {"haier_raw_products", "haier_raw_prices", "haier_raw_stock", "logistics_records",
                            "account_balances"}
    assert set(callers.values()) == {"haier_api"}
