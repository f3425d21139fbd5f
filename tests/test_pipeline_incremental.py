"""Re-syncs: an unchanged catalogue writes nothing; a changed one applies exactly the changes, and
the shop's own edits (sale price, local products) survive."""

from datetime import UTC, datetime
from decimal import Decimal

import dagster as dg
import pytest
from sqlalchemy import insert, update

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database, release_database
from haier_pipeline.catalog.instrument import count_statements
from haier_pipeline.sandbox import AnswerStyle, SandboxOptions, run_sandbox
from support.pipeline import assert_catalogue_matches, catalogue_rows, pipeline_env, run_job

pytestmark = pytest.mark.slow  # quick loop: each test syncs twice through `dagster job execute` (docs/testing.md)

CATALOG_ASSETS = ("brands", "categories", "products", "product_stock")


def metadata(result: dg.ExecuteInProcessResult, key: str) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == key]
    return {name: value.value for name, value in event.materialization.metadata.items()}


STYLES = {  # the contract's own examples, and a gateway that writes every number its own way
    "contract": AnswerStyle(),
    "mixed-amount-number-flags-half-even": AnswerStyle(numbers="mixed", discount="amount", flags="number",
                                                       rounding="half_even"),
}


@pytest.fixture(params=list(STYLES))
def synced(tmp_path, catalog_url, request):
    with run_sandbox(SandboxOptions(products=300, rate_limit=None, style=STYLES[request.param])) as sandbox:
        env = pipeline_env(sandbox, catalog_url, tmp_path)
        first = run_job(env)
        yield sandbox, env, first
    release_database(catalog_url)


CONFIRMATIONS = (  # the only catalogue writes of an unchanged re-sync: Haier confirmed the values again
    "UPDATE haier_raw_prices SET confirmed_at=", "UPDATE haier_raw_stock SET confirmed_at=",
    "UPDATE products SET last_sync_at=", "UPDATE product_stock SET confirmed_at=",
)


def test_an_unchanged_resync_writes_no_catalog_rows(synced, catalog_url):
    sandbox, env, first = synced
    assert metadata(first, "products")["inserted"] > 0
    engine = prepare_database(catalog_url)
    with count_statements(engine) as counter:
        again = run_job(env, job="haier_full_sync")
    for key in CATALOG_ASSETS:
        meta = metadata(again, key)
        assert meta["rows_written"] == 0 and meta["nothing_changed"] is True, (key, meta)
    # The only writes left are the run's own diaries: its sync-log rows and the image URLs it found failing
    # (asked again each run: a host may have fixed them), and when each stock pair was asked (the refresh
    # planner's state); and the confirmation stamps, one set-based statement per chunk or step. No value
    # of a catalog or raw payload table is touched.
    diaries = ("haier_sync_log", "media_rejected_urls", "stock_refresh_state")
    others = [sql for sql in counter.write_sql if not any(name in sql for name in diaries)]
    assert counter.write_sql and all(sql.startswith(CONFIRMATIONS) for sql in others), others
    confirming = [sql for sql in others if sql.startswith(CONFIRMATIONS[2:])]
    assert len(confirming) == 2, confirming  # products and product_stock: one statement each, not per row


def test_an_unchanged_resync_moves_last_confirmed_not_last_changed(synced, catalog_url):
    sandbox, env, _ = synced
    before = {row["product_code"]: row for row in catalogue_rows(catalog_url, "products") if row["source"] == "haier"}
    stock_before = {(r["product_code"], r["county_code"]): r for r in catalogue_rows(catalog_url, "product_stock")}
    started = datetime.now(UTC)
    run_job(env, job="haier_full_sync")
    ended = datetime.now(UTC)
    after = {row["product_code"]: row for row in catalogue_rows(catalog_url, "products") if row["source"] == "haier"}
    priced = [code for code in after if code in sandbox.catalogue.expected_prices()]
    assert priced and set(after) == set(before)
    confirmed = {after[code]["last_sync_at"] for code in priced}
    assert len(confirmed) == 1 and started < confirmed.pop() < ended, "every answered price confirmed by this sync"
    for code, row in after.items():
        assert row["last_changed_at"] == before[code]["last_changed_at"], code  # nothing changed
        assert row["updated_at"] == before[code]["updated_at"], code
    # Stock: the pairs this run asked (its refresh plan) and Haier answered are confirmed now; others keep theirs.
    raw = {
        (r["product_code"], r["county_code"]): r["confirmed_at"] for r in catalogue_rows(catalog_url, "haier_raw_stock")
    }
    asked = {key for key, stamp in raw.items() if started < stamp < ended}
    assert asked, "the re-sync asked some stock pairs"
    stock_after = {(r["product_code"], r["county_code"]): r for r in catalogue_rows(catalog_url, "product_stock")}
    for key, row in stock_after.items():
        assert row["synced_at"] == stock_before[key]["synced_at"], key
        expected = raw[key] if key in asked else stock_before[key]["confirmed_at"]
        assert row["confirmed_at"] == expected, key


def test_a_changed_catalogue_applies_exactly_the_changes(synced, catalog_url):
    sandbox, env, _ = synced
    before = {row["product_code"]: row for row in catalogue_rows(catalog_url, "products")}
    edited = next(code for code, row in before.items() if row["is_sales"] == "1" and row["price"] is not None)
    now = datetime.now(UTC)
    with prepare_database(catalog_url).begin() as conn:
        conn.execute(
            update(tables.products).where(tables.products.c.product_code == edited).values(price=Decimal("1.23"))
        )
        conn.execute(
            insert(tables.products).values(
                product_code="LOCAL-0001",
                name="本店自营",
                source="local",
                is_sales="1",
                price=Decimal("99.00"),
                created_at=now,
                updated_at=now,
            )
        )

    old, new = sandbox.catalogue, sandbox.advance()
    run_job(env)

    after = {row["product_code"]: row for row in catalogue_rows(catalog_url, "products")}
    old_codes, new_codes = set(old.expected_products()), set(new.expected_products())
    assert new_codes - old_codes, "the sandbox added products"
    assert old_codes - new_codes, "the sandbox delisted products"
    for code in new_codes - old_codes:
        assert code in after and code not in before  # inserted
    for code in old_codes - new_codes:
        assert after[code]["is_sales"] == "0", code  # kept, marked not procurable
    moved = [code for code, price in new.expected_prices().items()
             if code in old.expected_prices() and price.supply_price != old.expected_prices()[code].supply_price]
    assert moved, "the sandbox moved some prices"
    for code in moved:
        assert after[code]["supply_price"] == new.expected_prices()[code].supply_price, code
    assert after[edited]["price"] == Decimal("1.23")  # the shop's sale price survives
    assert after["LOCAL-0001"] == {
        **after["LOCAL-0001"],
        "name": "本店自营",
        "source": "local",
        "price": Decimal("99.00"),
    }
    first = env["HAIER_COUNTY_CODES"].split(",")[0]
    old_stock, new_stock = old.expected_stock(first), new.expected_stock(first)
    untouched = [code for code in old_codes & new_codes if code != edited
                 and old.expected_products()[code] == new.expected_products()[code]
                 and old.expected_prices().get(code) == new.expected_prices().get(code)
                 and old_stock.get(code) == new_stock.get(code)]
    assert untouched and all(after[code]["updated_at"] == before[code]["updated_at"] for code in untouched)
    assert_catalogue_matches(catalog_url, new, env["HAIER_COUNTY_CODES"].split(","), first_sync=False)
