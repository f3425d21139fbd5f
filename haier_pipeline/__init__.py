"""haier_pipeline: keeps a shop's product catalogue in step with Haier's open-platform API.

Plain packages — ``haier_api`` (the HTTP client), ``sandbox`` (a local Haier gateway), ``catalog``
(the database), ``media`` (product images) — sit under the Dagster layer: ``resources``, ``runs``
(run bookkeeping) and ``defs/<domain>`` (assets, checks, jobs, schedules, sensors), merged by
``definitions.py`` from the validated ``settings``.
"""
