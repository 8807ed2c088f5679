"""Background work for reporting schedules. Tasks take ids or nothing, call one service, and are idempotent."""

from __future__ import annotations

from celery import shared_task

from commissioning.schedules import services


@shared_task
def schedule_reminders_send() -> int:
    """The daily beat job: reminders before deadlines and overdue notices after, each sent once."""
    return services.schedule_reminders_send()
