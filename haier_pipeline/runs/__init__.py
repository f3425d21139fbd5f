"""Run bookkeeping: which runs are alive, the sync log each sync keeps, and the one rule for dead runs.

- ``liveness`` — run locks, reaping killed runs, closing the log rows they left open
- ``tracking`` — one ``haier_sync_log`` row per sync type per run, always closed
- ``closing`` — at a run's end, its products/prices/stock rows closed by what their steps did
- ``executor`` — the full sync's executor: independent steps at the same time, in threads of the run's process
- ``scrub`` — a refused ``sync_scope`` (a value equal to a secret) removed from the stored run
"""
