"""``python -m haier_pipeline.check_settings``: validate the ``HAIER_*`` settings (``.env`` included) and exit.

``scripts/full-sync.sh`` runs it before ``dagster job execute``: a bad setting then ends in one line
naming it (exit code 2) instead of Dagster's code-location traceback.
"""

from __future__ import annotations

import sys

from haier_pipeline.command import Parser, run
from haier_pipeline.settings import load_settings


def check(argv: list[str]) -> int:
    Parser(prog="haier_pipeline.check_settings", description=__doc__).parse_args(argv)
    load_settings()
    return 0


def main(argv: list[str] | None = None) -> int:
    return run("haier_pipeline.check_settings", check, argv)


if __name__ == "__main__":
    sys.exit(main())
