"""The invitation email goes out through a real Celery worker, once."""

from __future__ import annotations

import pytest
from django.db import transaction

from stakeholders import services
from stakeholders.models import Invitation, Role
from stakeholders.tasks import invitation_send

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_an_invitation_is_emailed_by_the_worker_after_commit(worker_process, org_admin, commissioning_org):
    with transaction.atomic():
        invitation = services.invitation_create(
            actor=org_admin, organisation=commissioning_org, email="New.Person@Example.org", role=Role.COMMISSIONER
        )

    sent = worker_process.wait_for(lambda: Invitation.objects.get(pk=invitation.pk).sent_at)
    assert sent is not None
    mails = worker_process.wait_for(lambda: list(worker_process.mail_dir.glob("*.log")))
    body = mails[0].read_text()
    assert "To: new.person@example.org" in body
    assert "/invitations/" in body
    assert commissioning_org.name in body


def test_a_redelivered_invitation_task_sends_nothing_more(worker_process, org_admin, commissioning_org):
    with transaction.atomic():
        invitation = services.invitation_create(
            actor=org_admin, organisation=commissioning_org, email="once@example.org", role=Role.COMMISSIONER
        )
    worker_process.wait_for(lambda: Invitation.objects.get(pk=invitation.pk).sent_at)
    # acks_late means a task can run twice (worker lost, visibility timeout): the second run must be a no-op.
    result = invitation_send.delay(invitation.pk)
    assert result.get(timeout=60) is False
    mails = list(worker_process.mail_dir.glob("*.log"))
    assert len(mails) == 1
