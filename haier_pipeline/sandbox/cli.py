"""``haier-sandbox``: run the local Haier gateway from a shell.

    haier-sandbox --port 8900 --products 5000 [--latency 0.02] [--rate-limit 100] [--seed 0] [--error-rate 0.05]

Credentials: the sandbox takes them from the same ``HAIER_*`` variables the project reads
(``HAIER_CLIENT_ID``, ``HAIER_CLIENT_SECRET``, ``HAIER_CUSTOMER_CODE``, ``HAIER_SEND_TO_CODE``,
``HAIER_SUPPLIER_CODE``, ``HAIER_PASSWORD``, ``HAIER_SELLER_PASSWORD``, ``HAIER_CUSTOMER_PASSWORD``),
so one shell environment serves both sides. Any that are unset get a default: fixed codes, and fresh
random secrets that are printed once, as ``export`` lines, for you to paste into the project's
shell. Secrets that came from your environment are not printed unless ``--print-secrets``.

The first line printed is the base URL alone (``--port 0`` picks a free port; scripts read it);
``export`` lines for every ``HAIER_*`` setting follow. Stop with Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

from haier_pipeline.command import EXIT_BAD_INPUT, Parser, run
from haier_pipeline.haier_api.endpoints import PATHS

from .options import (
    CREDENTIAL_ENV,
    SECRET_FIELDS,
    FaultProfile,
    SandboxOptions,
    credentials_from_env,
)
from .server import make_server
from .styles import DISCOUNTS, FLAGS, NUMBERS, ROUNDINGS, AnswerStyle
from .wire import WireProfile


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="haier-sandbox", description="A local Haier open-platform gateway.")
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    add("--port", type=int, default=8900, help="port; 0 picks a free one (default 8900)")
    add("--products", type=int, default=500, help="catalogue size (default 500)")
    add("--seed", type=int, default=0, help="catalogue seed (default 0)")
    add("--generation", type=int, default=0, help="starting catalogue generation (default 0)")
    add("--changes", choices=("all", "prices"), default="all", help="what each advance changes (default all)")
    add("--numbers", choices=NUMBERS, default="number",
        help="BigDecimal fields as JSON numbers, as strings, or mixed (mixed also sends stock/hours as integers)")
    add("--discount", choices=DISCOUNTS, default="rate", help="stockRebatePolicy as a rate or an amount (default rate)")
    add("--flags", choices=FLAGS, default="string", help='flags as "1"/"0" strings or 1/0 numbers (default string)')
    add("--rounding", choices=ROUNDINGS, default="half_up", help="how invoice prices are rounded (default half_up)")
    add("--latency", type=float, default=0.0, help="seconds added to every business call")
    add("--rate-limit", type=float, default=100.0, help="business calls per second; 0 disables (default 100)")
    add("--token-lifetime", type=float, default=3600.0, help="token lifetime in seconds (default 3600)")
    add("--token-path", choices=("auth", "token", "both"), default="both", help="where tokens are served")
    add("--token-shape", choices=("standard", "token", "data"), default="standard", help="token answer shape")
    add("--envelope", choices=("mixed", "always", "never"), default="mixed", help="which answers are enveloped")
    for name in ("error", "drop", "html-error", "app-error", "burst-429", "slow"):
        add(f"--{name}-rate", type=float, default=0.0, help=f"share of business calls that get the {name} fault")
    add("--slow-seconds", type=float, default=2.0, help="delay of a slow call (default 2)")
    add("--fault-seed", type=int, default=0, help="seed of the fault dice (default 0)")
    add("--fault-endpoint", action="append", choices=tuple(PATHS), default=[], metavar="ENDPOINT",
        help=f"faults hit only this business endpoint (repeat for more; default all): {', '.join(PATHS)}")
    add("--faults-on-token", action="store_true", help="let faults hit the token endpoint too")
    add("--faults-on-images", action="store_true", help="let drops, 5xx and slow answers hit image requests too")
    add("--answer-time", action="append", default=[], metavar="ENDPOINT=MEDIAN[:TAIL]",
        help="lognormal answer time of an endpoint (products, prices, stock, logistics, balances, images; * for "
             "the other gateway endpoints): median seconds and p99/median, e.g. stock=0.15:4 (repeatable)")
    add("--knee", type=int, default=0, help="business calls in flight served at once; more queue (default 0: none)")
    add("--wire-seed", type=int, default=0, help="seed of the answer-time draws (default 0)")
    add("--image-host", default="", help="base URL that product image URLs point to (default: this sandbox)")
    add("--print-secrets", action="store_true", help="also print secrets taken from your environment")
    return parser


def options_from_args(args: argparse.Namespace, env: Mapping[str, str]) -> SandboxOptions:
    faults = FaultProfile(
        endpoints=tuple(args.fault_endpoint),
        error_rate=args.error_rate, drop_rate=args.drop_rate, html_error_rate=args.html_error_rate,
        app_error_rate=args.app_error_rate, burst_429_rate=args.burst_429_rate, slow_rate=args.slow_rate,
        slow_seconds=args.slow_seconds, include_token=args.faults_on_token,
        include_images=args.faults_on_images, seed=args.fault_seed,
    )
    return SandboxOptions.from_env(
        env, products=args.products, seed=args.seed, generation=args.generation, changes=args.changes,
        latency=args.latency, wire=WireProfile.parse(args.answer_time, args.knee, args.wire_seed),
        rate_limit=args.rate_limit or None, token_lifetime=args.token_lifetime, token_path=args.token_path,
        token_shape=args.token_shape, envelope=args.envelope, faults=faults, host=args.host, port=args.port,
        image_host=args.image_host.rstrip("/"),
        style=AnswerStyle(numbers=args.numbers, discount=args.discount, flags=args.flags, rounding=args.rounding),
    )


def banner(options: SandboxOptions, base_url: str, from_env: set[str], print_secrets: bool) -> list[str]:
    """The lines printed at start: the base URL, then ``export`` lines for the project's shell."""
    lines = [base_url, f"# Haier sandbox: {options.products} products, seed {options.seed}, "
             f"latency {options.latency} s, rate limit {options.rate_limit or 'off'}/s, "
             f"token path {options.token_path}", f"# answer style: {options.style.describe()}",
             "# demo data: with these lines the project writes to data/sandbox/ (a gateway on this machine is a "
             "sandbox), never data/haier/"]
    names = {var: name for name, var in CREDENTIAL_ENV.items()}
    for var, value in options.env(base_url).items():
        name = names.get(var)
        if name in SECRET_FIELDS and name in from_env and not print_secrets:
            lines.append(f"# {var}: taken from your environment (not printed; --print-secrets shows it)")
        else:
            note = "  # generated for this run" if name in SECRET_FIELDS and name not in from_env else ""
            lines.append(f"export {var}={shlex.quote(value)}{note}")
    return lines


def _stop(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    return run("haier-sandbox", serve, argv)


def serve(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        options = options_from_args(args, os.environ)
    except ValueError as exc:
        print(f"haier-sandbox: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    server = make_server(options)
    from_env = set(credentials_from_env(os.environ))
    print("\n".join(banner(options, server.base_url, from_env, args.print_secrets)), flush=True)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # A handler woken by an arriving call waits at most ~1 ms (not the default 5 ms) for each thread holding
    # the GIL: the gateway's clock, and its answers, stay close to the wire when many connections are busy.
    sys.setswitchinterval(0.001)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
