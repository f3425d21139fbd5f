"""The dagster CLI sees everything built here: validation passes; assets, checks, schedules, sensors and the
county partitions are listed; a malformed county code stops the code location naming the variable.

The four commands each load the code location in a fresh process, so they run side by side.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from support.dagster_dev import PROJECT_ROOT, prepare_home

pytestmark = pytest.mark.slow  # quick loop: the module starts the dagster and dg CLIs several times (docs/testing.md)

BIN = Path(sys.executable).parent
TIMEOUT = 120


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    base = {key: value for key, value in os.environ.items() if not key.startswith("HAIER_")}
    base.update({"DAGSTER_DISABLE_TELEMETRY": "1", "HAIER_DATA_DIR": str(data), "HAIER_COUNTY_CODES": "110101,310115"})
    module = ["-m", "haier_pipeline.definitions"]
    commands = {
        "validate": ([str(BIN / "dagster"), "definitions", "validate", *module], {}, None),
        "list": ([str(BIN / "dg"), "list", "defs", "--json"], {}, None),
        # Lists the stock job's partitions, then is told "N" at the prompt: nothing is launched.
        "partitions": (
            [str(BIN / "dagster"), "job", "backfill", *module, "-j", "haier_stock_sync", "--all", "all"],
            {},
            "N\n",
        ),
        "bad_county": (
            [str(BIN / "dagster"), "definitions", "validate", *module],
            {"HAIER_COUNTY_CODES": "110101,11010X"},
            None,
        ),
    }
    # One DAGSTER_HOME each: a fresh instance migrates its SQLite storage on first use, and two
    # processes doing that at once race.
    homes = {name: prepare_home(tmp_path_factory.mktemp(f"home_{name}")) for name in commands}
    running = {
        name: subprocess.Popen(command, cwd=PROJECT_ROOT, env={**base, **extra, "DAGSTER_HOME": str(homes[name])},
                               text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for name, (command, extra, _) in commands.items()
    }
    results = {}
    for name, process in running.items():
        stdout, stderr = process.communicate(input=commands[name][2], timeout=TIMEOUT)
        results[name] = (process.returncode, stdout, stderr)
    with dg.DagsterInstance.from_config(str(homes["partitions"])) as instance:
        results["runs_launched"] = instance.get_runs_count()
    return results


def test_definitions_validate_passes(outputs):
    code, stdout, stderr = outputs["validate"]
    assert code == 0, stderr[-3000:]
    assert "Validation successful" in stdout + stderr


def test_dg_lists_assets_checks_schedules_and_sensors(outputs):
    code, stdout, stderr = outputs["list"]
    assert code == 0, stderr[-3000:]
    listed = json.loads(stdout)
    assets = {asset["asset_key"] for asset in listed["assets"]}
    assert {"haier_raw_products", "haier_raw_prices", "haier_raw_stock", "brands", "categories", "products",
            "product_stock", "product_images"} <= assets
    checks = {check["key"] for check in listed["asset_checks"]}
    assert {
        "haier_raw_products:product_codes_unique_and_non_empty",
        "products:product_codes_unique_and_non_empty",
        "products:prices_valid",
        "product_stock:stock_non_negative_integers",
        "product_images:image_files_match_sha256",
        "products:fresh_against_schedule",
        "product_stock:fresh_against_schedule",
    } <= checks
    crons = {schedule["name"]: schedule["cron_schedule"] for schedule in listed["schedules"]}
    assert {"haier_full_sync_daily": "0 2 * * *", "haier_price_sync_hourly": "0 * * * *",
            "haier_stock_sync_every_30_minutes": "*/30 * * * *"}.items() <= crons.items()
    assert {"haier_new_products_sensor", "haier_sync_failure_sensor", "haier_sync_failure_rate_sensor",
            "haier_freshness_sensor"} <= {sensor["name"] for sensor in listed["sensors"]}


def test_the_county_partitions_are_listed_and_nothing_is_launched(outputs):
    code, stdout, stderr = outputs["partitions"]
    assert "Partitions:" in stdout, stderr[-3000:]
    listed = stdout.split("Partitions:", 1)[1].split("Do you want", 1)[0].split()
    assert listed == ["110101", "310115"]
    assert "Aborted!" in stdout and "Launching runs" not in stdout, stdout[-2000:]
    assert outputs["runs_launched"] == 0


def test_a_malformed_county_code_stops_the_code_location_naming_the_variable(outputs):
    code, stdout, stderr = outputs["bad_county"]
    assert code != 0
    assert "HAIER_COUNTY_CODES: ['11010X'] are not 6-digit district codes" in stdout + stderr
