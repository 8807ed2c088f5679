"""Reporting schedules: the rules of setting one, and reminders sent once per schedule, period and kind."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from actionplan.models import EmailMode, Notification, NotificationKind
from actionplan.voice import services as voice_services
from commissioning.schedules import services
from commissioning.schedules.models import ReminderKind, ScheduleReminder
from kernel.concurrency import StaleEdit
from outcomes.models import Measure, PeriodType
from stakeholders.models import Role
from tests.commissioning.schedules_helpers import at, borough, london, make_schedule, submit
from tests.factories import IndicatorFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def _email_all() -> None:
    """What the Celery task enqueued on commit does for each notification (tests/commissioning/
    test_schedule_reminders_worker.py runs the real worker)."""
    for pk in Notification.objects.order_by("pk").values_list("pk", flat=True):
        voice_services.notification_email_send(notification_id=pk)


@pytest.fixture
def monthly(db):
    return IndicatorFactory(
        code="rm-access", name="Access (test)", definition="d", measure=Measure.COUNT, period_type=PeriodType.MONTH
    )


@pytest.fixture
def quarterly(db):
    return IndicatorFactory(
        code="rm-detentions", name="Detentions (test)", definition="d", measure=Measure.COUNT,
        period_type=PeriodType.QUARTER,
    )  # fmt: skip


@pytest.fixture
def schedule(commissioner, commissioning_org, provider_org, monthly):
    return make_schedule(commissioner, commissioning_org, provider_org, [monthly], [borough("CMD")])


# Setting a schedule --------------------------------------------------------------------------


def test_indicators_of_another_period_type_are_refused_by_name(
    commissioner, commissioning_org, provider_org, monthly, quarterly
):
    with pytest.raises(ValidationError) as caught:
        make_schedule(commissioner, commissioning_org, provider_org, [monthly, quarterly], [borough("CMD")])
    assert "rm-detentions" in str(caught.value.message_dict["indicators"])


def test_a_borough_the_provider_does_not_serve_is_refused(commissioner, commissioning_org, provider_org, monthly):
    # The provider serves Camden only; the commissioner commissions Camden and Islington.
    with pytest.raises(ValidationError) as caught:
        make_schedule(commissioner, commissioning_org, provider_org, [monthly], [borough("ISL")])
    assert caught.value.message_dict["boroughs"] == ["Provider Trust (test) does not serve Islington."]


def test_a_borough_the_commissioner_does_not_commission_is_refused(
    commissioner, commissioning_org, provider_org, monthly
):
    provider_org.boroughs.add(borough("LAM"))
    with pytest.raises(ValidationError) as caught:
        make_schedule(commissioner, commissioning_org, provider_org, [monthly], [borough("LAM")])
    assert caught.value.message_dict["boroughs"] == ["NCL ICB (test) does not commission for Lambeth."]


def test_one_value_is_never_expected_by_two_schedules(schedule, commissioner, commissioning_org, provider_org, monthly):
    with pytest.raises(ValidationError) as caught:
        make_schedule(commissioner, commissioning_org, provider_org, [monthly], [borough("CMD")], name="Another")
    assert "Monthly return (test)" in caught.value.message_dict["indicators"][0]


def test_the_first_period_starts_on_the_first_day_of_a_period(commissioner, commissioning_org, provider_org, quarterly):
    with pytest.raises(ValidationError) as caught:
        make_schedule(
            commissioner,
            commissioning_org,
            provider_org,
            [quarterly],
            [borough("CMD")],
            first_period=dt.date(2026, 2, 1),
        )
    assert "first_period" in caught.value.message_dict


def test_a_stale_edit_is_refused_and_nothing_is_written(schedule, commissioner):
    services.schedule_update(actor=commissioner, schedule=schedule, expected_version=1, deadline_days=25)
    with pytest.raises(StaleEdit):
        services.schedule_update(actor=commissioner, schedule=schedule, expected_version=1, deadline_days=30)
    schedule.refresh_from_db()
    assert (schedule.version, schedule.deadline_days) == (2, 25)


def test_the_history_names_who_changed_what(schedule, commissioner, monthly):
    services.schedule_update(actor=commissioner, schedule=schedule, expected_version=1, deadline_days=25)
    events = schedule.events.order_by("pgh_id")
    assert [e.deadline_days for e in events] == [20, 25]
    assert events.last().pgh_context.metadata["user"] == commissioner.pk


# Reminders -----------------------------------------------------------------------------------


def test_the_reminder_window_runs_from_n_days_before_the_deadline_and_then_overdue(schedule):
    # January 2026 is due by 20 February; the reminder opens 5 days before.
    assert services.reminders_due(schedule, dt.date(2026, 2, 14)) == []
    assert services.reminders_due(schedule, dt.date(2026, 2, 15)) == [(dt.date(2026, 1, 1), ReminderKind.DUE)]
    assert services.reminders_due(schedule, dt.date(2026, 2, 20)) == [(dt.date(2026, 1, 1), ReminderKind.DUE)]
    assert services.reminders_due(schedule, dt.date(2026, 2, 21)) == [(dt.date(2026, 1, 1), ReminderKind.OVERDUE)]
    # 45 days after the deadline (SCHEDULE_OVERDUE_NOTICE_DAYS) no overdue notice is sent any more.
    late = services.reminders_due(schedule, dt.date(2026, 4, 7))
    assert (dt.date(2026, 1, 1), ReminderKind.OVERDUE) not in late


def test_a_reminder_goes_to_every_data_submitter_once_however_often_the_job_runs(
    schedule, provider, provider_org, django_capture_on_commit_callbacks
):
    second = MembershipFactory(organisation=provider_org, role=Role.DATA_SUBMITTER).user
    MembershipFactory(organisation=provider_org, role=Role.CLINICIAN)  # not a submitter: not told
    with django_capture_on_commit_callbacks():
        assert services.schedule_reminders_send(today=dt.date(2026, 2, 16)) == 1
        assert services.schedule_reminders_send(today=dt.date(2026, 2, 16)) == 0
        assert services.schedule_reminders_send(today=dt.date(2026, 2, 19)) == 0
    _email_all()
    reminder = ScheduleReminder.objects.get()
    assert (reminder.period_start, reminder.kind, reminder.missing, reminder.recipients) == (
        dt.date(2026, 1, 1), "due", 1, 2,
    )  # fmt: skip
    notes = Notification.objects.filter(kind=NotificationKind.REPORT_DUE).order_by("recipient_id")
    assert [n.recipient for n in notes] == sorted([provider, second], key=lambda u: u.pk)
    assert notes[0].text == "Monthly return (test) for 2026-01: 1 of 1 value not in yet. Due by 20 February 2026."
    assert notes[0].url == f"/commissioning/schedules/{schedule.pk}/"
    assert sorted(m.to[0] for m in mail.outbox) == sorted([provider.email, second.email])


def test_an_overdue_notice_follows_the_deadline_and_also_goes_once(
    schedule, provider, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        services.schedule_reminders_send(today=dt.date(2026, 2, 16))
        assert services.schedule_reminders_send(today=dt.date(2026, 2, 21)) == 1
        assert services.schedule_reminders_send(today=dt.date(2026, 2, 22)) == 0
    assert list(ScheduleReminder.objects.order_by("sent_at").values_list("kind", flat=True)) == ["due", "overdue"]
    assert Notification.objects.filter(kind=NotificationKind.REPORT_OVERDUE).count() == 1


def test_nothing_is_recorded_while_the_provider_has_no_data_submitter(schedule, provider_org):
    assert services.schedule_reminders_send(today=dt.date(2026, 2, 16)) == 0
    MembershipFactory(organisation=provider_org, role=Role.DATA_SUBMITTER)
    assert services.schedule_reminders_send(today=dt.date(2026, 2, 17)) == 1


def test_nothing_is_sent_when_every_value_is_in_or_the_schedule_is_not_in_use(
    schedule, commissioner, provider, provider_org
):
    with at(london(2026, 2, 10, 12)):
        submit(provider, provider_org, [("rm-access", "CMD", "2026-01", 5, None)])
    assert services.schedule_reminders_send(today=dt.date(2026, 2, 16)) == 0
    assert services.schedule_reminders_send(today=dt.date(2026, 3, 16)) == 1  # February is missing
    services.schedule_update(actor=commissioner, schedule=schedule, expected_version=1, is_active=False)
    assert services.schedule_reminders_send(today=dt.date(2026, 3, 21)) == 0
    assert ScheduleReminder.objects.count() == 1


def test_a_rejected_value_still_counts_as_missing_for_the_reminder(schedule, commissioner, provider, provider_org):
    from outcomes import services as outcome_services
    from outcomes.models import OutcomeValue

    with at(london(2026, 2, 10, 12)):
        submit(provider, provider_org, [("rm-access", "CMD", "2026-01", 5, None)])
    outcome_services.outcome_values_review(
        actor=commissioner,
        value_ids=list(OutcomeValue.objects.values_list("pk", flat=True)),
        status="rejected",
        message="Wrong borough",
    )
    assert services.schedule_reminders_send(today=dt.date(2026, 2, 16)) == 1


# Email choices per kind ------------------------------------------------------------------------


def test_each_person_chooses_per_kind_and_the_kind_wins_over_the_general_choice(
    schedule, provider, django_capture_on_commit_callbacks
):
    voice_services.preference_set(actor=provider, email_mode=EmailMode.IMMEDIATE, kinds={"report_due": EmailMode.OFF})
    assert voice_services.email_mode_for(provider, "report_due") == EmailMode.OFF
    assert voice_services.email_mode_for(provider, "reply") == EmailMode.IMMEDIATE
    with django_capture_on_commit_callbacks():
        services.schedule_reminders_send(today=dt.date(2026, 2, 16))
    _email_all()
    assert mail.outbox == []  # in the portal only
    assert Notification.objects.filter(recipient=provider, kind="report_due").exists()
    # "" goes back to the general choice.
    voice_services.preference_set(actor=provider, kinds={"report_due": ""})
    assert voice_services.email_mode_for(provider, "report_due") == EmailMode.IMMEDIATE


def test_a_kind_read_in_the_digest_waits_for_the_digest(schedule, provider, django_capture_on_commit_callbacks):
    voice_services.preference_set(actor=provider, kinds={"report_late": EmailMode.DIGEST})
    with django_capture_on_commit_callbacks():
        services.schedule_reminders_send(today=dt.date(2026, 2, 16))  # due: straight away
        services.schedule_reminders_send(today=dt.date(2026, 2, 21))  # overdue: in the digest
    _email_all()
    assert [m.subject for m in mail.outbox] == [
        "Monthly return (test) for 2026-01: 1 of 1 value not in yet. Due by 20 February 2026."
    ]
    assert voice_services.digest_recipients() == [provider.pk]
    assert voice_services.digest_send(user_id=provider.pk) == 1
    assert "is overdue" in mail.outbox[1].body
    assert voice_services.digest_send(user_id=provider.pk) == 0


def test_one_click_unsubscribe_from_a_reminder_email_stops_that_kind_only(
    schedule, provider, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        services.schedule_reminders_send(today=dt.date(2026, 2, 16))
    _email_all()
    [message] = mail.outbox
    link = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert link in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert voice_services.unsubscribe_target(token) == (provider, "report_due")
    voice_services.unsubscribe(user=provider, kind="report_due")
    assert voice_services.email_mode_for(provider, "report_due") == EmailMode.OFF
    assert voice_services.email_mode_for(provider, "report_late") == EmailMode.IMMEDIATE
    assert voice_services.email_mode_for(provider, "reply") == EmailMode.IMMEDIATE


def test_unsubscribing_from_everything_turns_off_kinds_chosen_separately_too(provider):
    voice_services.preference_set(actor=provider, kinds={"report_late": EmailMode.IMMEDIATE})
    voice_services.unsubscribe(user=provider)
    assert set(voice_services.email_modes_by_kind(provider).values()) == {EmailMode.OFF}
