"""No secret reaches a log, an error, metadata, the catalogue or anything the UI shows.

Distinctive values are used for every secret the project holds — client secret, the three
passwords, every token the gateway issues (recorded as issued), and on PostgreSQL the catalog
database's password — and then everything a sync leaves behind is searched for them:
stdout/stderr (file-descriptor level), Python logging at DEBUG (the client's request bodies
included, routed into Dagster's event log too), every event record of every run (messages,
metadata, errors), the run records (run config, tags), the repository snapshot the UI is built
from (resource config, Launchpad defaults), the instance's files (compute logs) and every table of
the catalogue. Three runs: a clean one, one with a wrong seller password (400s) and one with a
wrong client secret (no token), so the error paths are searched too.
"""

from __future__ import annotations

import logging
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from haier_pipeline.catalog.engine import release_database
from haier_pipeline.definitions import build_definitions
from haier_pipeline.sandbox import SandboxOptions, run_sandbox
from haier_pipeline.sandbox.tokens import TokenStore
from haier_pipeline.settings import load_settings
from support.catalog_state import reading
from support.pipeline import pipeline_env, project_env

SECRETS = {
    "client_secret": "CLIENTSECRET-b7e1d2f0a9",
    "password": "PASSWORD-4c8e91a7f3",
    "seller_password": "SELLERPW-0d5a6b3c2e",
    "customer_password": "CUSTOMERPW-9f1e7d4b6a",
}
WRONG = {"HAIER_SELLER_PASSWORD": "WRONGSELLER-71c3b9e2d4", "HAIER_CLIENT_SECRET": "WRONGCLIENT-a2f8c6e1b5"}
DB_PASSWORD = "DBPASSWORD-5e9a1c7b3f"


def with_db_password(url: str) -> str:
    """On PostgreSQL (trust auth in tests, so any password works) put a password in the URL; SQLite has none."""
    parsed = make_url(url)
    return parsed.set(password=DB_PASSWORD).render_as_string(hide_password=False) if parsed.drivername.startswith(
        "postgresql") else url


@pytest.fixture
def issued_tokens(monkeypatch) -> list[str]:
    tokens: list[str] = []
    issue = TokenStore.issue

    def recording(self: TokenStore) -> str:
        token = issue(self)
        tokens.append(token)
        return token

    monkeypatch.setattr(TokenStore, "issue", recording)
    return tokens


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_no_secret_is_left_anywhere(tmp_path, catalog_url, issued_tokens, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    url = with_db_password(catalog_url)
    settings = {"python_logs": {"managed_python_loggers": ["haier_pipeline"], "python_log_level": "DEBUG"}}
    options = SandboxOptions(products=40, rate_limit=None, **SECRETS)
    haystack: list[str] = []
    with run_sandbox(options) as sandbox, dg.DagsterInstance.ephemeral(settings=settings) as instance:
        clean = pipeline_env(sandbox, url, tmp_path)
        runs = []
        for changes in ({}, {"HAIER_SELLER_PASSWORD": WRONG["HAIER_SELLER_PASSWORD"]},
                        {"HAIER_CLIENT_SECRET": WRONG["HAIER_CLIENT_SECRET"]}):
            with project_env({**clean, **changes}):
                defs = build_definitions(load_settings())
                job = defs.resolve_job_def("haier_full_sync")
                runs.append(job.execute_in_process(instance=instance, raise_on_error=False))
                haystack.append(serialize_value(RepositorySnap.from_def(defs.get_repository_def())))
        assert runs[0].success and not runs[2].success  # the clean run worked; a wrong client secret cannot
        for result in runs:
            for entry in instance.all_logs(result.run_id):
                haystack.append(serialize_value(entry))
            record = instance.get_run_by_id(result.run_id)
            haystack += [serialize_value(record.run_config), serialize_value(record.tags)]
            for event in result.get_asset_materialization_events():
                haystack.append(serialize_value(event.materialization.metadata))
        haystack += [path.read_text(errors="replace") for path in Path(instance.root_directory).rglob("*")
                     if path.is_file()]
    haystack += list(capfd.readouterr()) + [caplog.text]
    haystack.append(catalogue_text(url))

    everything = " ".join(haystack)
    assert "sellerPassword: wrong password" in everything  # the error paths were taken...
    assert "client authentication failed" in everything
    assert '"priceType":"PT"' in caplog.text and '"source":"JSH-B"' in caplog.text  # ...and request bodies logged
    secrets = {**SECRETS, **WRONG, "db_password": DB_PASSWORD} | {f"token {n}": t for n, t in enumerate(issued_tokens)}
    assert len(issued_tokens) >= 2
    leaks = {
        name: [chunk[max(0, chunk.find(value) - 80) : chunk.find(value) + 40] for chunk in haystack if value in chunk][
            :3
        ]
        for name, value in secrets.items()
        if (name != "db_password" or DB_PASSWORD in url) and any(value in chunk for chunk in haystack)
    }
    assert not leaks, leaks
    release_database(catalog_url)
    release_database(url)


def catalogue_text(url: str) -> str:
    """Every value of every table of the catalogue, as text."""
    parts = []
    with reading(url) as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                parts.append(" ".join(map(str, row)))
    return "\n".join(parts)
