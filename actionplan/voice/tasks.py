"""Background work for notifications. Tasks take ids, call one service, and are idempotent."""

from __future__ import annotations

from celery import shared_task

from actionplan.voice import services


@shared_task(autoretry_for=(ConnectionError, OSError), retry_backoff=True, max_retries=5)
def notification_email_send(notification_id: int) -> bool:
    return services.notification_email_send(notification_id=notification_id)


@shared_task(autoretry_for=(ConnectionError, OSError), retry_backoff=True, max_retries=5)
def digest_send(user_id: int) -> int:
    return services.digest_send(user_id=user_id)


@shared_task
def digests_send() -> int:
    """The daily beat job: one digest task per reader with something new."""
    user_ids = services.digest_recipients()
    for user_id in user_ids:
        digest_send.delay(user_id)
    return len(user_ids)


@shared_task
def actions_overdue_notify() -> int:
    """The daily beat job: tell accountable leads about overdue actions (once per episode)."""
    return services.actions_overdue_notify()


@shared_task
def comments_unanswered_notify() -> int:
    """The daily beat job: comments waiting too long for an official response go to who answers them."""
    return services.comments_unanswered_notify()


@shared_task
def plan_status_changes_process() -> int:
    """Every minute: tell followers about plan status changes (recorded by a database trigger)."""
    return services.plan_status_changes_process()
