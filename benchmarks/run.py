"""Benchmark the full sync against a rate-limited sandbox, and the original loop beside it.

    .venv/bin/python benchmarks/run.py --products 2000 [--latency 0.02] [--rate-limit 100] [--counties 1]
    .venv/bin/python benchmarks/run.py --products 2000 --process-runs 3 --executors threaded,in_process,multiprocess \
        --skip-in-process-phases          # the first full sync as a whole process, per executor, and the original loop

**First full sync as a whole process** (``process_sync.py``; ``--process-runs N`` per executor, default 3):
``dagster job execute`` in its own process from start to exit, images included and every good image
checked stored, against an empty catalog, media folder and Dagster home each time. It is compared
with the API floor (gateway calls ÷ rate) and with max(API floor, images ÷ the image rate the run
reached); the median of the runs is reported per executor (``--executors``: ``threaded`` — the
project's — ``in_process``, ``multiprocess`` with a preloading forkserver), with the load average
at each run's start.

Starts the sandbox in its own process (so it does not share this process's GIL) with the given
latency per call and rate limit, then runs, against a fresh SQLite catalog and an ephemeral Dagster
instance, the ``haier_full_sync`` job minus ``product_images`` (in-process executor):

1. a full sync of products, prices and stock into an empty catalog;
2. an unchanged re-sync (must write zero catalog rows);
3. a re-sync after the sandbox moved 5 % of its prices (and nothing else);
4. ``product_images`` on its own, for ``--image-products`` products (image hosts are not the gateway);
5. the original Django command's loop (``original_loop.py``) at the same size, or at
   ``--original-products`` and extrapolated linearly (labelled so).

For each sync it prints the wall time, the rate-limit floor (gateway calls the sandbox answered ÷
rate), their ratio, calls made, API calls/s, products/minute, peak RSS, DB write time, the non-API
share and the 429s the sandbox answered; results go to ``benchmarks/results/<date>-<products>.json``
with the git commit and machine.

**Non-API time** is the wall time minus the time the pipeline's thread spent blocked in ``next()``
on the client's result iterators (``pipeline_sync.measure_api_wait``): that wait is the rate
limiter's spacing plus whatever call latency the thread pool did not hide. What is left is
everything the pipeline itself costs: Dagster's run and step start-up and event bookkeeping,
parsing, diffing, DB writes (raw payloads and catalog tables), metadata. Writes that overlap
fetching still count as non-API, so the figure is an upper bound on what could be saved.

**Peak RSS** is ``ru_maxrss`` of this process (the sandbox runs in another), so it only grows:
each phase reports the peak so far. **DB write time** is the raw assets' ``db_write_seconds``
plus the catalog assets' whole durations (they only read raw rows and write catalog rows).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ALL_COUNTIES = ("110101", "310104", "440305", "510107", "330106", "420106", "320106", "370202")
RESULTS = Path(__file__).resolve().parent / "results"
RAW_NAMES = ("haier_raw_products", "haier_raw_prices", "haier_raw_stock")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--products", type=int, default=2000, help="catalogue size (default 2000)")
    add("--latency", type=float, default=0.02, help="sandbox seconds per business call (default 0.02)")
    add("--rate-limit", type=float, default=100.0, help="calls per second, sandbox and client (default 100)")
    add("--counties", type=int, default=1, choices=range(1, len(ALL_COUNTIES) + 1), metavar="N",
        help="counties to sync stock for (default 1)")
    add("--repeat", type=int, default=1, help="run the first full sync this many times and print medians")
    add("--skip-resync", action="store_true", help="skip the unchanged and 5%%-prices re-syncs")
    add("--skip-original", action="store_true", help="skip the original loop")
    add("--skip-images", action="store_true", help="skip the images pass")
    add("--original-products", type=int, default=None, help="cap the original loop and extrapolate to --products")
    add("--image-products", type=int, default=200, help="products whose images the images pass fetches (default 200)")
    add("--process-runs", type=int, default=3, help="whole-process first syncs per executor (default 3; 0 skips)")
    add(
        "--executors", default="threaded", help="comma-separated: threaded, in_process, multiprocess (default threaded)"
    )
    add("--catalogs", default="sqlite",
        help="comma-separated catalog databases for the whole-process runs: sqlite, postgresql (a throwaway "
             "PostgreSQL 15 server, an empty database per run; default sqlite)")
    add("--screenshot", action="store_true",
        help="after the last whole-process run, save its run page (the UI's timeline) as benchmarks/results/"
             "<date>-run-view-<products>.png, from a read-only webserver over that run's Dagster home")
    add("--image-host", choices=("nginx", "sandbox"), default="nginx",
        help="who serves the images: nginx from files rendered beforehand, as a CDN would (default; needs "
             "/usr/sbin/nginx), or the sandbox drawing each one when asked")
    add("--skip-in-process-phases", action="store_true",
        help="skip the in-process full sync, re-syncs and images pass (phases 1-4)")
    add(
        "--json-out",
        type=Path,
        default=None,
        help="where to write the JSON (default benchmarks/results/<date>-<n>.json)",
    )
    return parser.parse_args(argv)


def prepare_environment(args: argparse.Namespace, data: Path) -> tuple[str, ...]:
    """Drop the caller's HAIER_* settings; counties must be set before the project is imported."""
    for name in [name for name in os.environ if name.startswith("HAIER_")]:
        del os.environ[name]
    counties = ALL_COUNTIES[: args.counties]
    os.environ.update({"HAIER_COUNTY_CODES": ",".join(counties), "DAGSTER_DISABLE_TELEMETRY": "1",
                       "HAIER_DATA_DIR": str(data), "HAIER_MEDIA_ROOT": str(data / "media"),
                       "HAIER_CATALOG_DB_URL": f"sqlite:///{data / 'catalog.sqlite'}",
                       "HAIER_RATE_LIMIT": f"{args.rate_limit:g}",
                       # the project is imported before the sandbox's address is known: consent to a sandbox here
                       "HAIER_SANDBOX": "1"})
    return counties


def sync_figures(run: Any, served: Any, rate: float, products: int) -> dict[str, Any]:
    from benchmarks.environment import peak_rss_mib

    calls = served.total_calls
    floor = calls / rate
    return {
        "wall_s": round(run.wall_s, 2),
        "floor_s": round(floor, 2),
        "ratio": round(run.wall_s / floor, 3) if floor else None,
        "calls": calls,
        "calls_by_endpoint": dict(served.calls),
        "calls_per_s": round(calls / run.wall_s, 1),
        "products": products,
        "products_per_minute": round(products * 60 / run.wall_s),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "db_write_s": round(run.db_write_s, 2),
        "api_wait_s": round(run.api_wait_s, 2),
        "non_api_s": round(run.wall_s - run.api_wait_s, 2),
        "non_api_share": round((run.wall_s - run.api_wait_s) / run.wall_s, 4),
        "answered_429": served.answered_429,
        "max_codes_per_call": served.max_product_codes,
        "max_in_flight": served.max_in_flight,
        "api_mean_latency_ms": {name: run.number(name, "api_mean_latency_ms") for name in RAW_NAMES},
        "catalog_rows_written": run.catalog_rows_written,
        "catalog_write_statements": run.catalog_write_statements,
        "write_statements_by_table": dict(run.write_statements),
        "step_seconds": {key: round(value, 2) for key, value in run.step_seconds.items()},
    }


def print_sync(label: str, fig: dict[str, Any]) -> None:
    print(f"\n== {label}")
    print(f"  wall {fig['wall_s']:.2f} s | floor {fig['floor_s']:.2f} s ({fig['calls']} gateway calls / rate) | "
          f"ratio {fig['ratio']:.3f}")
    print(f"  calls {fig['calls_by_endpoint']} | {fig['calls_per_s']:.1f} calls/s | "
          f"{fig['products_per_minute']:,} products/min | 429s answered {fig['answered_429']}")
    print(
        f"  client mean latency ms {fig['api_mean_latency_ms']} | max in flight at the sandbox {fig['max_in_flight']}"
    )
    print(f"  peak RSS {fig['peak_rss_mib']:.0f} MiB | DB write {fig['db_write_s']:.2f} s | "
          f"non-API {fig['non_api_s']:.2f} s = {fig['non_api_share']:.1%} of wall")
    print(f"  catalog rows written {fig['catalog_rows_written']} in {fig['catalog_write_statements']} statements | "
          f"steps {fig['step_seconds']}")


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Field-wise median of numeric figures (the first run's value for everything else)."""
    merged = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            merged[key] = statistics.median(run[key] for run in runs)
    return merged


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = Path(tempfile.mkdtemp(prefix="haier-bench-"))
    counties = prepare_environment(args, data)

    from benchmarks.environment import git_commit, machine_info
    from benchmarks.image_host import static_image_host
    from benchmarks.pipeline_sync import SYNC_ASSETS, run_sync
    from haier_pipeline.catalog.engine import release_database
    from haier_pipeline.definitions import build_definitions
    from haier_pipeline.sandbox import SandboxOptions, start_sandbox_process
    from haier_pipeline.sandbox.catalogue import Catalogue
    from haier_pipeline.settings import load_settings

    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "commit": git_commit(),
        "machine": machine_info(),
        "config": {"products": args.products, "latency_s": args.latency, "rate_limit": args.rate_limit,
                   "counties": list(counties), "repeat": args.repeat, "executor": "in_process"},
    }
    report["machine"]["load_average_at_start"] = [round(value, 2) for value in os.getloadavg()]
    print(f"benchmark: {args.products:,} products, {len(counties)} county(ies), latency {args.latency * 1000:g} ms, "
          f"{args.rate_limit:g} calls/s | commit {report['commit']} | load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    with ExitStack() as stack:
        image_host, good_images = "", None
        if args.image_host == "nginx":
            static_host = stack.enter_context(static_image_host(Catalogue(args.products, seed=0), data))
            image_host, good_images = static_host.base_url, static_host.good
        report["config"]["image_host"] = args.image_host
        options = SandboxOptions(products=args.products, latency=args.latency, rate_limit=args.rate_limit,
                                 changes="prices", image_host=image_host)
        sandbox = stack.enter_context(start_sandbox_process(options))
        os.environ.update(sandbox.env())
        os.environ.pop("HAIER_SANDBOX", None)  # a gateway address now: no sandbox consent needed (or allowed)
        settings = load_settings()
        defs = build_definitions(settings)
        catalog_url = settings.catalog_db_url

        def sync(label: str, key: str) -> dict[str, Any]:
            sandbox.reset_stats()
            run = run_sync(defs, "haier_full_sync", SYNC_ASSETS, catalog_url)
            fig = sync_figures(
                run, sandbox.stats(), args.rate_limit, int(run.number("haier_raw_products", "records_stored"))
            )
            print_sync(label, fig)
            report[key] = fig
            return fig

        if args.process_runs:
            report["first_sync_process"] = run_process_syncs(args, sandbox, data, counties[0], good_images)
        firsts = []
        for attempt in range(args.repeat if not args.skip_in_process_phases else 0):
            if attempt:  # each repeat starts from an empty catalog again
                release_database(catalog_url)
                for path in data.glob("catalog.sqlite*"):
                    path.unlink()
            firsts.append(sync(f"full sync #{attempt + 1} (empty catalog)", "full_sync"))
        if args.repeat > 1:
            report["full_sync_runs"] = firsts
            report["full_sync"] = median_of(firsts)
            print_sync(f"full sync: median of {args.repeat}", report["full_sync"])
        if not args.skip_resync and not args.skip_in_process_phases:
            sync("unchanged re-sync", "unchanged_resync")
            sandbox.advance()  # changes="prices": about 5 % of prices move, nothing else
            sync("re-sync after 5% of prices changed", "prices_resync")
        if not args.skip_images and not args.skip_in_process_phases:
            report["images"] = run_images(defs, sandbox, catalog_url, args.image_products)
        if not args.skip_original:
            report["original"] = run_original_loop(args, sandbox, data, counties[0], report)
    release_database(catalog_url)
    shutil.rmtree(data, ignore_errors=True)
    report["machine"]["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    out = args.json_out or RESULTS / f"{datetime.now(UTC):%Y-%m-%d}-{args.products}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\nresults written to {out}")
    return 0


def run_images(defs: Any, sandbox: Any, catalog_url: str, count: int) -> dict[str, Any]:
    from sqlalchemy import select

    from benchmarks.pipeline_sync import run_sync
    from haier_pipeline.catalog.tables import products
    from haier_pipeline.resources import CatalogResource

    with CatalogResource(db_url=catalog_url).begin() as conn:
        codes = list(conn.execute(select(products.c.product_code).order_by(products.c.id).limit(count)).scalars())
    config = {"resources": {"sync_scope": {"config": {"product_codes": codes}}}}
    figures = {}
    for label in ("first", "again"):
        run = run_sync(defs, "haier_full_sync", ["product_images"], catalog_url, run_config=config)
        meta = run.metadata["product_images"]
        figures[label] = {key: meta.get(key) for key in ("products_seen", "image_urls", "downloaded", "reused",
                                                           "deduplicated", "rejected", "http_requests",
                                                           "bytes_downloaded", "images_per_second",
                                                           "megabytes_per_second", "duration_seconds")}
        fig = figures[label]
        print(f"\n== images ({label} pass, {len(codes)} products, image hosts, not the gateway): "
              f"{fig['images_per_second']} images/s | {fig['megabytes_per_second']} MB/s | "
              f"downloaded {fig['downloaded']} | reused {fig['reused']} | rejected {fig['rejected']} | "
              f"{fig['duration_seconds']} s")
    return figures


def run_process_syncs(args: argparse.Namespace, sandbox: Any, data: Path, county: str,
                      good_images: dict[str, str] | None = None) -> dict[str, Any]:
    """The first full sync as a user runs it, ``--process-runs`` times per executor and catalog; medians of each."""
    from benchmarks.process_sync import run_first_sync, time_empty_run

    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict[str, Any]]] = {}
    catalogs = [name.strip() for name in args.catalogs.split(",") if name.strip()]
    with ExitStack() as stack:
        postgres = stack.enter_context(_postgres()) if "postgresql" in catalogs else None
        for attempt in range(args.process_runs):
            bare_s = time_empty_run(sandbox, data / "process", county, logs, bare=True)
            empty_run_s = time_empty_run(sandbox, data / "process", county, logs)
            print(f"\n== empty runs #{attempt + 1}, one step that does nothing, start to exit: Dagster alone "
                  f"{bare_s:.2f} s, this project's code location {empty_run_s:.2f} s")
            for executor in [name.strip() for name in args.executors.split(",") if name.strip()]:
                for catalog in catalogs:
                    label = executor if catalogs == ["sqlite"] else f"{executor}/{catalog}"
                    url = None
                    if catalog == "postgresql":
                        from support.postgres import create_database

                        url = create_database(postgres, f"bench_{attempt}_{executor}")
                    run = run_first_sync(sandbox, executor, data / "process", county, logs, url, good_images)
                    if run.exit_code != 0:
                        raise RuntimeError(f"{label} first sync exited {run.exit_code}; log: "
                                           f"{sorted(logs.glob('*'))[-1].read_text()[-3000:]}")
                    fig = run.figures(args.rate_limit)
                    fig["catalog"] = catalog
                    fig["bare_dagster_run_s"] = round(bare_s, 2)
                    fig["empty_run_s"] = round(empty_run_s, 2)
                    fig["empty_run_plus_api_floor_s"] = round(empty_run_s + fig["api_floor_s"], 2)
                    fig["beyond_empty_run_over_api_floor"] = round(
                        (fig["wall_s"] - empty_run_s) / fig["api_floor_s"], 3
                    )
                    if fig["good_images_stored"] != fig["good_images_expected"]:
                        raise RuntimeError(f"{label}: {fig['good_images_stored']} of {fig['good_images_expected']} "
                                           "good images stored")
                    runs.setdefault(label, []).append(fig)
                    print_process_run(label, attempt, fig)
                    last = run
    screenshot = None
    if args.screenshot and runs:
        from benchmarks.run_view_screenshot import screenshot_finished_run

        screenshot = RESULTS / f"{datetime.now(UTC):%Y-%m-%d}-run-view-{args.products}.png"
        screenshot_finished_run(Path(last.home), last.env, last.run_id, screenshot)
        print(f"run view of {last.run_id} saved to {screenshot}")
    medians = {label: median_of(figures) for label, figures in runs.items()}
    for label, fig in medians.items():
        print(
            f"\n== first full sync, whole process, {label}: median of {len(runs[label])}: wall {fig['wall_s']:.2f} s, "
            f"×{fig['wall_over_api_floor']:.3f} the API floor, ×{fig['wall_over_max_floor']:.3f} max(API, images) floor"
        )
        print(f"   1.3 × the API floor is {1.3 * fig['api_floor_s']:.2f} s; the API floor plus an empty run is "
              f"{fig['api_floor_s'] + fig['bare_dagster_run_s']:.2f} s with Dagster alone, "
              f"{fig['empty_run_plus_api_floor_s']:.2f} s with this project; the sync beyond its empty run takes "
              f"×{fig['beyond_empty_run_over_api_floor']:.3f} the API floor")
    ratios = {label.split("/")[0]: round(fig["wall_s"] / medians[label.replace("postgresql", "sqlite")]["wall_s"], 3)
              for label, fig in medians.items() if label.endswith("/postgresql")
              and label.replace("postgresql", "sqlite") in medians}
    for executor, ratio in ratios.items():
        print(f"== PostgreSQL ÷ SQLite catalog, whole first sync ({executor}): ×{ratio}")
    return {"runs": runs, "median": medians, "postgresql_over_sqlite": ratios,
            "screenshot": str(screenshot.relative_to(RESULTS.parents[1])) if screenshot else None}


def _postgres() -> Any:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from support.postgres import start_postgres

    return start_postgres()


def print_process_run(label: str, attempt: int, fig: dict[str, Any]) -> None:
    print(f"\n== first full sync, whole process, {label} #{attempt + 1} (load {fig['load_average'][0]:.1f})")
    print(f"  wall {fig['wall_s']:.2f} s | API floor {fig['api_floor_s']:.2f} s (×{fig['wall_over_api_floor']:.3f}) | "
          f"max(API floor, images ÷ {fig['image_rate_reached']:g}/s) {fig['max_floor_s']:.2f} s "
          f"(×{fig['wall_over_max_floor']:.3f}) | beyond the empty run ({fig['empty_run_s']:.2f} s) "
          f"×{fig['beyond_empty_run_over_api_floor']:.3f} the API floor")
    print(f"  start-up {fig['startup_s']} s | run {fig['run_s']} s | exit {fig['exit_after_run_s']} s | "
          f"images {fig['images_fetched']} fetched, {fig['good_images_stored']}/{fig['good_images_expected']} good "
          f"stored | images ∥ stock {fig['images_overlap_stock_s']} s | step process start "
          f"{fig['mean_step_worker_start_s']} s | 429s {fig['answered_429']}")
    stock = fig.get("stock") or {}
    print(f"  stock: {stock.get('api_calls')} calls at {stock.get('api_calls_per_second')}/s, "
          f"{stock.get('api_slots_missed')} budget slots missed (caller woke too late) | image worker processes "
          f"{(fig.get('images') or {}).get('worker_processes')}")


def run_original_loop(args: argparse.Namespace, sandbox: Any, data: Path, county: str, report: dict) -> dict[str, Any]:
    from benchmarks.original_loop import OriginalCredentials, run_original

    cap = args.original_products if args.original_products else None
    sandbox.reset_stats()
    result = run_original(OriginalCredentials.from_env(sandbox.env()), data / "original.sqlite", county, cap)
    served = sandbox.stats()
    listed_total = report["full_sync"]["products"] if "full_sync" in report else args.products
    scale = (listed_total / result.products) if cap and result.products else 1.0
    wall = result.wall_s * scale
    process = report.get("first_sync_process", {}).get("median", {})
    ours = process.get("threaded", {}).get("wall_s") or report["full_sync"]["wall_s"]
    label = f"original loop ({result.products:,} products" + (
        f", extrapolated ×{scale:.2f} to {listed_total:,.0f})" if cap else ")"
    )
    fig = {
        "products_run": result.products, "failed": result.failed, "calls": served.total_calls,
        "wall_s_measured": round(result.wall_s, 2), "extrapolated": bool(cap), "wall_s": round(wall, 2),
        "products_per_minute": round(result.products * 60 / result.wall_s) if result.wall_s else None,
        "calls_per_s": round(served.total_calls / result.wall_s, 1) if result.wall_s else None,
        "db_write_s": round(result.db_s * scale, 2), "answered_429": served.answered_429,
        "ratio_original_over_ours": round(wall / ours, 2),
    }
    print(f"\n== {label}")
    print(
        f"  wall {fig['wall_s']:.2f} s"
        f"{' (extrapolated; measured ' + str(fig['wall_s_measured']) + ' s)' if cap else ''} | "
        f"{served.total_calls} calls | {fig['calls_per_s']} calls/s | {fig['products_per_minute']:,} products/min | "
        f"DB {fig['db_write_s']:.2f} s | 429s {fig['answered_429']} | failed {fig['failed']}"
    )
    print(f"  original ÷ ours = {fig['ratio_original_over_ours']:.2f}×")
    return fig


if __name__ == "__main__":
    sys.exit(main())
