"""Notification emails go out through a real Celery worker: immediately, or once a day as a digest."""

from __future__ import annotations

import email

import pytest
from django.db import transaction

from actionplan.models import EmailMode, Notification
from actionplan.voice import services, tasks

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _mails(worker_process):
    return sorted(worker_process.mail_dir.glob("*.log")) if worker_process.mail_dir.exists() else []


def test_a_reply_is_emailed_straight_away_with_a_one_click_unsubscribe(
    worker_process, make_comment, carer, service_user, commissioner, public_plan
):
    # The plan's manager hears of every comment; here they take no email, so the one mail is the reply's.
    services.preference_set(actor=commissioner, email_mode=EmailMode.OFF)
    top = make_comment()
    with transaction.atomic():
        services.comment_create(actor=carer, plan=public_plan, parent=top, body="Same here")
    notification = Notification.objects.get(recipient=service_user)
    worker_process.wait_for(lambda: Notification.objects.get(pk=notification.pk).emailed_at)
    body = worker_process.wait_for(lambda: _mails(worker_process))[0].read_text()
    assert f"To: {service_user.email}" in body
    assert "Cam Carer replied to your comment" in body
    message = email.message_from_string(body)
    link = message["List-Unsubscribe"].replace("\n", "").replace(" ", "")
    assert link.startswith("<http") and "/unsubscribe/" in link
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link.strip("<>") in message.get_payload()
    # A re-delivered task (acks_late) sends nothing more.
    assert tasks.notification_email_send.delay(notification.pk).get(timeout=60) is False
    assert len(_mails(worker_process)) == 1


def test_the_daily_digest_job_sends_one_email_per_reader(
    worker_process, make_comment, carer, service_user, commissioner, public_plan
):
    services.preference_set(actor=service_user, email_mode=EmailMode.DIGEST)
    services.preference_set(actor=commissioner, email_mode=EmailMode.OFF)  # the manager's new-comment notices
    top = make_comment()
    services.comment_create(actor=carer, plan=public_plan, parent=top, body="Same here")
    services.response_save(actor=commissioner, comment=top, disposition="not_accepted", text="Not this year")
    assert tasks.digests_send.delay().get(timeout=60) == 1
    worker_process.wait_for(
        lambda: not Notification.objects.filter(recipient=service_user, emailed_at__isnull=True).exists()
    )
    mails = worker_process.wait_for(lambda: _mails(worker_process))
    assert len(mails) == 1
    body = mails[0].read_text()
    assert "digest: 2 updates" in body
    assert "replied to your comment" in body and "official response: not accepted" in body
    assert "/unsubscribe/" in body
