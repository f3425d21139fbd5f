"""``python -m haier_pipeline.report``: where the last sync put its data, and what the sync log says."""

from __future__ import annotations

import sys
import textwrap

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database
from haier_pipeline.command import Parser, run
from haier_pipeline.settings import load_settings

REPORTED_TABLES = ("brands", "categories", "products", "product_stock", "media_images", "haier_sync_log")


def main(argv: list[str] | None = None) -> int:
    return run("haier_pipeline.report", report, argv)


def report(argv: list[str]) -> int:
    Parser(prog="haier_pipeline.report", description=__doc__).parse_args(argv)
    settings = load_settings()
    engine = prepare_database(settings.catalog_db_url)
    target = "the built-in sandbox (set HAIER_BASE_URL for Haier)" if settings.uses_sandbox else settings.base_url
    print(f"\nsynced from:      {target}")
    print(f"catalog database: {make_url(settings.catalog_db_url).render_as_string(hide_password=True)}")
    print(f"images:           {settings.media_root}")
    with engine.connect() as conn:
        for name in REPORTED_TABLES:
            table = tables.metadata.tables[name]
            count = conn.execute(select(func.count()).select_from(table)).scalar_one()
            print(f"  {name:<16}{count:>10} rows")
        log = tables.haier_sync_log
        rows = conn.execute(select(log).order_by(log.c.id.desc()).limit(5)).mappings().all()
    print("latest sync log rows:")
    for row in rows:
        message = textwrap.shorten(row["message"] or "", width=100, placeholder=" …")
        print(f"  #{row['id']} {row['sync_type']:<9}{row['status']:<10}"
              f"total={row['total_count']} ok={row['success_count']} failed={row['failed_count']} {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
