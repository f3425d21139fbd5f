"""A missing or malformed setting stops the project at start-up, naming the variable and never echoing a secret.

``load_settings`` is checked case by case; ``import haier_pipeline.definitions`` — what
``dagster dev``, ``dagster job execute`` and ``dg`` do first — is checked in real child processes
for one case of each kind (they run side by side: each costs seconds of imports). Last, a
run-time trap: run config for the ``haier_api`` resource that carries only a tuning value
replaces all of its settings; the run is refused, not pointed at the built-in sandbox.
"""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
import pytest

from haier_pipeline.catalog.engine import release_database
from haier_pipeline.catalog.locks import CONFIRM_DEAD
from haier_pipeline.sandbox import SandboxOptions, run_sandbox
from haier_pipeline.settings import SettingsError, load_settings
from support.catalog_state import reading, row_count
from support.pipeline import PROJECT_ROOT, pipeline_env, project_env

SECRET = "Sup3r-Secret-Value-7f3a"
GATEWAY = {  # a complete real-gateway configuration; each case breaks one thing
    "HAIER_BASE_URL": "https://openplat-test.haier.net", "HAIER_TOKEN_URL": "https://openplat-test.haier.net/oauth2/auth",
    "HAIER_CLIENT_ID": "client", "HAIER_CLIENT_SECRET": SECRET, "HAIER_CUSTOMER_CODE": "8800633175",
    "HAIER_SEND_TO_CODE": "8800633176", "HAIER_PASSWORD": SECRET + "-pw", "HAIER_SELLER_PASSWORD": SECRET + "-seller",
}
CASES = {  # case -> (changes to GATEWAY; None removes the variable, the variable the error must name)
    "client secret missing": ({"HAIER_CLIENT_SECRET": None}, "HAIER_CLIENT_SECRET"),
    "password blank": ({"HAIER_PASSWORD": "   "}, "HAIER_PASSWORD"),
    "client id missing": ({"HAIER_CLIENT_ID": None}, "HAIER_CLIENT_ID"),
    "token URL missing": ({"HAIER_TOKEN_URL": None}, "HAIER_TOKEN_URL"),
    "customer code missing": ({"HAIER_CUSTOMER_CODE": None}, "HAIER_CUSTOMER_CODE"),
    "ship-to missing for supplier 1001": ({"HAIER_SEND_TO_CODE": None}, "HAIER_SEND_TO_CODE"),
    "gateway not a URL": ({"HAIER_BASE_URL": "openplat-test.haier.net"}, "HAIER_BASE_URL"),
    "gateway over FTP": ({"HAIER_BASE_URL": "ftp://openplat-test.haier.net"}, "HAIER_BASE_URL"),
    "token URL without host": ({"HAIER_TOKEN_URL": "https://"}, "HAIER_TOKEN_URL"),
    "supplier not digits": ({"HAIER_SUPPLIER_CODE": "10O1"}, "HAIER_SUPPLIER_CODE"),
    "county not 6 digits": ({"HAIER_COUNTY_CODES": "110101,3101"}, "HAIER_COUNTY_CODES"),
    "no county at all": ({"HAIER_COUNTY_CODES": " , "}, "HAIER_COUNTY_CODES"),
    "database not a URL": ({"HAIER_CATALOG_DB_URL": "catalog.sqlite"}, "HAIER_CATALOG_DB_URL"),
    "database port not a number": ({"HAIER_CATALOG_DB_URL": f"postgresql+psycopg://shop:{SECRET}@db:port/shop"},
                                   "HAIER_CATALOG_DB_URL"),
    "database not supported": ({"HAIER_CATALOG_DB_URL": f"mysql://shop:{SECRET}@db/shop"}, "HAIER_CATALOG_DB_URL"),
    "media root is a file": ({"HAIER_MEDIA_ROOT": __file__}, "HAIER_MEDIA_ROOT"),
    "rate limit not a number": ({"HAIER_RATE_LIMIT": "fast"}, "HAIER_RATE_LIMIT"),
    "rate limit NaN": ({"HAIER_RATE_LIMIT": "nan"}, "HAIER_RATE_LIMIT"),
    "rate limit over 10 000": ({"HAIER_RATE_LIMIT": "1e9"}, "HAIER_RATE_LIMIT"),
    "no concurrency": ({"HAIER_MAX_CONCURRENCY": "0"}, "HAIER_MAX_CONCURRENCY"),
    "fractional concurrency": ({"HAIER_MAX_CONCURRENCY": "2.5"}, "HAIER_MAX_CONCURRENCY"),
    "negative latency target": ({"HAIER_LATENCY_TARGET_MS": "-5"}, "HAIER_LATENCY_TARGET_MS"),
    "negative dead-run second look": ({"HAIER_DEAD_RUN_CONFIRM_SECONDS": "-1"}, "HAIER_DEAD_RUN_CONFIRM_SECONDS"),
    "image size ceiling tiny": ({"HAIER_IMAGE_MAX_BYTES": "10"}, "HAIER_IMAGE_MAX_BYTES"),
    "image host not a host": ({"HAIER_IMAGE_ALLOWED_HOSTS": "img.haier.net,not a host"}, "HAIER_IMAGE_ALLOWED_HOSTS"),
    "private hosts maybe": ({"HAIER_IMAGE_ALLOW_PRIVATE_HOSTS": "maybe"}, "HAIER_IMAGE_ALLOW_PRIVATE_HOSTS"),
    "webhook not http": ({"HAIER_ALERT_WEBHOOK_URL": "mailto:ops@example.com"}, "HAIER_ALERT_WEBHOOK_URL"),
    "sandbox size not a number": ({"HAIER_SANDBOX_PRODUCTS": "lots"}, "HAIER_SANDBOX_PRODUCTS"),
    "media time zone unknown": ({"HAIER_MEDIA_TIMEZONE": "Beijing/Standard"}, "HAIER_MEDIA_TIMEZONE"),
    "media time zone a path": ({"HAIER_MEDIA_TIMEZONE": "../../etc/passwd"}, "HAIER_MEDIA_TIMEZONE"),
}
STARTUP = ("client secret missing", "county not 6 digits", "database port not a number", "sandbox size not a number",
           "media time zone unknown")


def broken(case: str) -> dict[str, str]:
    changes, _ = CASES[case]
    env = {**GATEWAY, **{name: value for name, value in changes.items() if value is not None}}
    return {name: value for name, value in env.items() if changes.get(name, "") is not None}


def test_the_complete_configuration_loads():
    settings = load_settings(GATEWAY)
    assert settings.base_url == GATEWAY["HAIER_BASE_URL"] and not settings.uses_sandbox
    assert SECRET not in repr(settings)
    assert settings.media_timezone == "Asia/Shanghai"
    assert load_settings({**GATEWAY, "HAIER_MEDIA_TIMEZONE": "Europe/Berlin"}).media_timezone == "Europe/Berlin"
    assert settings.dead_run_confirm == CONFIRM_DEAD == 5.0
    assert load_settings({**GATEWAY, "HAIER_DEAD_RUN_CONFIRM_SECONDS": "0.5"}).dead_run_confirm == 0.5


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_setting_is_refused_by_name(case):
    with pytest.raises(SettingsError) as refused:
        load_settings(broken(case))
    message = str(refused.value)
    assert message.startswith(CASES[case][1] + ":"), message
    assert SECRET not in message


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_start_up_fails_naming_the_variable_without_secrets(tmp_path):
    base = {key: value for key, value in os.environ.items() if not key.startswith("HAIER_")}
    children = {
        case: subprocess.Popen(
            [sys.executable, "-c", "import haier_pipeline.definitions"], cwd=PROJECT_ROOT, text=True,
            env={**base, **broken(case), "HAIER_DATA_DIR": str(tmp_path), "DAGSTER_DISABLE_TELEMETRY": "1"},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for case in STARTUP
    }
    for case, child in children.items():
        out, err = child.communicate(timeout=180)
        variable = CASES[case][1]
        assert child.returncode != 0, case
        last = err.strip().splitlines()[-1]
        assert last.startswith("haier_pipeline.settings.SettingsError: " + variable + ":"), (case, err[-2000:])
        assert SECRET not in out + err, case


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_a_partial_resource_config_tunes_the_client_and_keeps_the_configured_gateway(tmp_path, catalog_url):
    """Run config holds only tuning fields: a config of just ``max_attempts`` keeps every HAIER_* setting."""
    with run_sandbox(SandboxOptions(products=20)) as sandbox, project_env(pipeline_env(sandbox, catalog_url, tmp_path)):
        from haier_pipeline.definitions import build_definitions

        job = build_definitions(load_settings()).resolve_job_def("haier_full_sync")
        with dg.DagsterInstance.ephemeral() as instance:  # held: a dropped instance fails the run's weakref
            result = job.execute_in_process(instance=instance, raise_on_error=False,
                                            run_config={"resources": {"haier_api": {"config": {"max_attempts": 10}}}})
        served = sandbox.stats()
    assert result.success
    assert served.calls["products"] == 1  # the configured gateway, not a built-in sandbox
    with reading(catalog_url) as conn:
        assert row_count(conn, "products") > 0
    release_database(catalog_url)
