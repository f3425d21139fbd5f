"""Health: the original system's monitoring targets, checked, alerted on and summarised.

Plain logic lives in small modules (``thresholds``, ``uptime``, ``disk``, ``probe``, ``channels``,
``settings``); the Dagster parts in ``checks`` (asset checks on the raw syncs), ``sensors`` (API
health, queued runs) and ``overview`` (the ``sync_overview`` asset).
"""
