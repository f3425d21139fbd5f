"""How every command of the project starts and fails, so a person meets one behaviour everywhere.

``haier-sync``, ``haier-track-order``, ``haier-sandbox``, ``python -m haier_pipeline.report`` and
``python -m haier_pipeline.check_settings`` (which ``scripts/full-sync.sh`` runs before Dagster) all
go through :func:`run`:

- ``.env`` in the working directory is read the way ``dagster`` reads it (Dagster's own
  ``get_env_var_dict``; a value in ``.env`` wins over the shell's, as under ``dagster job execute``);
- a bad argument or setting, an unreachable database or webserver ends with ONE line on stderr,
  ``<command>: <what> <what is wrong>``, and an exit code from :data:`EXIT_CODES`;
- a traceback only with ``--debug`` (or ``HAIER_DEBUG=1``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

import requests
from dagster._core.secrets.env_file import get_env_var_dict
from sqlalchemy.exc import DBAPIError

from haier_pipeline.resources.sync_scope import ScopeError
from haier_pipeline.settings import SettingsError

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_UNREACHABLE = 3
EXIT_CODES = {
    EXIT_OK: "done (a run: SUCCESS, or still going with --no-wait)",
    EXIT_RUN_FAILED: "the run failed or was canceled (the line after the status names the step or check)",
    EXIT_BAD_INPUT: "a bad argument or setting; nothing was run",
    EXIT_UNREACHABLE: "the catalogue database or the Dagster webserver could not be reached",
}
EPILOG = "exit codes: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items()) + \
    ". --debug shows the traceback of a failure."


class UsageError(ValueError):
    """A command-line argument is refused; the message names the argument."""


class Unreachable(RuntimeError):
    """A service the command needs (the catalogue database, a webserver) did not answer."""


class Parser(argparse.ArgumentParser):
    """``argparse`` with one-line errors (no usage block) and the shared ``--debug`` switch and exit codes."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("epilog", EPILOG)
        super().__init__(*args, **kwargs)
        self.add_argument("--debug", action="store_true", help="show the full traceback of a failure")

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (--help lists the arguments)", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def load_env_file(directory: str | None = None) -> list[str]:
    """Put ``.env`` of ``directory`` (default: the working directory) into ``os.environ``, as ``dagster`` does."""
    values = get_env_var_dict(directory or os.getcwd())
    os.environ.update(values)
    return sorted(values)


def one_line(error: BaseException) -> str:
    """The first line of an error's message (database drivers add hints and SQL on further lines)."""
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def run(prog: str, main: Callable[[list[str]], int], argv: Sequence[str] | None = None) -> int:
    """Run a command's ``main`` with ``.env`` loaded, turning known failures into one line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("HAIER_DEBUG", "").lower() in ("1", "true", "yes")
    load_env_file()
    try:
        return main(args)
    except (SettingsError, ScopeError, UsageError) as error:
        if debug:
            raise
        print(f"{prog}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DBAPIError as error:
        if debug:
            raise
        print(f"{prog}: the catalogue database could not be used: {one_line(error)}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except (Unreachable, requests.RequestException) as error:
        if debug:
            raise
        print(f"{prog}: {one_line(error)}", file=sys.stderr)
        return EXIT_UNREACHABLE
