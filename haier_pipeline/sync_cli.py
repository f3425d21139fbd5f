"""``haier-sync``: the original ``sync_haier_products`` flags, launching the matching Dagster job.

| flags | job (as the original's cron lines) |
|---|---|
| none | ``haier_products_sync`` — listing, brands, categories, products |
| ``--sync-prices`` | ``haier_price_sync`` |
| ``--sync-stock`` | ``haier_stock_sync`` |
| ``--sync-prices --sync-stock`` | ``haier_full_sync`` (images too) |

``--product-codes``, ``--category``, ``--brand`` and ``--county-code`` become the run's
``sync_scope`` config. By default the job runs in this process (recorded in ``$DAGSTER_HOME``'s
instance when set); ``--submit`` hands it to a running webserver over GraphQL (``launchRun``)
and follows it. Either way a short summary of the run's ``haier_sync_log`` rows is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import requests
from sqlalchemy import select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database

TRIGGER_TAG = "haier/trigger"
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
POLL_SECONDS = 1.0

LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on Error { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
RUN_STATUS = """
query Run($runId: ID!) { runOrError(runId: $runId) { __typename ... on Run { status } ... on Error { message } } }
"""


def job_for(sync_prices: bool, sync_stock: bool) -> str:
    """The job the original command's two switches amount to."""
    if sync_prices and sync_stock:
        return "haier_full_sync"
    if sync_prices:
        return "haier_price_sync"
    if sync_stock:
        return "haier_stock_sync"
    return "haier_products_sync"


def scope_config(args: argparse.Namespace) -> dict[str, Any]:
    """``sync_scope`` run config holding only the flags that were given."""
    config: dict[str, Any] = {}
    if args.product_codes:
        config["product_codes"] = list(args.product_codes)
    if args.category:
        config["category"] = args.category
    if args.brand:
        config["brand"] = args.brand
    if args.county_code:
        config["county_codes"] = list(args.county_code)
    return {"resources": {"sync_scope": {"config": config}}} if config else {}


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="haier-sync", description=__doc__.split("\n\n")[0],
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--product-codes", nargs="+", metavar="CODE", help="only these product codes (any number)")
    cli.add_argument("--category", help="put the synced products in this category")
    cli.add_argument("--brand", help="assign the synced products to this brand")
    cli.add_argument("--sync-prices", action="store_true", help="sync prices")
    cli.add_argument("--sync-stock", action="store_true", help="sync stock")
    cli.add_argument("--county-code", action="append", metavar="CODE",
                     help="district code for stock (repeatable; default HAIER_COUNTY_CODES)")
    cli.add_argument("--submit", action="store_true",
                     help="launch on a running Dagster webserver instead of in-process")
    cli.add_argument("--url", default="http://127.0.0.1:3000", help="the webserver for --submit")
    cli.add_argument("--location", default="haier_pipeline", help="code location name for --submit")
    cli.add_argument("--no-wait", action="store_true", help="with --submit: print the run id and return")
    cli.add_argument("--timeout", type=float, default=3600.0, help="with --submit: seconds to wait for the run")
    return cli


def run_in_process(job_name: str, run_config: dict[str, Any]) -> tuple[str, str]:
    import dagster as dg

    from haier_pipeline.definitions import defs

    job = defs.resolve_job_def(job_name)
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    with instance:
        result = job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False,
                                        tags={TRIGGER_TAG: "cli"})
    return result.run_id, "SUCCESS" if result.success else "FAILURE"


def graphql(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{url.rstrip('/')}/graphql", json={"query": query, "variables": variables}, timeout=60)
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise SystemExit(f"haier-sync: GraphQL errors from {url}: {body['errors']}")
    return body["data"]


def submit(args: argparse.Namespace, job_name: str, run_config: dict[str, Any]) -> tuple[str, str]:
    params = {
        "selector": {"repositoryLocationName": args.location, "repositoryName": "__repository__", "jobName": job_name},
        "runConfigData": run_config,
        "executionMetadata": {"tags": [{"key": TRIGGER_TAG, "value": "cli"}]},
    }
    launched = graphql(args.url, LAUNCH_RUN, {"params": params})["launchRun"]
    if launched["__typename"] != "LaunchRunSuccess":
        raise SystemExit(f"haier-sync: the webserver refused the run: {launched}")
    run_id, status = launched["run"]["runId"], launched["run"]["status"]
    print(f"submitted {job_name} as run {run_id} to {args.url}")
    deadline = time.monotonic() + args.timeout
    while not args.no_wait and status not in FINISHED:
        if time.monotonic() > deadline:
            raise SystemExit(f"haier-sync: run {run_id} still {status} after {args.timeout:g} s")
        time.sleep(POLL_SECONDS)  # following a run on another server: there is nothing to wait on but its status
        status = graphql(args.url, RUN_STATUS, {"runId": run_id})["runOrError"].get("status", status)
    return run_id, status


def print_summary(run_id: str) -> None:
    from haier_pipeline.settings import load_settings

    log = tables.haier_sync_log
    with prepare_database(load_settings().catalog_db_url).connect() as conn:
        rows = conn.execute(select(log).where(log.c.run_id == run_id).order_by(log.c.id)).mappings().all()
    for row in rows:
        duration = "—" if row["duration_seconds"] is None else f"{row['duration_seconds']:.1f} s"
        print(f"  {row['sync_type']:<9}{row['status']:<11}total={row['total_count']} ok={row['success_count']} "
              f"failed={row['failed_count']} duration={duration}  {(row['message'] or '')[:100]}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    job_name = job_for(args.sync_prices, args.sync_stock)
    run_config = scope_config(args)
    run_id, status = submit(args, job_name, run_config) if args.submit else run_in_process(job_name, run_config)
    print(f"{job_name} run {run_id}: {status}")
    if status in FINISHED:
        print_summary(run_id)
    return 0 if status in ("SUCCESS", "QUEUED", "NOT_STARTED", "STARTING", "STARTED") else 1


if __name__ == "__main__":
    sys.exit(main())
