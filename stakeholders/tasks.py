"""Background work for stakeholders. Tasks take ids, call one service, and are idempotent."""

from __future__ import annotations

from celery import shared_task

from stakeholders import services


@shared_task(autoretry_for=(ConnectionError, OSError), retry_backoff=True, max_retries=5)
def invitation_send(invitation_id: int) -> bool:
    return services.invitation_send(invitation_id=invitation_id)


@shared_task
def invitations_expire() -> int:
    return services.invitations_expire()
