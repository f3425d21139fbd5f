"""Run ``dagster dev`` (webserver + daemon) for a test, and talk to it over GraphQL.

The server gets its own ``DAGSTER_HOME`` (the project's ``dagster.yaml`` copied in), a free
loopback port checked just before start, telemetry off, and its own session: it is started
with default signal handlers restored, so SIGTERM to the process group stops the webserver,
the daemon and the code servers together. Readiness is polled on the GraphQL endpoint against
a deadline, and tied to this process: the instance answering must be the one in our
``DAGSTER_HOME``, and our code location must have loaded.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from haier_pipeline.sync_submit import FINISHED, LAUNCH_RUN  # the one launch text: haier-sync --submit sends it too

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOCATION_NAME = "haier_pipeline"
READY_TIMEOUT = 240.0
# A test's server has nothing left to save when it is stopped: SIGTERM gets the group a short grace, then
# SIGKILL. ``dagster dev`` itself would wait 60 s for a webserver that keeps a browser's connection open.
STOP_GRACE = 5.0
POLL_INTERVAL = 0.5
# The test homes' run queue is checked every second (Dagster's default is 5 s): queued runs start as soon
# as a slot frees. The queue's limits stay the project's own, from its dagster.yaml.
TEST_RUN_COORDINATOR = """
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
"""

WORKSPACE_QUERY = """
query {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
  }
}
"""
RUN_STATUS = """
query Run($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId status }
    ... on PythonError { message }
    ... on RunNotFoundError { message }
  }
}
"""
RUN_FAILURES = """
query Failures($runId: ID!) {
  logsForRun(runId: $runId) {
    __typename
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message }
        ... on ExecutionStepFailureEvent { error { message } }
        ... on EngineEvent { error { message } }
      }
    }
  }
}
"""


class DagsterDevError(RuntimeError):
    """``dagster dev`` did not start, or a GraphQL call was refused; the message includes its log tail."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def prepare_home(home: Path) -> Path:
    """A fresh DAGSTER_HOME with the project's instance config."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    return home


def prepare_daemon_home(home: Path) -> Path:
    """:func:`prepare_home` with the run queue checked every second, for a home a live daemon serves."""
    prepare_home(home)
    with (home / "dagster.yaml").open("a") as config:
        config.write(TEST_RUN_COORDINATOR)
    return home


@dataclass
class DagsterDev:
    """A running ``dagster dev``: its URL, home, log file and process."""

    url: str
    home: Path
    log_path: Path
    process: subprocess.Popen

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None, timeout: float = 30.0) -> dict[str, Any]:
        response = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": dict(variables or {})}, timeout=timeout
        )
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise DagsterDevError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def launch_run(self, job_name: str, run_config: Mapping[str, Any] | None = None,
                   tags: Mapping[str, str] | None = None) -> str:
        params: dict[str, Any] = {
            "selector": {
                "repositoryLocationName": LOCATION_NAME,
                "repositoryName": "__repository__",
                "jobName": job_name,
            },
            "runConfigData": dict(run_config or {}),
        }
        if tags:
            params["executionMetadata"] = {"tags": [{"key": key, "value": value} for key, value in tags.items()]}
        result = self.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise DagsterDevError(f"launchRun refused: {result}")
        return result["run"]["runId"]

    def run_status(self, run_id: str) -> str:
        result = self.graphql(RUN_STATUS, {"runId": run_id})["runOrError"]
        if result["__typename"] != "Run":
            raise DagsterDevError(f"runOrError: {result}")
        return result["status"]

    def wait_for_run(self, run_id: str, timeout: float) -> str:
        """Poll until the run finishes or ``timeout`` passes; return its final status."""
        deadline = time.monotonic() + timeout
        status = self.run_status(run_id)
        while status not in FINISHED:
            if time.monotonic() > deadline:
                raise DagsterDevError(f"run {run_id} still {status} after {timeout:.0f} s\n{self.log_tail()}")
            if self.process.poll() is not None:
                raise DagsterDevError(f"dagster dev exited ({self.process.returncode}) while run {run_id} was {status}")
            time.sleep(POLL_INTERVAL)  # polling an external server's state, not synchronising threads
            status = self.run_status(run_id)
        return status

    def run_failure_messages(self, run_id: str) -> list[str]:
        events = self.graphql(RUN_FAILURES, {"runId": run_id})["logsForRun"].get("events", [])
        return [
            (event.get("error") or {}).get("message") or event.get("message", "")
            for event in events
            if event["__typename"] in ("ExecutionStepFailureEvent", "RunFailureEvent") or event.get("error")
        ]


def _location_loaded(server: DagsterDev, location_name: str = LOCATION_NAME) -> bool:
    workspace = server.graphql(WORKSPACE_QUERY)["workspaceOrError"]
    for entry in workspace.get("locationEntries", []):
        if entry["name"] != location_name or entry["loadStatus"] != "LOADED":
            continue
        located = entry["locationOrLoadError"] or {}
        if located.get("__typename") == "PythonError":
            raise DagsterDevError(f"code location failed to load: {located.get('message')}\n{server.log_tail()}")
        return located.get("__typename") == "RepositoryLocation"
    return False


def _answers_for_our_home(server: DagsterDev) -> bool:
    info = server.graphql("query { instance { info } }")["instance"]["info"] or ""
    return str(server.home) in info


def wait_until_ready(server: DagsterDev, timeout: float = READY_TIMEOUT, location_name: str = LOCATION_NAME) -> None:
    """Poll GraphQL until our instance answers and our code location has loaded."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise DagsterDevError(f"dagster dev exited with {server.process.returncode}\n{server.log_tail()}")
        try:
            if _answers_for_our_home(server) and _location_loaded(server, location_name):
                return
        except (requests.RequestException, ValueError, KeyError) as exc:
            last_error = exc
        time.sleep(POLL_INTERVAL)  # the server is another process: poll it
    raise DagsterDevError(
        f"dagster dev not ready after {timeout:.0f} s (last error: {last_error})\n{server.log_tail()}"
    )


def stop(server: DagsterDev, timeout: float = STOP_GRACE) -> int:
    """SIGTERM the whole process group and wait ``timeout``; SIGKILL it if it has not stopped by then."""
    if server.process.poll() is None:
        try:
            os.killpg(server.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            server.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=timeout)
    # Children that outlived the leader (code servers) share its group: make sure they are gone.
    try:
        os.killpg(server.process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return server.process.returncode


def dagster_command(name: str, *args: str) -> list[str]:
    """A Dagster console script of this virtualenv with its arguments."""
    return [str(Path(sys.executable).with_name(name)), *args]


@contextmanager
def dagster_process(
    home: Path, env: Mapping[str, str], command: list[str], port: int, log_name: str,
    ready_timeout: float = READY_TIMEOUT, location_name: str = LOCATION_NAME,
) -> Iterator[DagsterDev]:
    """Run a Dagster server ``command`` (listening on 127.0.0.1:``port``) with ``home`` as DAGSTER_HOME."""
    if not port_is_free(port):
        raise DagsterDevError(f"port {port} was taken before the server could start")
    log_path = home / log_name
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("HAIER_")}
    child_env = {
        **inherited,  # the test's own HAIER_* settings only: nothing leaks in from the shell
        **env,
        "DAGSTER_HOME": str(home),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "PYTHONUNBUFFERED": "1",
    }
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=child_env, stdout=log_file, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, restore_signals=True,
        )
    server = DagsterDev(url=f"http://127.0.0.1:{port}", home=home, log_path=log_path, process=process)
    try:
        wait_until_ready(server, ready_timeout, location_name)
        yield server
    finally:
        stop(server)


@contextmanager
def dagster_dev(home: Path, env: Mapping[str, str], ready_timeout: float = READY_TIMEOUT) -> Iterator[DagsterDev]:
    """Start ``dagster dev`` on a free loopback port with ``home`` as DAGSTER_HOME; stop it on exit."""
    prepare_daemon_home(home)
    port = free_port()
    command = dagster_command(
        "dagster", "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)
    )
    with dagster_process(home, env, command, port, "dagster-dev.log", ready_timeout) as server:
        yield server


@contextmanager
def read_only_webserver(
    home: Path, env: Mapping[str, str], ready_timeout: float = READY_TIMEOUT
) -> Iterator[DagsterDev]:
    """A ``dagster-webserver --read-only`` on a free loopback port over an existing DAGSTER_HOME."""
    port = free_port()
    command = dagster_command("dagster-webserver", "--read-only", "-w", str(PROJECT_ROOT / "workspace.yaml"),
                              "-h", "127.0.0.1", "-p", str(port))
    with dagster_process(home, env, command, port, "webserver-read-only.log", ready_timeout) as server:
        yield server
