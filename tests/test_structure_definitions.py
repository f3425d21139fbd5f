"""A snapshot of what the code location defines: asset keys, checks, jobs, schedules, sensors, resources.

The expected list is checked in (``snapshots/definitions.txt``); a failing diff says what was
added or removed. After an intended change, regenerate it with ``UPDATE_SNAPSHOTS=1 pytest <this file>``
and commit the new list with the change.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import dagster as dg

from haier_pipeline.definitions import build_definitions
from haier_pipeline.settings import load_settings

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.txt"


def describe(defs: dg.Definitions) -> list[str]:
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    lines = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        partitions = type(node.partitions_def).__name__ if node.partitions_def else "-"
        lines.append(f"asset {key.to_user_string()} group={node.group_name} partitions={partitions}")
    for check in sorted(graph.asset_check_keys, key=lambda c: (c.asset_key.to_user_string(), c.name)):
        lines.append(f"check {check.asset_key.to_user_string()}:{check.name}")
    lines += [f"job {job.name}" for job in sorted(repo.get_all_jobs(), key=lambda j: j.name)
              if not job.name.startswith("__")]
    lines += [f"schedule {s.name} job={s.job_name} cron={s.cron_schedule} tz={s.execution_timezone}"
              for s in sorted(repo.schedule_defs, key=lambda s: s.name)]
    lines += [f"sensor {s.name}" for s in sorted(repo.sensor_defs, key=lambda s: s.name)]
    lines += [f"resource {name} {type(resource).__name__}" for name, resource in sorted(defs.resources.items())]
    return lines


def test_definitions_match_the_snapshot() -> None:
    actual = describe(build_definitions(load_settings({"HAIER_COUNTY_CODES": "110101,310104"})))
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text("\n".join(actual) + "\n")
    expected = SNAPSHOT.read_text().splitlines()
    diff = "\n".join(difflib.unified_diff(expected, actual, "expected", "actual", lineterm=""))
    assert actual == expected, f"the definitions changed (regenerate with UPDATE_SNAPSHOTS=1 if intended):\n{diff}"


def test_the_counties_come_from_the_settings_given() -> None:
    """build_definitions(settings) controls the county partitions; nothing is read at import."""
    for counties in ("110101", "110101,310104,440305"):
        defs = build_definitions(load_settings({"HAIER_COUNTY_CODES": counties}))
        stock = defs.get_repository_def().asset_graph.get(dg.AssetKey("haier_raw_stock"))
        assert stock.partitions_def is not None
        assert list(stock.partitions_def.get_partition_keys()) == counties.split(",")
