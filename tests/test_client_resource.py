"""The Haier API resources inside real Dagster runs: the sandbox class when asked, the real one otherwise,
settings only."""

from __future__ import annotations

import dagster as dg
import pytest
import requests

from haier_pipeline.definitions import build_resources
from haier_pipeline.haier_api import parse_products
from haier_pipeline.resources import SANDBOX_WARNING, HaierApiResource, SandboxApiResource
from haier_pipeline.sandbox import SandboxOptions, run_sandbox
from haier_pipeline.settings import load_settings

seen: dict[str, object] = {}


@dg.asset
def listed_products(haier: HaierApiResource) -> dg.MaterializeResult:
    client = haier.get_client()
    assert client is haier.get_client()  # one client per resource instance
    [listing] = list(client.fetch_products())
    parsed = parse_products(listing.records)
    codes = {record.product_code for record in parsed.records}  # the listing repeats a few products
    seen.update(base_url=client.config.base_url, uses_sandbox=haier.uses_sandbox, count=len(codes),
                rate_limit=client.config.rate_limit)
    return dg.MaterializeResult(metadata={"products": len(parsed.records), "sandbox": haier.uses_sandbox})


def _materialize(resource: HaierApiResource, raise_on_error: bool = True,
                 run_config: dict | None = None) -> dg.ExecuteInProcessResult:
    seen.clear()
    return dg.materialize([listed_products], resources={"haier": resource}, run_config=run_config,
                          instance=dg.DagsterInstance.ephemeral(), raise_on_error=raise_on_error)


def test_without_a_gateway_the_run_gets_the_built_in_sandbox_and_says_so(capfd) -> None:
    resource = build_resources(load_settings({"HAIER_SANDBOX_PRODUCTS": "40", "HAIER_RATE_LIMIT": "50"}))["haier_api"]
    assert type(resource) is SandboxApiResource
    result = _materialize(resource)
    assert result.success
    assert seen["uses_sandbox"] is True and seen["count"] == 40 and seen["rate_limit"] == 50.0
    assert capfd.readouterr().err.count(SANDBOX_WARNING) == 1  # said once, on the run's log (issue 25: twice)
    # the sandbox lived for the run only
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{seen['base_url']}/_sandbox/health", timeout=2)


def test_a_configured_gateway_gets_the_real_resource_with_secrets_out_of_its_config() -> None:
    with run_sandbox(SandboxOptions(products=25, seed=9)) as sandbox:
        env = {**sandbox.env(), "HAIER_RATE_LIMIT": "80"}
        resource = build_resources(load_settings(env))["haier_api"]
        assert type(resource) is HaierApiResource
        # the settings are a resource dependency, not config: no secret in the resource's repr or config
        assert env["HAIER_CLIENT_SECRET"] not in repr(resource)
        assert "settings" not in HaierApiResource.to_config_schema().as_field().config_type.fields  # type: ignore[attr-defined]
        result = _materialize(resource)
        assert result.success
        assert seen["uses_sandbox"] is False and seen["base_url"] == sandbox.base_url and seen["rate_limit"] == 80.0
        assert seen["count"] == len(sandbox.catalogue.expected_products())
        assert sandbox.stats().calls == {"products": 1}


def test_a_partial_tuning_config_keeps_the_settings() -> None:
    """Run config sets only tuning fields; where and who stay the settings' (once a partial config dropped them)."""
    with run_sandbox(SandboxOptions(products=10)) as sandbox:
        resource = build_resources(load_settings(sandbox.env()))["haier_api"]
        result = _materialize(resource, run_config={"resources": {"haier": {"config": {"max_attempts": 10}}}})
        assert result.success and seen["base_url"] == sandbox.base_url


@pytest.mark.parametrize(("fields", "named"), [({"rate_limit": 0.0}, "rate_limit"),
                                               ({"max_concurrency": 0}, "max_concurrency")])
def test_bad_tuning_fails_at_start_up_by_name(fields: dict, named: str) -> None:
    settings = load_settings({"HAIER_SANDBOX_PRODUCTS": "5"})
    result = _materialize(SandboxApiResource(settings=settings, **fields), raise_on_error=False)
    assert not result.success and "count" not in seen  # the asset body never ran
    failure = next(event for event in result.all_events if event.is_failure)
    assert named in str(failure.event_specific_data.error)


def test_a_bad_sandbox_size_is_named() -> None:
    with pytest.raises(Exception, match="HAIER_SANDBOX_PRODUCTS"):
        load_settings({"HAIER_SANDBOX_PRODUCTS": "lots"})
