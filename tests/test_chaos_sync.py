"""A full sync through a gateway in chaos ends with the sandbox's catalogue exactly and an exact sync log.

The profile: 10 % of calls answered 5xx, 2 % of connections dropped, 2 % maintenance pages under
HTTP 200, 429 bursts, 3 % latency spikes, the token endpoint hit by the same faults, tokens
living 3 s, and on top of that every token killed early now and then (so calls meet 401). With
that much trouble a call can fail four times in a row, so the run raises the client's attempts
per call to 10 through the ``haier_api`` resource's run config — what a user would do for a gateway
this bad: scaffold the config in the Launchpad (it binds every ``HAIER_*`` variable) and change
``resources.haier_api.config.max_attempts``. (A config holding *only* ``max_attempts`` replaces
the resource's settings wholesale; the resource refuses such a run rather than fall back to the sandbox.)
"""

from __future__ import annotations

import os
import threading
import time

import dagster as dg
import pytest

from haier_pipeline.catalog.engine import release_database
from haier_pipeline.sandbox import FaultProfile, RunningSandbox, SandboxOptions, run_sandbox
from support.catalog_state import consistency_problems, expected_log_counts, image_mismatches, log_counts
from support.pipeline import assert_catalogue_matches, pipeline_env, project_env

pytestmark = pytest.mark.slow

COUNTIES = os.environ["HAIER_COUNTY_CODES"].split(",")
CHAOS = FaultProfile(error_rate=0.10, drop_rate=0.02, html_error_rate=0.02, burst_429_rate=0.03,
                     slow_rate=0.03, slow_seconds=1.5, include_token=True, seed=11)
RAW_ASSETS = ("haier_raw_products", "haier_raw_prices", "haier_raw_stock")


class TokenKiller(threading.Thread):
    """Kills every live token every couple of seconds — but only once the last fresh token has served calls,
    so no call meets two 401s in a row (the contract's client gives up then, rightly). A kill comes a second
    into a token's 3 s life: the client renews half a second before expiry, so a later kill could miss every call."""

    def __init__(self, sandbox: RunningSandbox, every: float = 1.0, served: int = 30) -> None:
        super().__init__(name="token-killer", daemon=True)
        self.sandbox, self.every, self.served = sandbox, every, served
        self.stop = threading.Event()
        self.kills = 0

    def run(self) -> None:
        issued_at_kill, ok_at_new, new_since = 0, None, 0.0
        while not self.stop.wait(0.05):
            stats = self.sandbox.stats()
            ok = stats.statuses.get(200, 0)
            if stats.tokens_issued <= issued_at_kill:
                continue
            if ok_at_new is None:
                ok_at_new, new_since = ok, time.monotonic()
            if ok - ok_at_new >= self.served and time.monotonic() - new_since >= self.every:
                self.sandbox.expire_tokens()
                self.kills += 1
                issued_at_kill, ok_at_new = stats.tokens_issued, None


def test_a_full_sync_through_chaos_is_exact(tmp_path, catalog_url):
    options = SandboxOptions(products=200, seed=5, rate_limit=1000, token_lifetime=3.0, faults=CHAOS)
    with run_sandbox(options) as sandbox, dg.DagsterInstance.ephemeral() as instance:
        env = pipeline_env(sandbox, catalog_url, tmp_path, HAIER_RATE_LIMIT="400", HAIER_IMAGE_RATE_LIMIT="500")
        killer = TokenKiller(sandbox)
        started = time.monotonic()
        with project_env(env):
            from haier_pipeline.definitions import build_definitions
            from haier_pipeline.settings import load_settings

            job = build_definitions(load_settings()).resolve_job_def("haier_full_sync")
            killer.start()
            try:
                result = job.execute_in_process(instance=instance, raise_on_error=False,
                                                run_config=launchpad_config(job, "haier_api", max_attempts=10))
            finally:
                killer.stop.set()
                killer.join(10)
        seconds = time.monotonic() - started
        seen = sandbox.stats()
        truth = sandbox.catalogue
        assert result.success, [event.message for event in result.all_events if event.is_failure]

        # The chaos happened: every kind of fault, 401s from killed tokens, many tokens.
        assert seen.injected_5xx and seen.drops and seen.html_errors and seen.answered_429 and seen.slow_calls
        # (a kill after the last business call meets no 401)
        assert killer.kills >= 2 and seen.answered_401 >= 2 and seen.tokens_issued >= 3
        # Each fault cost exactly one retry, all of it inside the raw assets, and the metadata says so.
        retries = sum(materialization(result, key)["api_retries"].value for key in RAW_ASSETS)
        assert retries == seen.injected_5xx + seen.drops + seen.html_errors + seen.answered_429

        # And yet: the sandbox's catalogue exactly, every good image, exact counts in the sync log.
        assert_catalogue_matches(catalog_url, truth, COUNTIES)
        assert not consistency_problems(catalog_url, tmp_path / "media", truth, COUNTIES)
        assert not image_mismatches(catalog_url, tmp_path / "media", truth)
        assert log_counts(catalog_url, result.run_id) == expected_log_counts(truth, COUNTIES)
        print(f"chaos sync: {seconds:.1f} s, {seen.total_calls} calls, {retries} retries, "
              f"{seen.answered_401} x 401, {seen.tokens_issued} tokens")
    release_database(catalog_url)


def materialization(result: dg.ExecuteInProcessResult, key: str) -> dict:
    """The step's own materialization of ``key`` (per-county partition records carry no API figures)."""
    [metadata] = [e.materialization.metadata for e in result.get_asset_materialization_events()
                  if e.asset_key.to_user_string() == key and "api_retries" in e.materialization.metadata]
    return metadata


def launchpad_config(job: dg.JobDefinition, resource: str, **changes: object) -> dict:
    """The resource's config as the Launchpad scaffolds it (``{"env": ...}`` bindings included), with ``changes``."""
    fields = job.run_config_schema.config_type.fields["resources"].config_type.fields[resource].config_type.fields
    return {"resources": {resource: {"config": {**fields["config"].default_value, **changes}}}}
