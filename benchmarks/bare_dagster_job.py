"""A code location holding nothing of the project: one in-process job with one step that does nothing.

``dagster job execute`` of it is Dagster's own cost of a run process on this machine (interpreter
and Dagster start-up, the run's events in a fresh instance, exit), which the benchmark sets beside
the project's empty run and the full sync.
"""

from __future__ import annotations

import dagster as dg


@dg.op
def do_nothing() -> None:
    """The run's only step."""


@dg.job(executor_def=dg.in_process_executor)
def bare_empty_run() -> None:
    do_nothing()


defs = dg.Definitions(jobs=[bare_empty_run])
