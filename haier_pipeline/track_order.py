"""``haier-track-order``: add retail order codes to ``tracked_orders`` so their logistics are followed.

    haier-track-order SO.20190106.000003 [--delivery-record SO.20190106.000003.F1] [--member-id 42]
    haier-track-order --list

The catalog database is ``HAIER_CATALOG_DB_URL`` (migrated on first use). Within a minute
``haier_tracked_orders_sensor`` turns each new code into an ``order_codes`` partition and polls
it; ``haier_logistics_poll_hourly`` then re-polls it until it is delivered.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.engine import make_url

from haier_pipeline.catalog.engine import prepare_database
from haier_pipeline.catalog.orders import track_orders, tracked_orders_by_code
from haier_pipeline.command import EXIT_BAD_INPUT, Parser, run
from haier_pipeline.settings import load_settings


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="haier-track-order",
                                     description="Follow the logistics of Haier retail orders.")
    parser.add_argument("order_codes", nargs="*", metavar="ORDER_CODE", help="order code(s), e.g. SO.20190106.000003")
    parser.add_argument("--delivery-record",
                        help="only this delivery record (e.g. SO.20190106.000003.F1); one order code only")
    parser.add_argument("--member-id", type=int, help="Haier member id (integer), sent with the logistics query")
    parser.add_argument("--list", action="store_true", help="show the tracked orders and their state")
    return parser


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def main(argv: Sequence[str] | None = None) -> int:
    return run("haier-track-order", track, argv)


def track(argv: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.order_codes and not args.list:
        parser.error("give at least one ORDER_CODE, or --list")
    if args.delivery_record and len(args.order_codes) != 1:
        parser.error("--delivery-record needs exactly one ORDER_CODE")
    settings = load_settings()
    where = make_url(settings.catalog_db_url).render_as_string(hide_password=True)
    engine = prepare_database(settings.catalog_db_url)
    if args.order_codes:
        try:
            with engine.begin() as conn:
                added = track_orders(conn, args.order_codes, datetime.now(UTC), args.delivery_record, args.member_id)
        except ValueError as error:
            print(f"haier-track-order: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        for code in dict.fromkeys(code.strip() for code in args.order_codes):
            print(f"{code}: {'now tracked' if code in added else 'already tracked'}")
        print(f"catalog: {where}")
    if args.list:
        with engine.begin() as conn:
            orders = tracked_orders_by_code(conn)
        print(f"{len(orders)} tracked order(s) in {where}")
        for order in orders.values():
            state = f"delivered {_when(order.delivered_at)}" if order.delivered_at else "in transit"
            print(f"  {order.order_code}  {state}  last polled {_when(order.last_polled_at)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
