"""Automation: the three sync jobs, their schedules (the original cron) and the sensors."""
