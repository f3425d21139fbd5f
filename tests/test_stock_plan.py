"""The stock refresh planner: age bound first, then staleness gain per call, never a pair twice in a window.

Pure numpy cases, then the ``HAIER_STOCK_*`` settings (refused by name), then the plan read from a real
catalogue (SQLite and PostgreSQL): pairs recorded as asked in this window are skipped, so a pass that
stopped part-way resumes with the rest.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import create_engine

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database, release_database
from haier_pipeline.catalog.stock_refresh import oldest_stock_value, record_asks
from haier_pipeline.settings import SettingsError, load_settings
from haier_pipeline.shop.tables import shop_tables
from haier_pipeline.stock_plan import PlanSettings, estimate_rates, plan_refresh
from haier_pipeline.stock_plan.config import StockRefreshSettings
from haier_pipeline.stock_plan.freshness import stock_freshness
from haier_pipeline.stock_plan.rates import corrected_changes
from haier_pipeline.stock_plan.run_plan import plan_stock_run, window_start
from haier_pipeline.stock_plan.shop_weights import shop_product_weights
from support.catalog_db import catalog_url_for_tests
from support.catalog_records import T0

HOUR = 3600.0
SETTINGS = PlanSettings(window_seconds=1800.0, max_age_seconds=6 * HOUR, low_stock_boost=0.0)


def test_pairs_past_the_age_bound_come_first_oldest_first_and_the_budget_is_kept():
    age = np.array([100.0, 6 * HOUR, 5.9 * HOUR, np.inf, 10.0])
    rate = np.array([1e-3, 0.0, 0.0, 0.0, 1e-3])
    plan = plan_refresh(age, rate, np.ones(5), 3, SETTINGS)
    assert plan.ask.tolist() == [3, 1, 2]  # never asked, then the two that would pass 6 h within the window
    assert plan.due == 3 and plan.overdue_unasked == 0


def test_the_budget_goes_to_the_largest_weighted_staleness_gain():
    age = np.full(4, HOUR)
    rate = np.array([1 / HOUR, 1 / HOUR, 1 / (100 * HOUR), 100 / HOUR])
    weight = np.array([1.0, 10.0, 10.0, 10.0])
    plan = plan_refresh(age, rate, weight, 1, SETTINGS)
    # Pair 3 changes a hundred times an hour: asked now it is wrong again at once, so pair 1 gains most.
    assert plan.ask.tolist() == [1]
    assert plan.expected_staleness_after < plan.expected_staleness


def test_a_pair_near_zero_outranks_the_same_pair_deep_in_stock():
    boosted = PlanSettings(window_seconds=1800.0, max_age_seconds=6 * HOUR, low_stock_boost=1.0)
    plan = plan_refresh(np.full(2, HOUR), np.full(2, 1 / HOUR), np.ones(2), 1, boosted, level=np.array([40, 0]))
    assert plan.ask.tolist() == [1]


def test_pairs_asked_in_this_window_are_never_asked_again_even_when_budget_is_left():
    done = np.array([True, False, True, False])
    plan = plan_refresh(np.full(4, np.inf), np.ones(4), np.ones(4), 10, SETTINGS, asked_this_window=done)
    assert sorted(plan.ask.tolist()) == [1, 3] and plan.fresh_skipped == 2


def test_rates_follow_each_pairs_history_and_new_pairs_start_at_the_pooled_rate():
    asks = np.array([100, 100, 0])
    changes = np.array([50, 0, 0])
    observed = np.array([100 * HOUR, 100 * HOUR, 0.0])
    rate = estimate_rates(asks, changes, observed)
    assert rate[0] > 0.5 / HOUR > rate[2] > rate[1] > 0  # undercounted changes corrected upwards
    pooled = corrected_changes(asks, changes).sum() / observed.sum()
    assert rate[2] == pytest.approx(pooled)


@pytest.mark.parametrize(("env", "variable"), [
    ({"HAIER_STOCK_MAX_AGE_HOURS": "0.25"}, "HAIER_STOCK_MAX_AGE_HOURS"),
    ({"HAIER_STOCK_WEIGHT": "-1"}, "HAIER_STOCK_WEIGHT"),
    ({"HAIER_STOCK_LOW_STOCK_BOOST": "-0.5"}, "HAIER_STOCK_LOW_STOCK_BOOST"),
    ({"HAIER_STOCK_CALLS_PER_WINDOW": "many"}, "HAIER_STOCK_CALLS_PER_WINDOW"),
    ({"HAIER_STOCK_BUDGET_SHARE": "1.5"}, "HAIER_STOCK_BUDGET_SHARE"),
])
def test_a_bad_stock_setting_is_refused_by_name(tmp_path, env, variable):
    with pytest.raises(SettingsError) as refused:
        load_settings({"HAIER_DATA_DIR": str(tmp_path), **env})
    assert str(refused.value).startswith(f"{variable}:")


def test_the_budget_is_the_windows_share_of_the_rate_limit_unless_configured(tmp_path):
    base = {"HAIER_DATA_DIR": str(tmp_path), "HAIER_RATE_LIMIT": "10"}
    assert load_settings(base).stock_refresh.calls_per_window == 30 * 60 * 10 * 8 // 10
    assert load_settings({**base, "HAIER_STOCK_CALLS_PER_WINDOW": "500"}).stock_refresh.calls_per_window == 500


@pytest.fixture
def engine(tmp_path, request):
    url = catalog_url_for_tests(tmp_path, request)
    yield prepare_database(url)
    release_database(url)


def test_a_stopped_pass_resumes_with_the_pairs_it_had_not_asked(engine):
    codes, counties = [f"GA{i}" for i in range(6)], ["110101", "310101"]
    settings = StockRefreshSettings(calls_per_window=8)
    now = window_start(T0, settings.window_seconds) + timedelta(minutes=5)
    with engine.begin() as conn:
        first = plan_stock_run(conn, codes, counties, now, settings)
        assert len(first.pairs) == 8 and first.figures["stock_pairs_due"] == 12
        # The pass is stopped after five answers were stored.
        record_asks(conn, [(code, county, {"stock": "3"}) for code, county in first.pairs[:5]], now)
    with engine.begin() as conn:
        again = plan_stock_run(conn, codes, counties, now + timedelta(minutes=1), settings)
        assert again.figures["stock_pairs_fresh_skipped"] == 5
        assert len(again.pairs) == 7 and not set(again.pairs) & set(first.pairs[:5])
        # The next window may ask them again; the oldest value is one the stopped pass stored.
        later = plan_stock_run(conn, codes, counties, now + timedelta(minutes=30), settings)
        assert later.figures["stock_pairs_fresh_skipped"] == 0
        assert oldest_stock_value(conn)[:2] in first.pairs[:5]


def test_a_changed_answer_counts_as_a_change_and_an_equal_one_does_not(engine):
    with engine.begin() as conn:
        record_asks(conn, [("GA1", "110101", {"stock": "3"}), ("GA2", "110101", {"stock": "3"})], T0)
        record_asks(conn, [("GA1", "110101", {"stock": "2"}), ("GA2", "110101", {"stock": "3"})],
                    T0 + timedelta(hours=1))
        plan = plan_stock_run(conn, ["GA1", "GA2"], ["110101"], T0 + timedelta(hours=2),
                              StockRefreshSettings(calls_per_window=1, low_stock_boost=0.0))
    # Both were asked an hour ago; only GA1 has been seen to change, so it is the one worth the call.
    assert plan.pairs == [("GA1", "110101")]


def test_freshness_names_the_pairs_past_the_age_bound_and_gives_new_products_time(engine):
    raw = tables.haier_raw_products
    with engine.begin() as conn:
        for code, seen in (("OLD1", T0 - timedelta(days=3)), ("OLD2", T0 - timedelta(days=3)), ("NEW1", T0)):
            conn.execute(raw.insert().values(product_code=code, payload="{}", payload_sha256="x", is_sales="1",
                                             listed=True, first_seen_at=seen, changed_at=seen))
        record_asks(conn, [("OLD1", "110101", {"stock": "1"})], T0 - timedelta(hours=30))
        record_asks(conn, [("OLD2", "110101", {"stock": "1"})], T0 - timedelta(hours=2))
        seen = stock_freshness(conn, ["110101"], T0, 24 * HOUR)
    # OLD1 is 30 h old; NEW1 was never asked but listed only now; OLD2 is fresh.
    assert (seen.pairs, seen.over_max_age, seen.never_asked) == (3, 1, 1)
    assert seen.oldest_pair == "OLD1@110101" and seen.oldest_age_hours == pytest.approx(30)
    assert seen.examples == ["OLD1@110101: 30.0 h old"]


def test_shop_sales_and_views_weigh_products_and_a_shop_without_them_falls_back_saying_so(tmp_path):
    shop = shop_tables()
    engine = create_engine(f"sqlite:///{tmp_path / 'shop.sqlite'}")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {shop.product.name} (id INTEGER PRIMARY KEY, product_code TEXT, "
                             "sales_count INTEGER, view_count INTEGER)")
        conn.exec_driver_sql(f"INSERT INTO {shop.product.name} VALUES (1, 'GA1', 10, 100), (2, 'GA2', 0, 0)")
    weights = shop_product_weights(engine, shop, ["GA1", "GA2"], 2.0)
    assert weights.by_code == {"GA1": 2.0 * (1 + 10 + 5), "GA2": 2.0} and not weights.fell_back
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE {shop.product.name}")
        conn.exec_driver_sql(f"CREATE TABLE {shop.product.name} (id INTEGER PRIMARY KEY, product_code TEXT)")
    older = shop_product_weights(engine, shop, ["GA1"], 2.0)
    assert older.fell_back and not older.by_code
    assert "has no sales_count or view_count column" in older.source
    engine.dispose()
