"""Price history end to end: two price syncs against the sandbox, with its catalogue moving in between.

A product whose price terms moved gets exactly one closed and one open row; an unchanged product
keeps its single open row; running again over the same raw answers writes nothing.
"""

from __future__ import annotations

import dagster as dg
import pytest

from haier_pipeline.catalog.engine import release_database
from haier_pipeline.catalog.history import tracked_values
from haier_pipeline.definitions import build_definitions
from haier_pipeline.resources import CatalogResource
from haier_pipeline.sandbox import SandboxOptions, run_sandbox
from haier_pipeline.settings import load_settings
from support.catalog_readers import history_rows

PRODUCTS = 120
LISTING = [dg.AssetKey("haier_raw_products")]


@pytest.fixture
def pipeline(catalog_url, tmp_path, monkeypatch):
    with run_sandbox(SandboxOptions(products=PRODUCTS)) as sandbox, dg.DagsterInstance.ephemeral() as instance:
        env = {**sandbox.env(), "HAIER_CATALOG_DB_URL": catalog_url, "HAIER_MEDIA_ROOT": str(tmp_path / "media")}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield sandbox, build_definitions(load_settings()), instance, CatalogResource(db_url=catalog_url)
    release_database(catalog_url)


def price_sync(defs: dg.Definitions, instance: dg.DagsterInstance) -> dg.RunResult:
    """The listing (so new products are known), then the real ``haier_price_sync`` job."""
    assert (
        defs.resolve_implicit_global_asset_job_def()
        .execute_in_process(instance=instance, asset_selection=LISTING)
        .success
    )
    result = defs.resolve_job_def("haier_price_sync").execute_in_process(instance=instance)
    assert result.success
    assert all(check.passed for check in result.get_asset_check_evaluations())
    return result


def history_metadata(result: dg.RunResult) -> dict:
    [event] = [
        e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("product_price_history")
    ]
    return {key: getattr(value, "value", value) for key, value in event.materialization.metadata.items()}


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_a_price_change_between_two_syncs_closes_one_row_and_opens_one(pipeline):
    sandbox, defs, instance, catalog = pipeline
    before = sandbox.catalogue.expected_prices()

    first = history_metadata(price_sync(defs, instance))
    with catalog.begin() as conn:
        initial = history_rows(conn)
    assert set(initial) == set(before) and first["rows_opened"] == len(before)
    for code, record in before.items():
        [row] = initial[code]
        assert row["valid_to"] is None and tuple(
            row[name]
            for name in ("supply_price", "invoice_price", "stock_rebate", "rebate_type", "rebate_money", "is_sales")
        ) == tracked_values(record)

    again = history_metadata(price_sync(defs, instance))  # same generation: nothing new
    assert again["nothing_changed"] is True and again["rows_opened"] == again["rows_closed"] == 0

    after = sandbox.advance().expected_prices()
    changed = {
        code for code in before.keys() & after.keys() if tracked_values(before[code]) != tracked_values(after[code])
    }
    added = after.keys() - before.keys()
    assert changed, "the sandbox's next generation moves some prices"

    second = history_metadata(price_sync(defs, instance))
    with catalog.begin() as conn:
        history = history_rows(conn)
    for code in changed:
        old, new = history[code]
        assert old["id"] == initial[code][0]["id"] and old["valid_to"] == new["valid_from"] and new["valid_to"] is None
        assert tuple(new[name] for name in ("supply_price", "invoice_price", "stock_rebate", "rebate_type",
                                            "rebate_money", "is_sales")) == tracked_values(after[code])
        assert new["run_id"] != old["run_id"]
    for code in before.keys() - changed:  # unchanged, or delisted (no longer asked for): untouched
        assert history[code] == initial[code]
    assert all(len(history[code]) == 1 and history[code][0]["valid_to"] is None for code in added)
    assert (second["rows_opened"], second["rows_closed"]) == (len(changed) + len(added), len(changed))
    assert second["products_changed"] == len(changed) + len(added)
    assert second["changes_last_7_days"] == len(changed)
    report = second["biggest_moves_this_week"]
    assert all(code in report for code in sorted(changed)[:10])

    final = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey("product_price_history")])
    assert history_metadata(final)["nothing_changed"] is True  # idempotent over the same raw history
    with catalog.begin() as conn:
        assert history_rows(conn) == history


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_a_rebuild_derives_the_same_history_from_the_raw_answers(pipeline):
    sandbox, defs, instance, catalog = pipeline
    price_sync(defs, instance)
    sandbox.advance()
    price_sync(defs, instance)
    with catalog.begin() as conn:
        built = history_rows(conn)
    rebuilt = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey("product_price_history")],
        run_config={"ops": {"product_price_history": {"config": {"rebuild": True}}}},
    )
    assert history_metadata(rebuilt)["rebuilt"] is True
    with catalog.begin() as conn:
        again = history_rows(conn)
    strip = lambda rows: {code: [{k: v for k, v in r.items() if k != "id"} for r in rs] for code, rs in rows.items()}  # noqa: E731
    assert strip(again) == strip(built)
    assert sum(len(rows) for rows in built.values()) > len(built)  # some product has a closed row
