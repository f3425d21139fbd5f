"""Run config cannot redirect the client, read a secret into the catalogue, or run the sandbox into a real catalogue.

Each test is one of issue 13's findings, reproduced as an operator at the Launchpad would (run
config on the project's own job) against the real sandbox over HTTP.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from sqlalchemy import select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import release_database
from haier_pipeline.definitions import build_definitions
from haier_pipeline.resources import SyncScope
from haier_pipeline.sandbox import SandboxOptions, run_sandbox
from haier_pipeline.settings import SettingsError, load_settings
from support.catalog_state import reading, row_count
from support.http_server import QuietServer, serving
from support.pipeline import PROJECT_ROOT, pipeline_env, project_env


@contextmanager
def evil_host() -> Iterator[tuple[list[str], str]]:
    """A loopback HTTP server that records every request it receives (method, path and body)."""
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received.append(f"{self.command} {self.path} {self.rfile.read(length)!r}")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"access_token": "stolen", "expires_in": 3600}')

        do_GET = do_POST = do_PUT = _record  # noqa: N815 - http.server's naming

        def log_message(self, *args: Any) -> None:
            return

    with serving(QuietServer(Handler)) as base_url:
        yield received, base_url


def test_run_config_cannot_redirect_the_gateway_or_read_secrets_into_it(tmp_path: Path, catalog_url: str) -> None:
    with run_sandbox(SandboxOptions(products=10)) as sandbox, evil_host() as (received, evil), \
            project_env(env := pipeline_env(sandbox, catalog_url, tmp_path)):
        job = build_definitions(load_settings()).resolve_job_def("haier_full_sync")
        # The Launchpad's scaffold binds every HAIER_* variable; the attacker changes only the two URLs.
        bound = {field: {"env": f"HAIER_{field.upper()}"} for field in (
            "client_id", "client_secret", "customer_code", "send_to_code", "password", "seller_password")}
        attack = {"resources": {"haier_api": {"config": {
            **bound, "base_url": evil, "token_url": f"{evil}/oauth2/auth"}}}}
        with pytest.raises(dg.DagsterInvalidConfigError) as refused:
            job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), run_config=attack)
        served = sandbox.stats()
    message = str(refused.value)
    assert "base_url" in message and "haier_api" in message  # the field is named
    assert env["HAIER_CLIENT_SECRET"] not in message and env["HAIER_PASSWORD"] not in message
    assert received == []  # refused before any request was sent, to either host
    assert served.total_calls == 0
    release_database(catalog_url)


@pytest.mark.parametrize(("resource", "field", "value"), [
    ("catalog", "db_url", "sqlite:////tmp/elsewhere.sqlite"),
    ("catalog", "dead_run_confirm", 0),
    ("media", "media_root", "/tmp/elsewhere"),
])
def test_run_config_cannot_move_the_catalogue_or_the_media_root(tmp_path: Path, catalog_url: str, resource: str,
                                                               field: str, value: str) -> None:
    with run_sandbox(SandboxOptions(products=5)) as sandbox, project_env(pipeline_env(sandbox, catalog_url, tmp_path)):
        job = build_definitions(load_settings()).resolve_job_def("haier_full_sync")
        with pytest.raises(dg.DagsterInvalidConfigError, match=field):
            job.execute_in_process(instance=dg.DagsterInstance.ephemeral(),
                                   run_config={"resources": {resource: {"config": {field: value}}}})
        assert sandbox.stats().total_calls == 0
    release_database(catalog_url)


def test_a_sync_scope_value_equal_to_a_secret_is_refused_and_never_stored(tmp_path: Path, catalog_url: str) -> None:
    with run_sandbox(SandboxOptions(products=10)) as sandbox, \
            project_env(env := pipeline_env(sandbox, catalog_url, tmp_path)):
        job = build_definitions(load_settings()).resolve_job_def("haier_full_sync")
        result = job.execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
            run_config={"resources": {"sync_scope": {"config": {"category": {"env": "HAIER_CLIENT_SECRET"}}}}})
    secret = env["HAIER_CLIENT_SECRET"]
    assert not result.success
    errors = " ".join(str(event.event_specific_data.error) for event in result.all_events
                      if event.is_failure and getattr(event.event_specific_data, "error", None))
    assert "sync_scope.category: a value equals a configured secret" in errors
    assert all(secret not in str(event) for event in result.all_events)
    with reading(catalog_url) as conn:
        assert row_count(conn, "products") == 0
        stored = list(conn.execute(select(tables.categories.c.name)).scalars()) if row_count(conn, "categories") else []
    assert secret not in stored
    release_database(catalog_url)


@pytest.mark.parametrize(("config", "named"), [
    ({"product_codes": ["GA0SZC00U", "<img src=x>"]}, "product_codes"),
    ({"brand": "x" * 65}, "brand"),
    ({"category": "电热水器\x00"}, "category"),
])
def test_sync_scope_values_of_the_wrong_shape_are_refused_by_field(config: dict, named: str) -> None:
    defs = build_definitions(load_settings({}))
    scope = defs.resources["sync_scope"]
    result = dg.materialize([_scoped], resources={"sync_scope": scope}, raise_on_error=False,
                            run_config={"resources": {"sync_scope": {"config": config}}},
                            instance=dg.DagsterInstance.ephemeral())
    assert not result.success
    failure = next(event for event in result.all_events if event.is_failure)
    assert named in str(failure.event_specific_data.error)


@dg.asset
def _scoped(sync_scope: SyncScope) -> None:
    raise AssertionError("the asset must not run with a refused scope")


@pytest.mark.parametrize("configured", [["HAIER_CATALOG_DB_URL"], ["HAIER_MEDIA_ROOT"],
                                        ["HAIER_CATALOG_DB_URL", "HAIER_MEDIA_ROOT"]])
def test_the_sandbox_runs_into_a_configured_catalogue_only_when_asked(tmp_path: Path, configured: list[str]) -> None:
    values = {"HAIER_CATALOG_DB_URL": f"sqlite:///{tmp_path / 'real.sqlite'}", "HAIER_MEDIA_ROOT": str(tmp_path / "m")}
    env = {name: values[name] for name in configured}
    with pytest.raises(SettingsError) as refused:
        load_settings(env)
    assert str(refused.value).startswith("HAIER_BASE_URL: unset while ")
    assert all(name in str(refused.value) for name in [*configured, "HAIER_SANDBOX=1"])
    assert load_settings({**env, "HAIER_SANDBOX": "1"}).uses_sandbox
    assert load_settings({}).uses_sandbox  # nothing configured: the demo needs no flag


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_start_up_refuses_and_leaves_the_real_catalogue_untouched(tmp_path: Path) -> None:
    real = tmp_path / "real.sqlite"
    env = {key: value for key, value in os.environ.items() if not key.startswith("HAIER_")}
    env.update({"HAIER_CATALOG_DB_URL": f"sqlite:///{real}", "HAIER_DATA_DIR": str(tmp_path)})
    child = subprocess.run([sys.executable, "-c", "import haier_pipeline.definitions"], cwd=PROJECT_ROOT, env=env,
                           capture_output=True, text=True, timeout=180)
    assert child.returncode != 0
    last = child.stderr.strip().splitlines()[-1]
    assert last.startswith("haier_pipeline.settings.SettingsError: HAIER_BASE_URL: unset while HAIER_CATALOG_DB_URL")
    assert not real.exists()


def test_sandbox_and_a_gateway_together_are_refused() -> None:
    with pytest.raises(SettingsError, match="HAIER_SANDBOX"):
        load_settings(
            {
                "HAIER_SANDBOX": "1",
                "HAIER_BASE_URL": "https://gw.example",
                "HAIER_TOKEN_URL": "https://gw.example/t",
                "HAIER_CLIENT_ID": "i",
                "HAIER_CLIENT_SECRET": "s",
                "HAIER_CUSTOMER_CODE": "c",
                "HAIER_PASSWORD": "p",
                "HAIER_SEND_TO_CODE": "t",
            }
        )
