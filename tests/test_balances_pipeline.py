"""Payer balances against the sandbox over HTTP: a row per sale group per run, and the low-balance warning."""

from __future__ import annotations

from decimal import Decimal

import dagster as dg
import pytest
from sqlalchemy import func, select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.balances import latest_balances
from haier_pipeline.catalog.engine import release_database
from haier_pipeline.definitions import build_definitions
from haier_pipeline.resources import CatalogResource
from haier_pipeline.sandbox import AnswerStyle, SandboxOptions, run_sandbox
from haier_pipeline.settings import SettingsError, load_settings
from support.catalog_readers import balances_of_run

CHECK = "balances_above_threshold"


@pytest.fixture(params=["number", "string", "mixed"])
def sandbox_env(catalog_url, tmp_path, monkeypatch, request):
    """A sandbox writing payerAccountBalance as JSON numbers, as strings (as many Java gateways do), or mixed."""
    with run_sandbox(SandboxOptions(products=10, style=AnswerStyle(numbers=request.param))) as sandbox:
        lines = sandbox.catalogue.balance_answer(sandbox.options.customer_code)
        sent = {type(line["payerAccountBalance"]) for line in lines}
        assert sent <= {"number": {Decimal}, "string": {str}, "mixed": {Decimal, str}}[request.param]
        env = {**sandbox.env(), "HAIER_CATALOG_DB_URL": catalog_url, "HAIER_MEDIA_ROOT": str(tmp_path / "media")}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield sandbox, CatalogResource(db_url=catalog_url)
    release_database(catalog_url)


def sync(instance: dg.DagsterInstance) -> dg.RunResult:
    """``haier_balance_sync`` from definitions built now, so they read the threshold now set."""
    result = (
        build_definitions(load_settings()).resolve_job_def("haier_balance_sync").execute_in_process(instance=instance)
    )
    assert result.success  # a WARN check never fails the run
    return result


def truth(sandbox) -> list[tuple[str, str, Decimal]]:
    records = sandbox.catalogue.expected_balances(sandbox.options.customer_code)
    return sorted((r.sale_group_code, r.payer_account_code, r.balance) for r in records)


def test_each_run_stores_one_row_per_sale_group_with_the_sandboxs_exact_balances(sandbox_env):
    sandbox, catalog = sandbox_env
    with dg.DagsterInstance.ephemeral() as instance:
        first = sync(instance)
        expected_first = truth(sandbox)
        sandbox.advance()
        second = sync(instance)
        expected_second = truth(sandbox)
    assert expected_first != expected_second  # balances moved between the runs
    with catalog.begin() as conn:
        runs = [balances_of_run(conn, result.run_id) for result in (first, second)]
        assert conn.execute(select(func.count()).select_from(tables.account_balances)).scalar_one() == \
            len(expected_first) + len(expected_second)
        assert latest_balances(conn) == runs[1]
    for stored, expected in zip(runs, (expected_first, expected_second), strict=True):
        assert sorted((b.sale_group_code, b.payer_account_code, b.balance) for b in stored) == expected
        assert all(isinstance(b.balance, Decimal) for b in stored)
        assert len({b.observed_at for b in stored}) == 1 and len({b.sale_group_code for b in stored}) == len(expected)
    [event] = second.get_asset_materialization_events()
    assert event.materialization.metadata["rows_inserted"].value == len(expected_second)
    assert Decimal(event.materialization.metadata["lowest_balance"].value) == min(b for _, _, b in expected_second)


def test_the_check_warns_below_the_threshold_and_passes_at_it(sandbox_env, monkeypatch):
    sandbox, _ = sandbox_env
    lowest = min(balance for _, _, balance in truth(sandbox))
    with dg.DagsterInstance.ephemeral() as instance:
        monkeypatch.setenv("HAIER_BALANCE_ALERT_THRESHOLD", str(lowest + Decimal("0.01")))
        [warned] = sync(instance).get_asset_check_evaluations()
        monkeypatch.setenv("HAIER_BALANCE_ALERT_THRESHOLD", str(lowest))  # "under" is strict
        [passed] = sync(instance).get_asset_check_evaluations()
    assert warned.check_name == CHECK and not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    below = [code for _, code, balance in truth(sandbox) if balance < lowest + Decimal("0.01")]
    assert warned.metadata["balances_below"].value == len(below) >= 1
    assert all(code in warned.metadata["low_balances"].value for code in below)
    assert passed.passed and passed.metadata["balances_below"].value == 0


def test_a_bad_threshold_is_refused_by_name():
    with pytest.raises(SettingsError, match="HAIER_BALANCE_ALERT_THRESHOLD: '1,000' is not a decimal amount"):
        load_settings({"HAIER_BALANCE_ALERT_THRESHOLD": "1,000"})
    assert load_settings({}).balance_alert_threshold == Decimal("10000")
    assert load_settings({"HAIER_BALANCE_ALERT_THRESHOLD": "-2500.50"}).balance_alert_threshold == Decimal("-2500.50")
