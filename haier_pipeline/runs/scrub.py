"""Remove a refused ``sync_scope`` from a run's stored config, so a secret typed into it is not kept.

``haier-sync`` refuses such a value before any run exists; the Launchpad and GraphQL store the run
(config included, readable by every viewer) before any code of ours runs. When ``SyncScope``
refuses a value equal to a configured secret at run start, this rewrites the stored run with the
scope's values replaced, the way Dagster's own ``add_run_tags`` rewrites it.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import dagster as dg
from dagster._core.storage.runs.schema import RunsTable
from dagster._core.storage.runs.sql_run_storage import SqlRunStorage
from dagster._serdes import serialize_value
from dagster_shared.record import copy

SCRUBBED = "<refused: equals a configured secret>"
SCRUBBED_TAG = "haier/scrubbed"


def scrub_sync_scope(instance: dg.DagsterInstance, run_id: str) -> bool:
    """Replace every value of the run's stored ``sync_scope`` config; False when the storage is not SQL."""
    storage = instance.run_storage
    run = instance.get_run_by_id(run_id)
    if run is None or not isinstance(storage, SqlRunStorage):
        return False
    config: dict[str, Any] = deepcopy(dict(run.run_config))
    scope = config.get("resources", {}).get("sync_scope", {})
    if isinstance(scope.get("config"), dict):
        scope["config"] = {key: SCRUBBED for key in scope["config"]}
    tags = {**run.tags, SCRUBBED_TAG: "sync_scope"}
    with storage.connect() as conn:
        conn.execute(RunsTable.update().where(RunsTable.c.run_id == run_id)
                     .values(run_body=serialize_value(copy(run, run_config=config, tags=tags))))
    return True
