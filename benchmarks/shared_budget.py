"""Several processes calling through one account's budget: combined rate, worst one-second window, cost per call.

```bash
.venv/bin/python -m benchmarks.shared_budget                       # 30 s per case, 2 processes × 8 threads, 100/s
.venv/bin/python -m benchmarks.shared_budget --seconds 10 --pg-url postgresql+psycopg://…/db
```

Each case starts N worker processes that, from the same instant (``CLOCK_MONOTONIC`` is machine-wide),
call ``acquire()`` from 8 threads as fast as the budget lets them, each writing the time of every slot it
got to its own file. The parent merges the files and prints: calls, combined calls/s and its ratio to the
limit, the most calls in any one-second window (must never exceed the limit), the shortest gap and the
store's cost per call (median time of one store trip, queueing
behind this process's other threads included) and store trips per granted call. Cases:

- ``baseline`` — today's limiter before this change: pyrate-limiter's in-process GCRA (``StateBucket``,
  ``burst=1``), one process. It reached 0 × 429; it cannot be shared.
- ``gcra-file`` / ``gcra-pg`` — this project's shared GCRA (``haier_api/ratelimit.py``) on a file beside
  a SQLite catalogue and on PostgreSQL.
- ``pyrate-sqlite-window`` / ``pyrate-pg-window`` — pyrate-limiter's shared buckets with ``Rate(limit, 1 s)``:
  bursts at the start of a window.
- ``pyrate-sqlite-spaced`` / ``pyrate-pg-spaced`` — the same buckets with ``Rate(1, 1000/limit ms)``: spaced
  by polling; every miss costs a slot.

The pyrate cases need the ``filelock`` and ``psycopg-pool`` packages (test extra); without them they are
skipped. PostgreSQL cases need ``--pg-url``, or start a throwaway server with the tests' helper.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
THREADS = 8


@dataclass
class Figures:
    """What one case measured."""

    case: str
    processes: int
    calls: int
    seconds: float
    calls_per_second: float
    ratio_to_limit: float
    max_in_one_second: int
    min_gap_ms: float
    cost_per_call_us: float | None
    store_trips_per_call: float | None
    rate_after_kill: float | None = None


# --- the worker: one process, THREADS threads ------------------------------------------------------------

def _make_acquire(case: str, store: str, rate: float, account: str):  # type: ignore[no-untyped-def]
    """``(acquire, stats)``: a blocking acquire for the case, and its cost counters."""
    stats: dict[str, Any] = {"trips": 0, "durations": []}
    guard = threading.Lock()
    if case.startswith("gcra"):
        from haier_pipeline.haier_api.ratelimit import RateLimiter

        limiter = RateLimiter(rate, store=store, account=account)
        reserve = limiter._store.reserve

        def timed_reserve(spacing: float, max_wait: float) -> float | None:
            started = time.perf_counter()
            try:
                return reserve(spacing, max_wait)
            finally:
                with guard:
                    stats["trips"] += 1
                    stats["durations"].append(time.perf_counter() - started)

        limiter._store.reserve = timed_reserve  # type: ignore[method-assign]
        return limiter.acquire, stats
    from pyrate_limiter import GCRA, Limiter, Rate, SingleBucketFactory, StateBucket

    if case == "baseline":  # haier_api/ratelimit.py as it was: GCRA with burst=1, waiters queued on a lock
        spacing_us = int(-(-1_000_000 // rate))
        bucket = StateBucket([Rate(1000, spacing_us, burst=1)], algorithm=GCRA())
        limiter = Limiter(SingleBucketFactory(bucket, schedule_leak=False), buffer_ms=0)
        queue = threading.Lock()

        def queued() -> bool:
            with queue:
                return bool(limiter.try_acquire("haier", blocking=True))

        return queued, stats
    rates = [Rate(int(rate), 1000)] if case.endswith("window") else [Rate(1, int(round(1000 / rate)))]
    if case.startswith("pyrate-sqlite"):
        from pyrate_limiter import SQLiteBucket

        bucket = SQLiteBucket.init_from_file(rates, db_path=store, use_file_lock=True)
    else:
        from psycopg_pool import ConnectionPool
        from pyrate_limiter import PostgresBucket
        from sqlalchemy.engine import make_url

        url = make_url(store).set(drivername="postgresql").render_as_string(hide_password=False)
        bucket = PostgresBucket(ConnectionPool(url, min_size=1, max_size=THREADS, open=True), "haier", rates)
    put = bucket.put

    def counted_put(item: Any) -> Any:
        started = time.perf_counter()
        try:
            return put(item)
        finally:
            with guard:
                stats["trips"] += 1
                stats["durations"].append(time.perf_counter() - started)

    bucket.put = counted_put  # type: ignore[method-assign]
    limiter = Limiter(bucket, buffer_ms=0)
    return (lambda: bool(limiter.try_acquire("haier", blocking=True))), stats


def worker(case: str, store: str, rate: float, account: str, start_at: float, seconds: float, out: Path) -> None:
    """Call acquire from THREADS threads between ``start_at`` and ``start_at + seconds``; one line per slot."""
    acquire, stats = _make_acquire(case, store, rate, account)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    end = start_at + seconds
    time.sleep(max(0.0, start_at - time.monotonic()))

    def loop() -> None:
        while time.monotonic() < end:
            if acquire():
                stamp = time.monotonic()
                if stamp < end:
                    os.write(fd, f"{stamp:.6f}\n".encode())  # one write per slot: a SIGKILL loses none written

    threads = [threading.Thread(target=loop) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    os.write(fd, ("#" + json.dumps(stats) + "\n").encode())
    os.close(fd)


# --- the parent ---------------------------------------------------------------------------------------

def max_in_window(stamps: list[float], window: float = 1.0) -> int:
    """The most stamps in any half-open window ``[t, t + window)``."""
    best, first = 0, 0
    for last, stamp in enumerate(stamps):
        while stamps[first] <= stamp - window:
            first += 1
        best = max(best, last - first + 1)
    return best


def run_case(case: str, store: str, rate: float, seconds: float, processes: int = 2,
             kill_after: float | None = None, workdir: Path | None = None) -> Figures:
    """Run one case; with ``kill_after``, SIGKILL the last worker that many seconds in."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="budget-"))
    account = f"bench-{os.getpid()}-{time.monotonic_ns()}"
    start_at = time.monotonic() + 4.0 + processes  # imports finish before the shared start
    outs = [workdir / f"{case}-{n}.stamps" for n in range(processes)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
    children = [subprocess.Popen([sys.executable, "-m", "benchmarks.shared_budget", "worker", case, store, str(rate),
                                  account, repr(start_at), str(seconds), str(out)], cwd=PROJECT_ROOT, env=env,
                                 start_new_session=True) for out in outs]
    killed_at = None
    try:
        if kill_after is not None:
            time.sleep(max(0.0, start_at + kill_after - time.monotonic()))
            os.killpg(children[-1].pid, signal.SIGKILL)
            killed_at = time.monotonic()
        for child in children:
            child.wait(timeout=seconds + 120)
    finally:
        for child in children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
    stamps: list[float] = []
    trips, durations = 0, []
    for out in outs:
        for line in out.read_text().splitlines():
            if line.startswith("#"):
                stats = json.loads(line[1:])
                trips, durations = trips + stats["trips"], durations + stats["durations"]
            elif line:
                stamps.append(float(line))
    stamps.sort()
    if not stamps:
        raise RuntimeError(f"{case}: no calls were made")
    span = max(stamps[-1] - stamps[0], 1e-9)
    gaps = [later - earlier for earlier, later in zip(stamps, stamps[1:], strict=False)]
    after_kill = None
    if killed_at is not None:
        survivors = [stamp for stamp in stamps if stamp >= killed_at + 0.5]  # the victim's reserved slots pass first
        if len(survivors) > 1:
            after_kill = (len(survivors) - 1) / (survivors[-1] - survivors[0])
    return Figures(
        case=case, processes=processes, calls=len(stamps), seconds=round(span, 2),
        calls_per_second=round((len(stamps) - 1) / span, 2), ratio_to_limit=round((len(stamps) - 1) / span / rate, 4),
        max_in_one_second=max_in_window(stamps), min_gap_ms=round(min(gaps) * 1000, 3) if gaps else 0.0,
        cost_per_call_us=round(statistics.median(durations) * 1e6, 1) if durations else None,
        store_trips_per_call=round(trips / len(stamps), 2) if trips else None,
        rate_after_kill=round(after_kill, 2) if after_kill is not None else None,
    )


def _postgres_url(given: str | None):  # type: ignore[no-untyped-def]
    """(url, stop): the given server, or a throwaway one started with the tests' helper."""
    if given:
        return given, lambda: None
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    from contextlib import ExitStack

    from support.postgres import PostgresUnavailable, create_database, start_postgres

    stack = ExitStack()
    try:
        base = stack.enter_context(start_postgres())
    except PostgresUnavailable as error:
        print(f"PostgreSQL cases skipped: {error}")
        return None, stack.close
    return create_database(base, "budget_bench"), stack.close


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "worker":
        case, store, rate, account, start_at, seconds, out = args[1:8]
        worker(case, store, float(rate), account, float(start_at), float(seconds), Path(out))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--pg-url", default=None, help="a PostgreSQL database for the PostgreSQL cases")
    parser.add_argument("--cases", default="baseline,gcra-file,gcra-pg,pyrate-sqlite-window,pyrate-sqlite-spaced,"
                                            "pyrate-pg-window,pyrate-pg-spaced")
    parser.add_argument("--json-out", type=Path, default=None)
    options = parser.parse_args(args)
    workdir = Path(tempfile.mkdtemp(prefix="budget-"))
    cases = [case.strip() for case in options.cases.split(",") if case.strip()]
    pg_url, stop = _postgres_url(options.pg_url) if any("pg" in case for case in cases) else (None, lambda: None)
    results: list[Figures] = []
    try:
        for case in cases:
            if "pg" in case and pg_url is None:
                continue
            if case.startswith("pyrate") and not _has_pyrate_extras():
                print(f"{case}: skipped (pip install filelock psycopg-pool)")
                continue
            store = pg_url if "pg" in case else (
                f"sqlite:///{workdir / 'catalog.sqlite'}" if case.startswith("gcra") else str(workdir / f"{case}.db"))
            processes = 1 if case == "baseline" else options.processes
            figures = run_case(case, str(store), options.rate, options.seconds, processes, workdir=workdir)
            results.append(figures)
            print(_row(figures), flush=True)
    finally:
        stop()
    print()
    print(f"limit {options.rate:g} calls/s, {THREADS} threads per process, {options.seconds:g} s per case; "
          f"load average {os.getloadavg()[0]:.2f}")
    print("| case | processes | calls/s | ÷ limit | most in any 1 s | min gap ms | store µs/trip (median) "
          "| store trips/call |")
    print("|---|---|---|---|---|---|---|---|")
    for figures in results:
        print(_row(figures))
    if options.json_out:
        options.json_out.write_text(json.dumps([asdict(figures) for figures in results], indent=2))
    return 0


def _row(f: Figures) -> str:
    return (f"| {f.case} | {f.processes} | {f.calls_per_second} | {f.ratio_to_limit} | {f.max_in_one_second} | "
            f"{f.min_gap_ms} | {f.cost_per_call_us if f.cost_per_call_us is not None else '—'} | "
            f"{f.store_trips_per_call if f.store_trips_per_call is not None else '—'} |")


def _has_pyrate_extras() -> bool:
    try:
        import filelock  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
