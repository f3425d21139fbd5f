"""HaierApiResource inside real Dagster runs: the built-in sandbox when no gateway is set, EnvVar secrets, fail-fast config."""

from __future__ import annotations

import logging

import dagster as dg
import pytest
import requests

from haier_pipeline.haier_api import HaierApiResource, parse_products
from haier_pipeline.haier_api.config import SETTING_NAMES
from haier_pipeline.haier_api.resource import SANDBOX_WARNING
from haier_pipeline.sandbox import SandboxOptions, run_sandbox

seen: dict[str, object] = {}


@dg.asset
def listed_products(haier: HaierApiResource) -> dg.MaterializeResult:
    client = haier.get_client()
    assert client is haier.get_client()  # one client per resource instance
    [listing] = list(client.fetch_products())
    parsed = parse_products(listing.records)
    codes = {record.product_code for record in parsed.records}  # the listing repeats a few products
    seen.update(base_url=client.config.base_url, uses_sandbox=haier.uses_sandbox, count=len(codes), rate_limit=client.config.rate_limit)
    return dg.MaterializeResult(metadata={"products": len(parsed.records), "sandbox": haier.uses_sandbox})


def _materialize(resource: HaierApiResource, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    seen.clear()
    return dg.materialize([listed_products], resources={"haier": resource},
                          instance=dg.DagsterInstance.ephemeral(), raise_on_error=raise_on_error)


def test_without_a_gateway_the_run_gets_the_built_in_sandbox_and_says_so(monkeypatch, caplog) -> None:
    for variable in SETTING_NAMES.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HAIER_SANDBOX_PRODUCTS", "40")
    caplog.set_level(logging.WARNING, logger="haier_pipeline.haier_api")
    result = _materialize(HaierApiResource.from_env(rate_limit=50.0))
    assert result.success
    assert seen["uses_sandbox"] is True and seen["count"] == 40 and seen["rate_limit"] == 50.0
    assert SANDBOX_WARNING in caplog.text
    # the sandbox lived for the run only
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{seen['base_url']}/_sandbox/health", timeout=2)


def test_a_configured_gateway_with_envvar_secrets(monkeypatch) -> None:
    with run_sandbox(SandboxOptions(products=25, seed=9)) as sandbox:
        for name, value in sandbox.env().items():
            monkeypatch.setenv(name, value)
        resource = HaierApiResource.from_env(rate_limit=80.0)
        # secrets are bound by name, never held as values in the resource's config
        assert resource.client_secret == dg.EnvVar("HAIER_CLIENT_SECRET")
        assert sandbox.env()["HAIER_CLIENT_SECRET"] not in repr(resource)
        result = _materialize(resource)
        assert result.success
        assert seen["uses_sandbox"] is False and seen["base_url"] == sandbox.base_url
        assert seen["count"] == len(sandbox.catalogue.expected_products())
        assert sandbox.stats().calls == {"products": 1}


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"base_url": "http://127.0.0.1:9", "client_id": "i", "customer_code": "c", "password": "p"}, "HAIER_CLIENT_SECRET"),
        ({"base_url": "not a url", "client_id": "i", "client_secret": "s", "customer_code": "c", "password": "p"}, "HAIER_BASE_URL"),
        ({"rate_limit": 0.0}, "rate_limit"),
        ({"max_concurrency": 0}, "max_concurrency"),
    ],
)
def test_bad_settings_fail_at_start_up_by_name(monkeypatch, fields: dict, named: str) -> None:
    monkeypatch.setenv("HAIER_SANDBOX_PRODUCTS", "5")
    result = _materialize(HaierApiResource(**fields), raise_on_error=False)
    assert not result.success and "count" not in seen  # the asset body never ran
    failure = next(event for event in result.all_events if event.is_failure)
    assert named in str(failure.event_specific_data.error)


def test_a_bad_sandbox_size_is_named(monkeypatch) -> None:
    monkeypatch.setenv("HAIER_SANDBOX_PRODUCTS", "lots")
    result = _materialize(HaierApiResource(), raise_on_error=False)
    assert not result.success
    assert "HAIER_SANDBOX_PRODUCTS" in str(next(event for event in result.all_events if event.is_failure).event_specific_data.error)
