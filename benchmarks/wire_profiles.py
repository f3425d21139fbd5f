"""The first full sync over a matrix of wire profiles: slow gateways, a CDN on its own host, faults.

    .venv/bin/python benchmarks/wire_profiles.py --products 5000 --repeats 3 --catalogs sqlite,postgresql
    .venv/bin/python benchmarks/wire_profiles.py --products 300 --repeats 1 --profiles 20ms,150ms   # a quick look

Each profile starts two sandbox processes: the gateway (lognormal answer times per endpoint, p99 = 4 × the
median, a 100 calls/s token bucket) and an image host on its own port (the same catalogue's pictures, its own
answer time; the gateway's listing points there). Then, per repeat and catalogue database, a bare one-asset
Dagster job is timed start to exit (``bare_dagster_job.py``), and the project's first full sync as a whole
process (``dagster job execute``, every good image checked stored, ``process_sync.py``). Reported per profile
(medians of the repeats):

- stock calls per second against the budget (``HAIER_RATE_LIMIT``) and the calls in flight reached;
- the image rate reached;
- the whole-process time minus the bare Dagster job of the same repeat, and its ratio to the API floor
  (gateway calls ÷ budget);
- for the fault profile, its time over the fault-free ``20ms`` profile's (run it in the same call);
- whether the catalogue is exact (every product, price and stock figure equal to the gateway's own data);
- with ``--original``, the original command's loop (``original_loop.py``) against the ``20ms`` gateway in the
  same repeat, and its time over ours.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import traceback
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from haier_pipeline.sandbox import FaultProfile, SandboxOptions, start_sandbox_process  # noqa: E402
from haier_pipeline.sandbox.wire import AnswerTime, WireProfile  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
COUNTY = "110101"
TAIL = 4.0  # p99 ÷ median of gateway answers


@dataclass(frozen=True)
class Profile:
    """One line of the matrix: the gateway's median answer time, the image host's, and faults on both."""

    gateway_s: float
    images_s: float
    faults: FaultProfile = field(default_factory=FaultProfile)


TEN_PERCENT = FaultProfile(error_rate=0.05, drop_rate=0.04, slow_rate=0.01, slow_seconds=1.0, include_images=True,
                           seed=11)
PROFILES = {
    "20ms": Profile(0.02, 0.02),
    "150ms": Profile(0.15, 0.04),
    "400ms": Profile(0.40, 0.05),
    "faults10": Profile(0.02, 0.02, TEN_PERCENT),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--products", type=int, default=300, help="catalogue size (default 300; the issue's target: 5000)")
    add("--repeats", type=int, default=1, help="first syncs per profile and catalogue; medians (default 1; target 3)")
    add("--profiles", default=",".join(PROFILES), help=f"comma-separated, of {', '.join(PROFILES)}")
    add("--catalogs", default="sqlite", help="comma-separated: sqlite, postgresql (default sqlite)")
    add("--rate-limit", type=float, default=100.0, help="the account's budget, calls/s (default 100)")
    add("--original", action="store_true", help="also run the original loop against the 20ms gateway, each repeat")
    add("--json-out", type=Path, default=None, help="default: benchmarks/results/<date>-wire-<products>.json")
    return parser.parse_args(argv)


def sandboxes(stack: ExitStack, profile: Profile, products: int, rate: float) -> Any:
    """The image host, then the gateway pointing its listing at it; returns the gateway."""
    image_wire = WireProfile({"images": AnswerTime(profile.images_s, 2.0)}, seed=5)
    images = stack.enter_context(start_sandbox_process(SandboxOptions(
        products=products, rate_limit=None, wire=image_wire, faults=profile.faults)))
    gateway_wire = WireProfile({"*": AnswerTime(profile.gateway_s, TAIL)}, seed=3)
    gateway_faults = FaultProfile(**{**profile.faults.to_dict(), "include_images": False})
    return stack.enter_context(start_sandbox_process(SandboxOptions(
        products=products, rate_limit=rate, wire=gateway_wire, faults=gateway_faults, image_host=images.base_url)))


def catalogue_exact(gateway: Any, catalog_url: str) -> str:
    """``"yes"``, or the first difference between the catalogue and the gateway's own data."""
    from support.pipeline import assert_catalogue_matches

    try:
        assert_catalogue_matches(catalog_url, gateway.catalogue, [COUNTY])
    except (AssertionError, KeyError) as difference:  # KeyError: a row the gateway holds is missing
        where = traceback.extract_tb(difference.__traceback__)[-1]
        return f"no: {type(difference).__name__} {str(difference)[:200]} (line {where.lineno}: {where.line})"
    return "yes"


def original_loop(gateway: Any, data: Path, repeat: int) -> dict[str, Any]:
    """The original command's loop, one product at a time, against the same gateway."""
    from benchmarks.original_loop import OriginalCredentials, run_original

    result = run_original(OriginalCredentials.from_env(gateway.env()), data / f"original-{repeat}.sqlite", COUNTY)
    return {"wall_s": round(result.wall_s, 2), "products": result.products, "failed": result.failed}


def _step_seconds(run: Any, step: str) -> float | None:
    start_end = run.steps.get(step)
    return round(start_end[1] - start_end[0], 2) if start_end else None


def one_run(gateway: Any, data: Path, catalog_url: str | None, rate: float) -> dict[str, Any]:
    from benchmarks.process_sync import run_first_sync, time_empty_run

    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    bare_s = time_empty_run(gateway, data / "process", COUNTY, logs, bare=True)
    run = run_first_sync(gateway, "threaded", data / "process", COUNTY, logs, catalog_url)
    fig = run.figures(rate)
    stock_flight = (run.stock.get("api_in_flight") or {}).get("stock", {})
    beyond = fig["wall_s"] - bare_s
    return {
        "exit_code": run.exit_code, "wall_s": fig["wall_s"], "bare_dagster_s": round(bare_s, 2),
        "beyond_bare_s": round(beyond, 2), "api_floor_s": fig["api_floor_s"],
        "beyond_bare_over_api_floor": round(beyond / fig["api_floor_s"], 3) if fig["api_floor_s"] else None,
        "stock_calls_per_s": run.stock.get("api_calls_per_second"),
        "stock_share_of_budget": round(float(run.stock.get("api_calls_per_second") or 0) / rate, 3),
        "stock_in_flight_reached": stock_flight.get("in_flight_reached"),
        "stock_baseline_ms": stock_flight.get("baseline_ms"), "stock_cuts": stock_flight.get("cuts"),
        "stock_p95_ms": run.stock.get("api_p95_latency_ms"), "stock_slots_missed": run.stock.get("api_slots_missed"),
        "stock_seconds": _step_seconds(run, "haier_raw_stock"),
        "image_rate": fig["image_rate_reached"], "images_fetched": fig["images_fetched"],
        "good_images": f"{run.good_images_stored}/{run.good_images_expected}", "answered_429": run.answered_429,
        "catalogue_exact": catalogue_exact(gateway, run.env["HAIER_CATALOG_DB_URL"]) if not run.exit_code else "no run",
        "load_average": run.load_average,
    }


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    numeric = ("wall_s", "bare_dagster_s", "beyond_bare_s", "api_floor_s", "beyond_bare_over_api_floor",
               "stock_calls_per_s", "stock_share_of_budget", "stock_in_flight_reached", "image_rate")
    return {key: statistics.median(float(run[key] or 0) for run in runs) for key in numeric}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the catalogue check's reader
    for name in [name for name in os.environ if name.startswith("HAIER_")]:
        del os.environ[name]
    os.environ["HAIER_RATE_LIMIT"] = f"{args.rate_limit:g}"
    chosen = [name.strip() for name in args.profiles.split(",") if name.strip()]
    catalogs = [name.strip() for name in args.catalogs.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in PROFILES]
    if unknown:
        print(f"wire_profiles: --profiles: unknown {unknown}", file=sys.stderr)
        return 2
    report: dict[str, Any] = {"config": {**vars(args), "json_out": None}, "started": datetime.now(UTC).isoformat(),
                              "load_average": os.getloadavg(), "runs": {}, "median": {}}
    with tempfile.TemporaryDirectory(prefix="haier-wire-") as scratch, ExitStack() as stack:
        from benchmarks.run import _postgres

        postgres = stack.enter_context(_postgres()) if "postgresql" in catalogs else None
        for name in chosen:
            with ExitStack() as servers:
                gateway = sandboxes(servers, PROFILES[name], args.products, args.rate_limit)
                for repeat in range(args.repeats):
                    for catalog in catalogs:
                        url = None
                        if catalog == "postgresql":
                            from support.postgres import create_database

                            url = create_database(postgres, f"wire_{name}_{repeat}")
                        label = f"{name}/{catalog}"
                        run = one_run(gateway, Path(scratch), url, args.rate_limit)
                        report["runs"].setdefault(label, []).append(run)
                        print(label, json.dumps(run), flush=True)
                    if args.original and name == "20ms":
                        loop = original_loop(gateway, Path(scratch), repeat)
                        report["runs"].setdefault("20ms/original loop", []).append(loop)
                        print("20ms/original loop", json.dumps(loop), flush=True)
        loops = report["runs"].pop("20ms/original loop", [])
        for label, runs in report["runs"].items():
            report["median"][label] = median_of(runs)
            report["median"][label]["catalogue_exact"] = all(run["catalogue_exact"] == "yes" for run in runs)
            report["median"][label]["good_images"] = [run["good_images"] for run in runs]
        if loops:
            report["original_loop"] = {"runs": loops, "wall_s": statistics.median(loop["wall_s"] for loop in loops)}
            for catalog in catalogs:
                ours = report["median"].get(f"20ms/{catalog}")
                if ours:
                    ours["original_over_ours"] = round(report["original_loop"]["wall_s"] / ours["wall_s"], 2)
        for catalog in catalogs:
            clean, faulty = report["median"].get(f"20ms/{catalog}"), report["median"].get(f"faults10/{catalog}")
            if clean and faulty:
                faulty["over_fault_free"] = round(faulty["wall_s"] / clean["wall_s"], 3)
    print("\nprofile/catalog        wall s  beyond bare s  ÷ API floor  stock calls/s (share)  in flight  images/s")
    for label, fig in report["median"].items():
        print(f"{label:<22} {fig['wall_s']:>6.1f} {fig['beyond_bare_s']:>13.1f}"
              f" {fig['beyond_bare_over_api_floor']:>12.2f}"
              f" {fig['stock_calls_per_s']:>10.1f} ({fig['stock_share_of_budget']:.2f})"
              f" {fig['stock_in_flight_reached']:>10.0f} {fig['image_rate']:>9.1f}"
              + f"  exact: {fig['catalogue_exact']}"
              + (f"  ×{fig['over_fault_free']} fault-free" if "over_fault_free" in fig else "")
              + (f"  original loop ÷ ours: {fig['original_over_ours']}×" if "original_over_ours" in fig else ""))
    if "original_loop" in report:
        print(f"original loop: {report['original_loop']['wall_s']:.1f} s (median)")
    out = args.json_out or RESULTS / f"{datetime.now(UTC):%Y-%m-%d}-wire-{args.products}.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
