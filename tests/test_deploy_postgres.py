"""Production shape: catalog and Dagster's own storage both on a real PostgreSQL server, a full
sync of 300 sandbox products through `dagster job execute`, row counts checked against the sandbox.

(The 2,000-product full sync into a PostgreSQL catalogue is ``test_pipeline_full_sync``'s, in the
PostgreSQL pass; this test is about Dagster's storage living there too, which no catalogue size changes.)"""

import os

import pytest
from sqlalchemy import create_engine, func, select, text

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import release_database
from haier_pipeline.sandbox import SandboxOptions, start_sandbox_process
from support.catalog_db import postgres_base_url
from support.pipeline import PROJECT_ROOT, dagster_cli, pipeline_env
from support.postgres import create_database

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("HAIER_TEST_DB") != "postgresql",
                       reason="PostgreSQL deployment test: runs in the PostgreSQL pass of scripts/test.sh"),
]


def test_full_sync_into_postgresql_with_the_dagster_instance_on_postgresql(tmp_path, request):
    base = postgres_base_url(request)
    catalog_url = create_database(base, f"catalog_{os.getpid()}")
    dagster_url = create_database(base, f"dagster_{os.getpid()}").replace("postgresql+psycopg://", "postgresql://")
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "dagster.postgres.yaml").read_text())

    with start_sandbox_process(SandboxOptions(products=300, rate_limit=None)) as sandbox:
        env = pipeline_env(sandbox, catalog_url, tmp_path, DAGSTER_PG_URL=dagster_url)
        done = dagster_cli(["job", "execute", "-m", "haier_pipeline.definitions", "-j", "haier_full_sync"],
                           env, home, instance_yaml=None)
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        truth = sandbox.catalogue

    engine = create_engine(catalog_url)
    with engine.connect() as conn:
        count = lambda table: conn.execute(select(func.count()).select_from(table)).scalar_one()  # noqa: E731
        assert count(tables.products) == len(truth.expected_products())
        procurable = [code for code, record in truth.expected_products().items() if record.is_sales == "1"]
        counties = env["HAIER_COUNTY_CODES"].split(",")
        assert count(tables.product_stock) == len(procurable) * len(counties)
        priced = conn.execute(select(func.count()).where(tables.products.c.supply_price.is_not(None))).scalar_one()
        assert priced == sum(1 for price in truth.expected_prices().values() if price.supply_price is not None)
        assert count(tables.brands) == len({record.brand_name for record in truth.expected_products().values()})
        column = conn.execute(text("select data_type from information_schema.columns "
                                   "where table_name = 'products' and column_name = 'supply_price'")).scalar_one()
        assert column == "numeric"  # money is NUMERIC, never float
    engine.dispose()
    release_database(catalog_url)

    dagster_engine = create_engine(dagster_url.replace("postgresql://", "postgresql+psycopg://"))
    with dagster_engine.connect() as conn:
        runs = conn.execute(text("select pipeline_name, status from runs")).all()
        events = conn.execute(text("select count(*) from event_logs")).scalar_one()
    dagster_engine.dispose()
    assert ("haier_full_sync", "SUCCESS") in [(name, status) for name, status in runs]
    assert events > 50  # the run's event log lives in PostgreSQL, not under DAGSTER_HOME
    assert not list(home.glob("**/*.db"))
