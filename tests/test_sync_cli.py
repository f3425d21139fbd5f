"""``haier-sync``: each flag combination of the original ``sync_haier_products`` command, end to end in a
subprocess against the sandbox — the job it launched, the run config it passed, the rows it wrote —
in-process by default and submitted to a running ``dagster dev`` with ``--submit``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database, release_database
from haier_pipeline.sandbox import SandboxOptions, run_sandbox
from support.dagster_dev import PROJECT_ROOT, dagster_dev, prepare_home
from support.pipeline import pipeline_env

pytestmark = pytest.mark.slow

HAIER_SYNC = str(Path(sys.executable).with_name("haier-sync"))
SUMMARY = re.compile(r"^(haier_\w+) run ([0-9a-f-]{36}): (\w+)$", re.MULTILINE)


def haier_sync(args: list[str], env: dict[str, str], home: Path) -> tuple[str, str, str]:
    """Run ``haier-sync`` with only ``env`` as HAIER_* settings; (job, run id, status) from its summary."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("HAIER_")}
    done = subprocess.run([HAIER_SYNC, *args], check=False, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=600,
                          env={**base, **env, "DAGSTER_HOME": str(home), "DAGSTER_DISABLE_TELEMETRY": "1"})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    [(job, run_id, status)] = SUMMARY.findall(done.stdout)
    return job, run_id, status


def log_of(url: str, run_id: str) -> dict[str, str]:
    log = tables.haier_sync_log
    with prepare_database(url).connect() as conn:
        rows = conn.execute(select(log.c.sync_type, log.c.status).where(log.c.run_id == run_id))
        return {r.sync_type: r.status for r in rows}


def count(url: str, table, *where) -> int:
    with prepare_database(url).connect() as conn:
        return len(conn.execute(select(table).where(*where)).all())


def test_each_flag_combination_launches_the_matching_job_with_its_scope(tmp_path, catalog_url):
    home = prepare_home(tmp_path / "dagster_home")
    with run_sandbox(SandboxOptions(products=100)) as sandbox:  # under 5 % malformed: blocking checks pass
        env = pipeline_env(sandbox, catalog_url, tmp_path, HAIER_IMAGE_ALLOW_PRIVATE_HOSTS="true")
        codes = sandbox.catalogue.listing_codes()

        job, run_id, status = haier_sync([], env, home)  # no flags: products only
        assert (job, status) == ("haier_products_sync", "SUCCESS")
        listing = log_of(catalog_url, run_id)  # the sandbox's deliberate malformed records make it 'partial'
        assert set(listing) == {"products"}
        assert count(catalog_url, tables.products) == len(codes) and count(catalog_url, tables.haier_raw_prices) == 0

        job, run_id, status = haier_sync(["--sync-prices"], env, home)
        # every sync lists products first (issue 14), so its listing row sits beside the price row
        assert (job, status, log_of(catalog_url, run_id)) == ("haier_price_sync", "SUCCESS",
                                                              {**listing, "prices": "success"})
        assert count(catalog_url, tables.haier_raw_prices) == len(codes)

        job, run_id, status = haier_sync(["--sync-stock", "--county-code", "310104"], env, home)
        assert (job, status, log_of(catalog_url, run_id)) == ("haier_stock_sync", "SUCCESS",
                                                              {**listing, "stock": "success"})
        stock = tables.product_stock.c
        in_county = count(catalog_url, tables.product_stock, stock.county_code == "310104")
        assert count(catalog_url, tables.product_stock) == in_county > 0

        job, run_id, status = haier_sync(["--sync-prices", "--sync-stock", "--county-code", "110101"], env, home)
        assert (job, status) == ("haier_full_sync", "SUCCESS")
        assert set(log_of(catalog_url, run_id)) == {"products", "prices", "stock", "images"}
        assert count(catalog_url, tables.product_stock, stock.county_code == "110101") > 0

        picked = codes[:2]
        job, run_id, status = haier_sync(["--product-codes", *picked, "--category", "测试分类", "--brand", "卡萨帝"],
                                         env, home)
        assert (job, status) == ("haier_products_sync", "SUCCESS")
        p, b, c = tables.products.c, tables.brands.c, tables.categories.c
        with prepare_database(catalog_url).connect() as conn:
            named = conn.execute(select(p.product_code, b.name, c.name)
                                 .join(tables.brands, p.brand_id == tables.brands.c.id)
                                 .join(tables.categories, p.category_id == tables.categories.c.id)
                                 .where(b.name == "卡萨帝", c.name == "测试分类")).all()
        assert sorted(row[0] for row in named) == sorted(picked)

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert [r.job_name for r in reversed(runs)] == ["haier_products_sync", "haier_price_sync", "haier_stock_sync",
                                                        "haier_full_sync", "haier_products_sync"]
        assert all(r.tags.get("haier/trigger") == "cli" for r in runs)
        assert runs[0].run_config["resources"]["sync_scope"]["config"] == {
            "product_codes": picked, "category": "测试分类", "brand": "卡萨帝"}
    release_database(catalog_url)


def test_submit_launches_on_a_running_instance_and_follows_the_run(tmp_path, catalog_url):
    with run_sandbox(SandboxOptions(products=100)) as sandbox:
        env = pipeline_env(sandbox, catalog_url, tmp_path, HAIER_IMAGE_ALLOW_PRIVATE_HOSTS="true")
        with dagster_dev(tmp_path / "dev_home", env) as server:
            job, run_id, status = haier_sync(["--submit", "--url", server.url], env, tmp_path / "client_home")
            assert (job, status) == ("haier_products_sync", "SUCCESS")
            listing = log_of(catalog_url, run_id)
            assert set(listing) == {"products"}
            job, run_id, status = haier_sync(["--submit", "--url", server.url, "--sync-stock",
                                              "--county-code", "110101"],
                                             env, tmp_path / "client_home")
            # the stock sync lists products first (issue 14): its listing row matches the products-only run's
            assert (job, status, log_of(catalog_url, run_id)) == ("haier_stock_sync", "SUCCESS",
                                                                  {**listing, "stock": "success"})
    release_database(catalog_url)
