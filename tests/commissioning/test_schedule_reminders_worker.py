"""Reminders from the beat job with a real worker: a worker killed half way, and the job run twice,
still send each reminder once (per provider, indicator set, period and kind) and email it once.

Two schedules are overdue. A second connection holds the second schedule's row lock, so the
job commits the first schedule's reminder and blocks on the second; the worker's pool process
is then SIGKILLed. The task is redelivered (acks_late + reject_on_worker_lost), skips the first
schedule (already recorded) and, once the lock goes, does the second. Running the job again
sends nothing more.
"""

from __future__ import annotations

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone

from actionplan.models import Notification
from commissioning.schedules.models import ScheduleReminder
from commissioning.schedules.tasks import schedule_reminders_send
from outcomes.models import Measure, PeriodType, previous_period
from outcomes.periods import period_start_of
from stakeholders.models import OrganisationType, Role
from tests.commissioning.schedules_helpers import borough, make_schedule
from tests.conftest import _database_url
from tests.factories import IndicatorFactory, MembershipFactory, OrganisationFactory
from tests.workers import Worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _mails(worker: Worker) -> list:
    return sorted(worker.mail_dir.glob("*.log")) if worker.mail_dir.exists() else []


def _waiting_on_a_row_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_a_worker_killed_half_way_and_a_second_run_still_send_each_reminder_once(
    tmp_path, commissioner, commissioning_org, provider, provider_org
):
    indicator = IndicatorFactory(
        code="wk-access", name="Access (test)", definition="d", measure=Measure.COUNT, period_type=PeriodType.MONTH
    )
    islington_trust = OrganisationFactory(
        name="Islington Trust (test)", type=OrganisationType.NHS_MH_PROVIDER, boroughs=["ISL"]
    )
    second = MembershipFactory(organisation=islington_trust, role=Role.DATA_SUBMITTER).user
    # Last month, due on its last day (deadline 0 days): overdue today, whatever today is.
    last_month = previous_period(PeriodType.MONTH, period_start_of(PeriodType.MONTH, timezone.localdate()))
    first = make_schedule(
        commissioner, commissioning_org, provider_org, [indicator], [borough("CMD")],
        first_period=last_month, deadline_days=0,
    )  # fmt: skip
    blocked = make_schedule(
        commissioner, commissioning_org, islington_trust, [indicator], [borough("ISL")],
        first_period=last_month, deadline_days=0,
    )  # fmt: skip
    assert first.pk < blocked.pk  # the job goes in id order: the first commits, the second blocks

    blocker = psycopg2.connect(_database_url(connection.settings_dict))
    blocker.cursor().execute("SELECT 1 FROM commissioning_reportingschedule WHERE id = %s FOR UPDATE", [blocked.pk])
    worker = Worker(tmp_path, pool="prefork")
    try:
        schedule_reminders_send.delay()
        worker.wait_for(lambda: _waiting_on_a_row_lock() == 1, what="the job to block on the second schedule")
        # Half way: the first schedule's reminder is committed, the second's is not.
        assert list(ScheduleReminder.objects.values_list("schedule_id", "kind")) == [(first.pk, "overdue")]
        killed = worker.kill_the_running_task()
        worker.wait_for(lambda: [c for c in worker.pool_processes() if c != killed], what="a fresh pool process")
        worker.wait_for(lambda: _waiting_on_a_row_lock() == 1, what="the redelivered job to block again")
        assert ScheduleReminder.objects.count() == 1
        blocker.rollback()
        worker.wait_for(lambda: ScheduleReminder.objects.count() == 2, what="the redelivered job to finish")

        # The beat job runs again (or twice at once): nothing more.
        assert schedule_reminders_send.delay().get(timeout=60) == 0
        worker.wait_for(
            lambda: not Notification.objects.filter(emailed_at__isnull=True).exists(), what="the emails to go"
        )
        worker.wait_for(lambda: len(_mails(worker)) >= 2, what="two emails")
    finally:
        blocker.close()
        worker.stop()

    text = worker.log()
    assert "WorkerLostError" in text or "signal 9 (SIGKILL)" in text, text
    reminders = ScheduleReminder.objects.order_by("schedule_id")
    assert [(r.schedule_id, r.period_start, r.kind, r.recipients) for r in reminders] == [
        (first.pk, last_month, "overdue", 1),
        (blocked.pk, last_month, "overdue", 1),
    ]
    notes = Notification.objects.order_by("recipient_id")
    assert sorted((n.recipient_id, n.kind) for n in notes) == sorted(
        [(provider.pk, "report_late"), (second.pk, "report_late")]
    )
    mails = [path.read_text() for path in _mails(worker)]
    assert len(mails) == 2
    assert sorted(m.count(f"To: {u.email}") for m in mails for u in (provider, second)) == [0, 0, 1, 1]
