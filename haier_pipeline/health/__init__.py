"""Health: the original system's monitoring targets and the API's pulse, as plain logic.

``thresholds`` (the targets and how a sync's figures are judged), ``uptime`` (the health sensor's
30-day counts), ``probe`` (one token + one-product listing check). The Dagster parts live in
``haier_pipeline.defs.health``; the media volume's free-space guard in ``haier_pipeline.media.space``.
"""
