"""Run a sync in a child process that a test can SIGKILL at a chosen point.

Two ways to start one:

- ``spawn_sync(env, home)`` — ``python -m support.sync_process``: the child imports the
  project, prints ``ready``, waits for ``go`` on stdin, then executes the job in-process
  against the Dagster instance in ``home`` (``DAGSTER_HOME``) with the run id the parent chose.
  Start the next child while the current one runs and its ~7 s of imports are paid in parallel.
- ``spawn_sync(env, home, cli=True)`` — ``dagster job execute -m haier_pipeline.definitions``,
  exactly as a user runs it (no ``go`` gate, run id chosen by Dagster).

Kill points are chosen by watching progress the way an operator could (sandbox call counts,
rows in the catalog, files under the media root) with :meth:`SyncChild.wait_until`; there is
no hook inside the project's code. Output goes to files (a full pipe would stall the child).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]
PROJECT_ROOT = TESTS_DIR.parent
POLL_SECONDS = 0.01
READY = "ready"


@dataclass
class SyncChild:
    """A sync running in a child process (its own session, so a kill takes every process it started)."""

    process: subprocess.Popen
    run_id: str | None
    log_path: Path
    gated: bool
    started_at: float = field(default_factory=time.monotonic)
    ready: bool = False

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Block until the gated child has imported everything and waits for ``go``."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while not self.ready and time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.strip() == READY:
                self.ready = True
                return
            if not line and self.process.poll() is not None:
                raise RuntimeError(f"sync child died before it was ready:\n{self.output()[-3000:]}")
        if not self.ready:
            raise TimeoutError("sync child not ready in time")

    def go(self) -> None:
        """Let a gated child start its run now."""
        assert self.gated and self.process.stdin is not None
        self.wait_ready()
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        self.started_at = time.monotonic()

    def wait_until(self, condition: Callable[[], bool], timeout: float = 120.0) -> bool:
        """Poll ``condition`` until it holds (True) or the child exits first (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            if self.process.poll() is not None:
                return condition()
            time.sleep(POLL_SECONDS)
        raise TimeoutError(f"kill point not reached in {timeout} s and the sync is still running")

    def kill(self) -> None:
        """SIGKILL the child and everything in its session; no handler, no clean-up runs."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        self._close_pipes()

    def finish(self, timeout: float = 300.0) -> int:
        """Wait for the child to end by itself; its exit code."""
        code = self.process.wait(timeout=timeout)
        self._close_pipes()
        return code

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _close_pipes(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


def child_env(env: Mapping[str, str], home: Path) -> dict[str, str]:
    """This process's environment minus its HAIER_* settings, plus ``env``, a Dagster home and no telemetry."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("HAIER_")}
    python_path = os.pathsep.join(filter(None, [str(TESTS_DIR), base.get("PYTHONPATH")]))
    return {**base, **env, "DAGSTER_HOME": str(home), "DAGSTER_DISABLE_TELEMETRY": "1", "PYTHONPATH": python_path}


def prepare_home(home: Path) -> Path:
    """A Dagster home with the project's instance settings (telemetry off, run retries, concurrency)."""
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text((PROJECT_ROOT / "dagster.yaml").read_text())
    return home


def spawn_sync(env: Mapping[str, str], home: Path, log_path: Path, *, job: str = "haier_full_sync",
               cli: bool = False, run_config: Mapping | None = None) -> SyncChild:
    """Start a sync child (see the module docstring); gated children wait for :meth:`SyncChild.go`."""
    prepare_home(home)
    handle = log_path.open("w")
    if cli:
        command = [str(Path(sys.executable).with_name("dagster")), "job", "execute", "-m", "haier_pipeline.definitions",
                   "-j", job]
        run_id = None
    else:
        run_id = str(uuid.uuid4())
        command = [sys.executable, "-m", "support.sync_process", job, run_id, json.dumps(run_config or {})]
    try:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=child_env(env, home),
            text=True,
            start_new_session=True,
            stdin=subprocess.DEVNULL if cli else subprocess.PIPE,
            stdout=handle if cli else subprocess.PIPE,
            stderr=handle,
        )
    finally:
        handle.close()
    return SyncChild(process, run_id, log_path, gated=not cli)


def _child_main(argv: list[str]) -> int:
    """The gated child: import, say ``ready``, wait for ``go``, execute the job with the given run id."""
    job, run_id, run_config = argv[0], argv[1], json.loads(argv[2])
    import dagster as dg

    from haier_pipeline.definitions import build_definitions
    from haier_pipeline.settings import load_settings

    job_def = build_definitions(load_settings()).resolve_job_def(job)
    instance = dg.DagsterInstance.get()
    print(READY, flush=True)
    if sys.stdin.readline().strip() != "go":
        return 3
    os.dup2(2, 1)  # from here on stdout joins the log file: nobody reads the pipe any more
    result = job_def.execute_in_process(instance=instance, run_id=run_id, run_config=run_config or None,
                                        raise_on_error=False)
    print(json.dumps({"run_id": result.run_id, "success": result.success}), flush=True)
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
