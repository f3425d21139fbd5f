"""Issue 25, "the operator's first hour": what a person meets following the README, one test per numbered finding.

The commands run as a person runs them (subprocesses of this venv's console scripts, ``bash``), against the real
sandbox and a real Dagster instance; catalogues stay tiny.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database, release_database
from haier_pipeline.haier_api.config import ClientConfig
from haier_pipeline.haier_api.ratelimit import budget_file
from haier_pipeline.resources.sync_scope import SyncScope
from haier_pipeline.sandbox import SandboxOptions, run_sandbox
from haier_pipeline.settings import load_settings
from support.dagster_dev import PROJECT_ROOT, dagster_command, dagster_process, free_port, prepare_home
from support.pipeline import pipeline_env, run_job

BIN = Path(sys.executable).parent
SECRET = "client-secret-4f9a"
# The documented exit codes (haier_pipeline.command; spelled out so this module also runs against the code before
# issue 25, where each of these tests failed).
EXIT_BAD_INPUT, EXIT_UNREACHABLE = 2, 3


def command(args: list[str], tmp_path: Path, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run a command with only ``env`` as HAIER_* settings and a private, empty DAGSTER_HOME."""
    home = prepare_home(tmp_path / "home")
    base = {key: value for key, value in os.environ.items() if not key.startswith("HAIER_")}
    full = {**base, "HAIER_DATA_DIR": str(tmp_path / "data"), **(env or {}), "DAGSTER_HOME": str(home)}
    return subprocess.run(args, cwd=cwd or tmp_path, env=full, capture_output=True, text=True, timeout=300,
                          check=False)


def runs_in(tmp_path: Path) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        return list(instance.get_runs())


def one_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-3000:]
    return lines[0]


# 1. `source scripts/bootstrap.sh` left `set -euo pipefail` in the person's shell.
def test_sourcing_bootstrap_leaves_the_shell_options_alone():
    script = "set +euo pipefail; source scripts/bootstrap.sh; false; echo still-here; set +o"
    done = subprocess.run(["bash", "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert "still-here" in done.stdout, done.stderr
    for option in ("errexit", "nounset", "pipefail"):
        assert f"set +o {option}" in done.stdout


# 2. `.env` was read by `dagster job execute` only: the other commands used other settings.
def test_every_command_reads_dotenv_from_the_working_directory(tmp_path):
    (tmp_path / ".env").write_text(f"HAIER_DATA_DIR={tmp_path / 'from-dotenv'}\n")
    expected = tmp_path / "from-dotenv" / "sandbox" / "catalog.sqlite"
    listed = command([str(BIN / "haier-track-order"), "--list"], tmp_path)
    assert listed.returncode == 0 and str(expected) in listed.stdout, listed.stderr
    report = command([sys.executable, "-m", "haier_pipeline.report"], tmp_path)
    assert report.returncode == 0 and f"catalog database: sqlite:///{expected}" in report.stdout, report.stderr
    (tmp_path / ".env").write_text("HAIER_COUNTY_CODES=abc\n")
    for args in ([str(BIN / "haier-sync")], [sys.executable, "-m", "haier_pipeline.check_settings"]):
        done = command(args, tmp_path)
        assert done.returncode == EXIT_BAD_INPUT and "HAIER_COUNTY_CODES" in one_line(done)


# 3. `haier-sync --submit` assumed a location named `haier_pipeline`; `dagster dev -m …` names it otherwise.
@pytest.mark.slow
def test_submit_finds_the_code_location_whatever_the_server_named_it(tmp_path):
    from haier_pipeline.command import UsageError
    from haier_pipeline.sync_submit import find_location

    home = prepare_home(tmp_path / "server_home")
    port = free_port()
    server_cmd = dagster_command("dagster-webserver", "-m", "haier_pipeline.definitions", "-h", "127.0.0.1",
                                 "-p", str(port))
    env = {"HAIER_DATA_DIR": str(tmp_path / "data"), "HAIER_SANDBOX_PRODUCTS": "10"}
    with dagster_process(home, env, server_cmd, port, "webserver.log",
                         location_name="haier_pipeline.definitions") as server:
        assert find_location(server.url, "haier_stock_sync", None) == ("haier_pipeline.definitions",
                                                                        "__repository__")
        with pytest.raises(UsageError, match=r"--location haier_pipeline on .* holds haier_stock_sync; code "
                                             r"locations found: haier_pipeline.definitions \(\d+ jobs\)"):
            find_location(server.url, "haier_stock_sync", "haier_pipeline")


# 4. A bad argument created a run, then printed FAILURE with the reason inside ~100 lines of traces.
@pytest.mark.parametrize(("args", "named"), [
    (["--product-codes", "bad code!"], "haier-sync: --product-codes: every code must be"),
    (["--county-code", "abc"], "haier-sync: --county-code: 'abc' is not a 6-digit district code"),
    (["--timeout", "soon"], "haier-sync: argument --timeout: invalid float value: 'soon'"),
])
def test_a_bad_argument_is_one_line_naming_it_and_no_run(tmp_path, args, named):
    done = command([str(BIN / "haier-sync"), *args], tmp_path)
    assert done.returncode == EXIT_BAD_INPUT and one_line(done).startswith(named)
    assert runs_in(tmp_path) == []


def test_what_stopped_a_run_is_named_step_and_blocking_check():
    from haier_pipeline.sync_cli import step_failures

    @dg.asset
    def listing() -> None:
        raise ValueError("HAIER_RATE_LIMIT budget exhausted\nmore detail")

    @dg.asset
    def catalogue() -> None:
        return None

    @dg.asset_check(asset=catalogue, blocking=True)
    def codes_unique() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, description="2 duplicate product codes")

    result = dg.materialize([listing, catalogue, codes_unique], raise_on_error=False)
    assert sorted(step_failures(result.all_events)) == [
        "blocking check catalogue:codes_unique: 2 duplicate product codes",
        "step listing: ValueError: HAIER_RATE_LIMIT budget exhausted",
    ]


# 5. A malformed setting ended a 20-75 line traceback; an unreachable catalogue or webserver 115 lines.
@pytest.mark.parametrize("setting", ["HAIER_COUNTY_CODES=abc", "HAIER_RATE_LIMIT=-5", "HAIER_BASE_URL=ftp://x"])
@pytest.mark.parametrize("args", [["haier-sync"], ["haier-track-order", "--list"]], ids=["sync", "track"])
def test_a_bad_setting_is_one_line_naming_it(tmp_path, setting, args):
    name, value = setting.split("=")
    done = command([str(BIN / args[0]), *args[1:]], tmp_path, {name: value})
    assert done.returncode == EXIT_BAD_INPUT and one_line(done).startswith(f"{args[0]}: {name}: ")
    assert runs_in(tmp_path) == []


def test_full_sync_checks_the_settings_before_dagster(tmp_path):
    done = command(["bash", str(PROJECT_ROOT / "scripts" / "full-sync.sh")], tmp_path, {"HAIER_RATE_LIMIT": "-5"})
    assert done.returncode == EXIT_BAD_INPUT
    assert one_line(done) == "haier_pipeline.check_settings: HAIER_RATE_LIMIT: -5.0 is outside 0.1–10000"
    assert runs_in(tmp_path) == []


def test_dagster_job_execute_names_the_bad_setting_first(tmp_path):
    script = ("source scripts/bootstrap.sh && "
              "dagster job execute -m haier_pipeline.definitions -j haier_full_sync")
    done = command(["bash", "-c", script], tmp_path, {"HAIER_RATE_LIMIT": "-5"}, cwd=PROJECT_ROOT)
    assert done.returncode != 0 and "SupersessionWarning" not in done.stderr
    assert done.stderr.splitlines()[0] == "haier_pipeline: HAIER_RATE_LIMIT: -5.0 is outside 0.1–10000"
    assert runs_in(tmp_path) == []


def test_unreachable_services_are_one_line_and_debug_shows_the_traceback(tmp_path):
    pg = {"HAIER_CATALOG_DB_URL": f"postgresql+psycopg://shop:pw@127.0.0.1:{free_port()}/catalog",
          "HAIER_SANDBOX": "1"}
    done = command([str(BIN / "haier-sync")], tmp_path, pg)
    assert done.returncode == EXIT_UNREACHABLE
    assert one_line(done).startswith("haier-sync: the catalogue database could not be used: connection failed")
    assert "pw@" not in done.stderr and runs_in(tmp_path) == []
    url = f"http://127.0.0.1:{free_port()}"
    done = command([str(BIN / "haier-sync"), "--submit", "--url", url], tmp_path)
    assert done.returncode == EXIT_UNREACHABLE and one_line(done).startswith(
        f"haier-sync: no Dagster webserver answers at {url}")
    debug = command([str(BIN / "haier-sync"), "--submit", "--url", url, "--debug"], tmp_path)
    assert "Traceback (most recent call last)" in debug.stderr and "Unreachable" in debug.stderr


# 6. A secret typed into sync_scope was refused after the run was created: its stored config kept the value.
def test_a_secret_in_the_scope_is_refused_before_any_run(tmp_path):
    done = command([str(BIN / "haier-sync"), "--brand", SECRET], tmp_path, {"HAIER_CLIENT_SECRET": SECRET})
    assert done.returncode == EXIT_BAD_INPUT
    assert one_line(done).startswith("haier-sync: --brand: a value equals a configured secret; refused")
    assert SECRET not in done.stderr + done.stdout and runs_in(tmp_path) == []


def test_a_secret_launched_from_the_ui_is_scrubbed_from_the_stored_run(tmp_path):
    SCRUBBED = "<refused: equals a configured secret>"  # noqa: N806 - haier_pipeline.runs.scrub.SCRUBBED

    @dg.asset
    def scoped(sync_scope: SyncScope) -> None:
        return None

    scope = SyncScope(secrets=frozenset({SECRET}))
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        result = dg.materialize([scoped], resources={"sync_scope": scope}, instance=instance, raise_on_error=False,
                                run_config={"resources": {"sync_scope": {"config": {"brand": SECRET}}}})
        assert not result.success
        stored = instance.get_run_by_id(result.run_id)
        assert stored is not None and SECRET not in repr(stored)
        assert stored.run_config["resources"]["sync_scope"]["config"] == {"brand": SCRUBBED}


# 7. `--sync-stock` on a fresh catalogue: stock rows, a products log row claiming 500 ok, and 0 products.
def test_a_stock_sync_on_a_fresh_catalogue_writes_its_products_first(tmp_path, catalog_url):
    with run_sandbox(SandboxOptions(products=30)) as sandbox:
        run_job(pipeline_env(sandbox, catalog_url, tmp_path), "haier_stock_sync")
    with prepare_database(catalog_url).connect() as conn:
        products = set(conn.execute(select(tables.products.c.product_code)).scalars())
        stocked = set(conn.execute(select(tables.product_stock.c.product_code)).scalars())
        logged = conn.execute(select(tables.haier_sync_log.c.success_count)
                              .where(tables.haier_sync_log.c.sync_type == "products")).scalar_one()
    release_database(catalog_url)
    assert stocked and stocked <= products
    assert logged == len(products)


# 8. `haier-sandbox`'s own export lines sent the demo data to data/haier/, the real data's folder.
def test_a_sandbox_on_this_machine_keeps_its_data_under_data_sandbox(tmp_path):
    with run_sandbox(SandboxOptions(products=5)) as sandbox:
        settings = load_settings({**sandbox.env(), "HAIER_DATA_DIR": str(tmp_path)})
    assert settings.base_url is not None
    assert settings.catalog_db_url == f"sqlite:///{tmp_path / 'sandbox' / 'catalog.sqlite'}"
    assert settings.media_root == tmp_path / "sandbox" / "media"
    real = load_settings({"HAIER_BASE_URL": "https://openplat.haier.net", "HAIER_TOKEN_URL": "https://openplat.haier.net",
                          "HAIER_CLIENT_ID": "c", "HAIER_CLIENT_SECRET": "s", "HAIER_CUSTOMER_CODE": "8800",
                          "HAIER_PASSWORD": "p", "HAIER_SEND_TO_CODE": "1", "HAIER_DATA_DIR": str(tmp_path)})
    assert real.catalog_db_url == f"sqlite:///{tmp_path / 'haier' / 'catalog.sqlite'}"


# 9. Every built-in-sandbox run (a fresh port each time) left a new catalog.sqlite.budget-<hash> file.
def test_sandboxes_on_other_ports_share_one_budget_file(tmp_path):
    def budget(base_url: str) -> Path:
        config = ClientConfig(base_url=base_url, token_url=f"{base_url}/oauth2/auth", client_id="sandbox",
                              client_secret="x", customer_code="8800", password="p")
        return budget_file(str(tmp_path / "catalog.sqlite"), config.account_key)

    assert budget("http://127.0.0.1:40001") == budget("http://127.0.0.1:40002")
    assert budget("https://openplat.haier.net") != budget("https://openplat-test.haier.net")


# 10. `dagster dev` launched runs at once: the new-products sensor was on, with a fresh cursor per location name.
def test_the_run_launching_new_products_sensor_starts_stopped():
    from haier_pipeline.definitions import build_definitions

    defs = build_definitions(load_settings({"HAIER_DATA_DIR": os.environ["HAIER_DATA_DIR"]}))
    sensor = defs.resolve_sensor_def("haier_new_products_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    docs = (PROJECT_ROOT / "docs" / "first-hour.md").read_text()
    assert "dagster sensor start haier_new_products_sensor" in docs


# 11. Raw reST in --help, summary lines cut mid-word, warnings twice and Dagster/SQLAlchemy notices.
def test_help_is_plain_text_and_names_the_exit_codes(tmp_path):
    done = command([str(BIN / "haier-sync"), "--help"], tmp_path)
    assert done.returncode == 0 and "``" not in done.stdout
    assert "exit codes: 0 " in " ".join(done.stdout.split()) and "--debug" in done.stdout


def test_a_summary_line_is_shortened_at_a_word(tmp_path, catalog_url, capsys):
    from haier_pipeline.sync_cli import print_summary

    message = "3 of 900 failed: " + ", ".join(f"record #{n}: productCode is missing" for n in range(3))
    with prepare_database(catalog_url).begin() as conn:
        conn.execute(tables.haier_sync_log.insert().values(
            sync_type="products", status="partial", run_id="r1", message=message, total_count=900,
            success_count=897, failed_count=3, started_at=datetime.now(UTC)))
    print_summary(catalog_url, "r1")
    release_database(catalog_url)
    shown = capsys.readouterr().out.split("duration=— ")[1].strip()
    assert shown.endswith(" …") and message.startswith(shown[:-2]) and message[len(shown) - 2] == " "


def test_a_sync_prints_no_dagster_or_sqlalchemy_notices(tmp_path):
    env = {"HAIER_SANDBOX_PRODUCTS": "30"}  # 1 malformed of 31: under the 5 % rejection limit
    done = command([str(BIN / "haier-sync"), "--sync-stock"], tmp_path, env)
    assert done.returncode == 0, done.stderr[-3000:]
    for notice in ("Warning:", "SAWarning", "BetaWarning", "SupersessionWarning"):
        assert notice not in done.stderr
    assert done.stderr.count("using the built-in sandbox, not Haier") == 1
