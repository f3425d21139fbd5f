"""Long-lived PostgreSQL sessions that carry state: the catalogue's locks and the shared call budget.

A lock that lives in a session is only as good as the session: a firewall or NAT that silently drops an
idle TCP connection, or a server's ``idle_session_timeout``, would free it while the run still believes it
holds it. So every such session asks for TCP keepalives (a dead peer is noticed in about a minute, not after
the kernel's two hours) and turns the server's idle-session timeout off for itself.

They must reach the server directly (or through a session-mode pooler): a transaction-mode pooler such as
PgBouncer in ``pool_mode = transaction`` hands each transaction to whichever server session is free, so a
session-level advisory lock or ``application_name`` would belong to someone else's session a moment later.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, create_engine, exc, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}


def session_connect_args(application_name: str) -> dict[str, Any]:
    """libpq connection arguments for a stateful session named ``application_name`` (63 bytes at most)."""
    return {**KEEPALIVES, "application_name": application_name[:63]}


def open_session(url: str | URL, application_name: str) -> Connection:
    """A connection of its own (never pooled), in autocommit, with keepalives and no idle-session timeout."""
    engine = create_engine(make_url(url), poolclass=NullPool, connect_args=session_connect_args(application_name))
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        # PostgreSQL 14+; older servers have no idle-session timeout to turn off.
        conn.execute(text("SELECT set_config('idle_session_timeout', '0', false) "
                          "WHERE current_setting('server_version_num')::int >= 140000"))
    except exc.DBAPIError:
        close_session(conn)
        raise
    return conn


def close_session(conn: Connection) -> None:
    """Close the session (freeing whatever it held on the server) and its private engine."""
    try:
        conn.close()
    finally:
        conn.engine.dispose()
