"""A throwaway PostgreSQL 15 server for tests: started on a free loopback port, removed afterwards.

PostgreSQL refuses to run as root, so under root the data directory belongs to the
``postgres`` user (``nobody`` if absent) and every server command runs as that user via
``runuser``. Readiness is polled with ``pg_isready`` against a deadline, never a fixed sleep.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_BIN = Path(os.environ.get("HAIER_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
READY_TIMEOUT = 60.0


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL binaries are missing or the server would not start."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_user() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresUnavailable("running as root, but neither a 'postgres' nor a 'nobody' user exists")


def _run(args: list[str], user: pwd.struct_passwd | None, **kwargs) -> subprocess.CompletedProcess:
    command = ["runuser", "-u", user.pw_name, "--", *args] if user else args
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


def _wait_ready(port: int, data: Path, user: pwd.struct_passwd | None, log: Path, deadline: float) -> None:
    isready = str(PG_BIN / "pg_isready") if (PG_BIN / "pg_isready").exists() else "pg_isready"
    while time.monotonic() < deadline:
        probe = _run([isready, "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-t", "1"], user, timeout=10)
        if probe.returncode == 0:
            return
        status = _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "status"], user, timeout=10)
        if probe.returncode == 3 or status.returncode == 3:
            break  # bad probe parameters, or the server process is gone: waiting longer will not help
        time.sleep(0.1)  # poll interval between readiness probes, bounded by the deadline
    detail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no server log)"
    raise PostgresUnavailable(f"PostgreSQL did not become ready on port {port}: {detail}")


@contextmanager
def start_postgres(attempts: int = 3) -> Iterator[str]:
    """Run a fresh server; yield ``postgresql+psycopg://postgres@127.0.0.1:PORT/``; stop and delete it after."""
    if not (PG_BIN / "initdb").exists():
        raise PostgresUnavailable(f"no PostgreSQL binaries in {PG_BIN}")
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="haier-pg-"))
    data, log = root / "data", root / "server.log"
    try:
        if user:
            os.chown(root, user.pw_uid, user.pw_gid)
        init = _run([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                     "--no-sync", "--locale=C"], user, timeout=120)
        if init.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {init.stderr[-2000:]}")
        port = _start(data, log, root, user, attempts)
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/"
        finally:
            _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "stop", "-m", "fast", "-w", "-t", "60"], user, timeout=90)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _start(data: Path, log: Path, root: Path, user: pwd.struct_passwd | None, attempts: int) -> int:
    last: Exception | None = None
    for _ in range(attempts):
        port = free_port()  # another process may grab it before the server binds: retry on a new one
        options = (f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off -c synchronous_commit=off "
                   f"-c full_page_writes=off -c max_connections=100")
        started = _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-W", "start"],
                       user, timeout=60)
        if started.returncode != 0:
            last = PostgresUnavailable(f"pg_ctl start failed: {started.stderr[-2000:]}")
            continue
        try:
            _wait_ready(port, data, user, log, time.monotonic() + READY_TIMEOUT)
            return port
        except PostgresUnavailable as exc:
            last = exc
            _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "stop", "-m", "immediate", "-w"], user, timeout=60)
            log.unlink(missing_ok=True)
    raise last or PostgresUnavailable("PostgreSQL did not start")


def create_database(base_url: str, name: str, template: str | None = None) -> str:
    """Create database ``name`` on the server at ``base_url`` (a copy of database ``template``); return its URL."""
    for given in (name, template or "t"):
        if not given.replace("_", "").isalnum():
            raise ValueError(f"database name must be letters, digits and underscores: {given!r}")
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = create_engine(make_url(base_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    finally:
        admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)
