"""haier_pipeline: keeps a shop's product catalogue in step with Haier's open-platform API.

The package is split by architectural role: ``haier_api`` (the HTTP client),
``sandbox`` (a local Haier gateway), ``catalog`` (the database), ``media``
(product images), ``assets`` (Dagster assets and checks) and ``automation``
(jobs, schedules, sensors).
"""
