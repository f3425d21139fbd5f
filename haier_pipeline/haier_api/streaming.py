"""Run many calls on a thread pool with a bounded in-flight window, yielding results as they finish.

Inputs are pulled lazily: 100 000 stock pairs never become 100 000 futures,
and the consumer can work on early results while later calls are in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


def stream(executor: Executor, work: Callable[[In], Out], inputs: Iterable[In], window: int) -> Generator[Out, None,
                                                                                                          None]:
    """``work(item)`` for every input on ``executor``, at most ``window`` at a time, in completion order.

    Closing the iterator early cancels the calls not yet started.
    """
    if window < 1:
        raise ValueError("window must be >= 1")
    pending: set[Future[Out]] = set()
    try:
        for item in inputs:
            pending.add(executor.submit(work, item))
            if len(pending) >= window:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    finally:
        for future in pending:
            future.cancel()
