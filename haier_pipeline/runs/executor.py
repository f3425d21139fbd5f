"""An executor that runs a run's independent steps at the same time, in threads of one process.

Why not Dagster's two built-in executors: the in-process executor runs one step at a time, so
``product_images`` (image hosts) waited for ``haier_raw_stock`` (the gateway) although neither
needs the other; the multiprocess executor runs them side by side but pays a process per step
(about 3 s each on a 2-core machine, and still the cost of importing the project once more with
``forkserver`` preloading) and gives each step its own HTTP client, so two gateway steps would
each spend the whole 100 calls/s budget. Here every step shares the run's resources — one
client, one rate limiter — and starting a step costs a thread.

Scheduling is Dagster's own (``ActiveExecution``): a step starts when its upstream steps are
done, at most ``max_concurrent`` at once, ``tag_concurrency_limits`` and ``dagster/priority``
honoured, pools claimed through the instance as the in-process executor does. By default,
steps tagged ``haier/gateway`` run one at a time (they share one rate-limited client, so
overlapping them adds nothing and would blur each step's call figures), prices first.

``execute_in_process`` (tests, the benchmark's in-process phases) swaps in Dagster's own
in-process executor, so those runs are sequential as before.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import dagster as dg
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.api import ExecuteRunWithPlanIterable
from dagster._core.execution.compute_logs import create_compute_log_file_key
from dagster._core.execution.context.system import PlanExecutionContext, PlanOrchestrationContext
from dagster._core.execution.context_creation_job import PlanExecutionContextManager
from dagster._core.execution.plan.active import ActiveExecution
from dagster._core.execution.plan.execute_plan import _trigger_hook, dagster_event_sequence_for_step
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode
from dagster._core.executor.base import Executor

from haier_pipeline.constants import GATEWAY_TAG

DEFAULT_TAG_LIMITS: list[dict[str, Any]] = [{"key": GATEWAY_TAG, "limit": 1}]
DEFAULT_MAX_CONCURRENT = 8
_POLL_S = 0.05


class ThreadedExecutor(Executor):
    """Runs ready steps concurrently in a thread pool of the run's process (see the module docstring)."""

    def __init__(self, retries: RetryMode, max_concurrent: int, tag_concurrency_limits: list[dict[str, Any]]) -> None:
        self._retries = retries
        self.max_concurrent = max_concurrent
        self.tag_concurrency_limits = tag_concurrency_limits

    @property
    def retries(self) -> RetryMode:
        return self._retries

    def execute(self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan) -> Iterator[DagsterEvent]:
        yield DagsterEvent.engine_event(
            plan_context,
            f"Executing up to {self.max_concurrent} steps at once in threads of process {os.getpid()}",
            event_specific_data=EngineEventData.in_process(os.getpid(), execution_plan.step_keys_to_execute),
        )
        yield from iter(ExecuteRunWithPlanIterable(
            execution_plan=plan_context.execution_plan,
            iterator=self._iterate,
            execution_context_manager=PlanExecutionContextManager(
                job=plan_context.job, retry_mode=plan_context.retry_mode, execution_plan=plan_context.execution_plan,
                run_config=plan_context.run_config, dagster_run=plan_context.dagster_run,
                instance=plan_context.instance,
                raise_on_error=plan_context.raise_on_error, output_capture=plan_context.output_capture,
            ),
        ))

    def _iterate(self, job_context: PlanExecutionContext, execution_plan: ExecutionPlan) -> Iterator[DagsterEvent]:
        with ExitStack() as stack:
            concurrency = stack.enter_context(InstanceConcurrencyContext(job_context.instance, job_context.dagster_run))
            active = stack.enter_context(ActiveExecution(
                execution_plan, retry_mode=job_context.retry_mode, max_concurrent=self.max_concurrent,
                tag_concurrency_limits=self.tag_concurrency_limits, instance_concurrency_context=concurrency,
            ))
            logs = job_context.instance.compute_log_manager
            step_keys = [step.key for step in execution_plan.get_steps_to_execute_in_topo_order()]
            log_key = logs.build_log_key_for_run(job_context.run_id, create_compute_log_file_key())
            log_context = stack.enter_context(logs.capture_logs(log_key))
            yield DagsterEvent.capture_logs(job_context, step_keys, log_key, log_context)
            pool = stack.enter_context(ThreadPoolExecutor(self.max_concurrent, thread_name_prefix="dagster-step"))
            yield from _run_steps(job_context, active, pool, self.max_concurrent)


_DONE = object()


def _run_steps(job_context: PlanExecutionContext, active: ActiveExecution, pool: ThreadPoolExecutor,
               max_concurrent: int) -> Iterator[DagsterEvent]:
    """Start every ready step in the pool; relay each step's events, in order, from this (the run's) thread."""
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    running: dict[str, tuple[Any, list[DagsterEvent]]] = {}
    while not active.is_complete or running:
        if not active.is_complete:
            for step in active.get_steps_to_execute(limit=max_concurrent - len(running)):
                step_context = job_context.for_step(step, active.get_known_state())
                running[step.key] = (step_context, [])
                pool.submit(_step_events, step.key, step_context, events)
            yield from active.concurrency_event_iterator(job_context)
        if not running:
            active.sleep_til_ready()
            continue
        try:
            key, item = events.get(timeout=_POLL_S)
        except queue.Empty:
            continue
        step_context, step_events = running[key]
        if isinstance(item, DagsterEvent):
            step_events.append(item)
            yield item
            active.handle_event(item)
            continue
        del running[key]
        if isinstance(item, BaseException):
            raise item
        active.verify_complete(job_context, key)
        for event in active.plan_events_iterator(job_context):
            step_events.append(event)
            yield event
        yield from _trigger_hook(step_context, step_events)


def _step_events(key: str, step_context: Any, events: queue.Queue[tuple[str, Any]]) -> None:
    threading.current_thread().name = f"dagster-step {key}"
    try:
        for event in dagster_event_sequence_for_step(step_context):
            events.put((key, event))
        events.put((key, _DONE))
    except BaseException as exc:  # noqa: BLE001 - handed to the run's thread, which raises it
        events.put((key, exc))


@dg.executor(
    name="threaded",
    config_schema={
        "max_concurrent": dg.Field(int, default_value=DEFAULT_MAX_CONCURRENT, description="Steps running at once."),
        "tag_concurrency_limits": dg.Field(
            list, is_required=False,
            description="Like the multiprocess executor's: at most `limit` running steps per op tag key/value. "
                        f"Default: steps tagged `{GATEWAY_TAG}` one at a time.",
        ),
        "retries": dg.Field(dict, default_value={"enabled": {}},
                            description="Step retries: {enabled: {}} or {disabled: {}}."),
    },
)
def threaded_executor(init_context: dg.InitExecutorContext) -> ThreadedExecutor:
    """Independent steps at the same time, in threads of the run's process (module docstring)."""
    config: dict[str, Any] = dict(init_context.executor_config)
    return ThreadedExecutor(
        retries=RetryMode.from_config(config["retries"]) or RetryMode.ENABLED,
        max_concurrent=max(1, int(config["max_concurrent"])),
        tag_concurrency_limits=list(config.get("tag_concurrency_limits") or DEFAULT_TAG_LIMITS),
    )
