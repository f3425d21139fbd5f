"""The full sync under each executor the benchmark compares (a code location for ``dagster job execute -f``).

* ``full_sync_threaded`` — the project's own ``haier_full_sync`` (independent steps in threads);
* ``full_sync_in_process`` — the same selection with Dagster's in-process executor (one step at a time);
* ``full_sync_multiprocess`` — Dagster's multiprocess executor, steps forked from a forkserver that
  preloaded the project (the cheapest way to start a step process), gateway steps one at a time;
* ``empty_run`` — one step that does nothing, with the full sync's executor: what any run of this code
  location costs before and after its own work (Python and Dagster start-up, loading the definitions,
  the run's events, exit). The benchmark times it beside the full sync.
"""

from __future__ import annotations

import dagster as dg

from haier_pipeline import definitions as project
from haier_pipeline.defs.sync.automation import FULL_SYNC_SELECTION, haier_full_sync
from haier_pipeline.runs.executor import DEFAULT_TAG_LIMITS

_forkserver = dg.multiprocess_executor.configured({
    "max_concurrent": 4,
    "start_method": {"forkserver": {"preload_modules": ["haier_pipeline.definitions"]}},
    "tag_concurrency_limits": DEFAULT_TAG_LIMITS,
})


@dg.op
def do_nothing() -> None:
    """The empty run's only step."""


@dg.job(executor_def=haier_full_sync.executor_def)
def empty_run() -> None:
    do_nothing()


def _variant(name: str, executor: dg.ExecutorDefinition) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(f"full_sync_{name}", selection=FULL_SYNC_SELECTION, executor_def=executor,
                               tags=haier_full_sync.tags)


defs = dg.Definitions.merge(project.defs, dg.Definitions(jobs=[
    empty_run,
    _variant("threaded", haier_full_sync.executor_def),
    _variant("in_process", dg.in_process_executor),
    _variant("multiprocess", _forkserver),
]))
