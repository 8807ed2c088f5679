"""Consultation pages: allowed, 403 and 404 for each, forms that keep what was typed, results, export."""

from __future__ import annotations

import pytest
from django.urls import reverse

from actionplan import services as plan_services
from actionplan.models import ActionStatus, ChangeCheck, Consultation, Participation, Question
from actionplan.voice import services as voice_services
from stakeholders.models import Role
from tests.factories import MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


def _url(name, c, *extra):
    return reverse(name, args=[c.plan.slug, c.pk, *extra])


def test_a_manager_starts_a_consultation_and_a_bad_date_keeps_what_they_typed(client_for, commissioner, public_plan):
    client = client_for(commissioner)
    url = reverse("consultation_create", args=[public_plan.slug])
    data = {
        "title": "Evenings",
        "introduction": "Tell us.",
        "opens_on_day": "1",
        "opens_on_month": "13",
        "opens_on_year": "2027",
        "closes_on_day": "1",
        "closes_on_month": "2",
        "closes_on_year": "2027",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem" in html and "Opens on must be a real date" in html
    assert 'value="Evenings"' in html and 'value="13"' in html
    data["opens_on_month"] = "1"
    response = client.post(url, data)
    consultation = Consultation.objects.get()
    assert response.status_code == 302 and response["Location"] == consultation.get_absolute_url()


def test_people_who_do_not_manage_the_plan_may_not_start_one(client_for, public_plan, outsider, service_user):
    url = reverse("consultation_create", args=[public_plan.slug])
    assert client_for(outsider).get(url).status_code == 403
    assert client_for(service_user).post(url, {}).status_code == 403
    assert client_for(None).get(url).status_code == 302


def test_a_draft_is_a_404_to_everyone_but_its_managers(
    client_for, public_plan, make_consultation, commissioner, outsider
):
    c = make_consultation(public_plan, open=False)
    assert client_for(commissioner).get(_url("consultation_detail", c)).status_code == 200
    assert client_for(outsider).get(_url("consultation_detail", c)).status_code == 404
    assert client_for(None).get(_url("consultation_detail", c)).status_code == 404
    assert client_for(outsider).get(_url("consultation_edit", c)).status_code == 404


def test_a_partners_only_plans_consultation_is_a_404_to_strangers(
    client_for, partners_plan, make_consultation, outsider
):
    c = make_consultation(partners_plan)
    for name in ("consultation_detail", "consultation_answer", "consultation_export"):
        assert client_for(outsider).get(_url(name, c)).status_code == 404, name


def test_questions_are_added_edited_moved_and_removed_on_a_draft(
    client_for, public_plan, make_consultation, commissioner
):
    c = make_consultation(public_plan, open=False)
    client = client_for(commissioner)
    response = client.post(_url("consultation_question_create", c), {"text": "Q?", "kind": "single", "options": "One"})
    assert response.status_code == 200 and "Give at least two options" in response.content.decode()
    assert 'value="Q?"' in response.content.decode()
    response = client.post(
        _url("consultation_question_create", c), {"text": "Q?", "kind": "single", "options": "A\nB", "required": "no"}
    )
    assert response.status_code == 302
    added = Question.objects.get(text="Q?")
    assert added.options == ["A", "B"] and not added.required
    client.post(_url("consultation_question_move", c, added.pk), {"direction": "up"})
    added.refresh_from_db()
    assert added.position == 4
    client.post(_url("consultation_question_delete", c, added.pk))
    assert not Question.objects.filter(pk=added.pk).exists()


def test_an_open_consultation_can_no_longer_be_edited(client_for, public_plan, make_consultation, commissioner):
    c = make_consultation(public_plan)
    client = client_for(commissioner)
    assert client.get(_url("consultation_edit", c)).status_code == 403
    assert client.get(_url("consultation_question_edit", c, c.qs[0].pk)).status_code == 403
    assert client.post(_url("consultation_open", c)).status_code == 403


def test_opening_from_the_page(client_for, public_plan, make_consultation, commissioner):
    c = make_consultation(public_plan, open=False)
    client = client_for(commissioner)
    assert "Open it and invite followers" in client.get(_url("consultation_open", c)).content.decode()
    response = client.post(_url("consultation_open", c), {"version": str(c.version)})
    assert response.status_code == 302
    c.refresh_from_db()
    assert c.published_at is not None


def test_a_service_user_answers_and_errors_keep_what_they_typed(
    client_for, public_plan, make_consultation, service_user
):
    c = make_consultation(public_plan)
    single, multiple, scale, text = c.qs
    client = client_for(service_user)
    response = client.post(_url("consultation_answer", c), {f"q{multiple.pk}": ["1"], f"q{text.pk}": "Evenings please"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in html
    assert f'href="#id_q{single.pk}"' in html and "Choose an option." in html
    assert "Evenings please" in html and "checked" in html
    response = client.post(
        _url("consultation_answer", c),
        {f"q{single.pk}": "2", f"q{scale.pk}": "4", f"q{text.pk}": "Evenings please", "group": "service_user"},
    )
    assert response.status_code == 302
    participation = Participation.objects.get(user=service_user)
    assert participation.group == "service_user"
    # Coming back shows the saved answers, to change.
    html = client.get(_url("consultation_answer", c)).content.decode()
    assert "Change your answers" in html and "Evenings please" in html


def test_answering_needs_sign_in_and_an_open_consultation(client_for, public_plan, make_consultation, service_user):
    c = make_consultation(public_plan)
    response = client_for(None).get(_url("consultation_answer", c))
    assert response.status_code == 302 and "/account/sign-in/" in response["Location"]
    draft = make_consultation(public_plan, open=False, title="Draft")
    assert client_for(service_user).get(_url("consultation_answer", draft)).status_code == 404
    Consultation.objects.filter(pk=c.pk).update(closes_on=c.opens_on)
    Consultation.objects.filter(pk=c.pk).update(opens_on=c.opens_on.replace(year=c.opens_on.year - 1))
    Consultation.objects.filter(pk=c.pk).update(closes_on=c.opens_on.replace(year=c.opens_on.year - 1))
    assert client_for(service_user).get(_url("consultation_answer", c)).status_code == 403


def test_the_results_show_fewer_than_5_and_hide_what_would_give_it_away(
    client_for, public_plan, make_consultation, answer
):
    c = make_consultation(public_plan)
    for where, n in ((0, 13), (1, 9), (2, 3)):
        for _ in range(n):
            answer(c, where=where, ease=3)
    html = client_for(None).get(_url("consultation_detail", c)).content.decode()
    assert "25 people have answered" in html
    assert "fewer than 5" in html and "not shown" in html
    # The A&E count is shown; NHS 111 (9) is hidden, else 25 - 13 - 9 gives the café's 3 away.
    assert ">13<" in html and ">9<" not in html


def test_the_export_is_for_managers_and_is_safe_in_a_spreadsheet(
    client_for, public_plan, make_consultation, answer, commissioner, service_user
):
    c = make_consultation(public_plan)
    answer(c, text='=HYPERLINK("http://evil")', user=service_user, group="carer")
    assert client_for(service_user).get(_url("consultation_export", c)).status_code == 403
    assert client_for(None).get(_url("consultation_export", c)).status_code == 302
    response = client_for(commissioner).get(_url("consultation_export", c))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = response.content.decode()
    assert "'=HYPERLINK" in body and service_user.display_name not in body
    assert "A carer, family member or friend" in body


def test_the_moderation_queue_is_for_moderators(client_for, public_plan, make_consultation, answer, service_user):
    c = make_consultation(public_plan)
    answer(c, text="A quiet room would help.")
    held = c.qs[3].answers.get()
    moderator = MembershipFactory(organisation=OrganisationFactory(), role=Role.MODERATOR).user
    assert client_for(service_user).get(reverse("consultation_moderation")).status_code == 403
    assert client_for(service_user).get(reverse("consultation_moderate_answer", args=[held.pk])).status_code == 404
    client = client_for(moderator)
    assert "A quiet room would help." in client.get(reverse("consultation_moderation")).content.decode()
    response = client.post(reverse("consultation_moderate_answer", args=[held.pk]), {"decision": "hide"})
    assert response.status_code == 400 and "Say why you are hiding this answer." in response.content.decode()
    client.post(reverse("consultation_moderate_answer", args=[held.pk]), {"decision": "publish"})
    assert "A quiet room would help." in client_for(None).get(_url("consultation_detail", c)).content.decode()


def test_only_the_person_asked_sees_their_change_check(
    client_for, public_plan, make_action, commissioner, service_user
):
    action = make_action(public_plan)
    comment = voice_services.comment_create(actor=service_user, plan=public_plan, body="Weekends please")
    voice_services.response_save(
        actor=commissioner, comment=comment, disposition="accepted", text="Yes", action_changed=action
    )
    plan_services.action_update(
        actor=commissioner, action=action, expected_version=action.version, values={"status": ActionStatus.DONE}
    )
    check = ChangeCheck.objects.get()
    url = reverse("change_check", args=[public_plan.slug, check.pk])
    assert client_for(commissioner).get(url).status_code == 404
    assert client_for(None).get(url).status_code == 302
    client = client_for(service_user)
    response = client.post(url, {"comment": "Much better"})
    assert response.status_code == 400 and "Choose a number from 1 to 5." in response.content.decode()
    assert "Much better" in response.content.decode()
    assert client.post(url, {"rating": "4", "comment": "Much better"}).status_code == 302
    check.refresh_from_db()
    assert check.rating == 4
    # The comment is for the plan's answerers, not the public.
    assert (
        "Much better"
        in client_for(commissioner).get(reverse("plan_voice_impact", args=[public_plan.slug])).content.decode()
    )
    assert (
        "Much better"
        not in client_for(None).get(reverse("plan_voice_impact", args=[public_plan.slug])).content.decode()
    )


def test_the_voice_impact_page_follows_the_plans_visibility(client_for, partners_plan, outsider, commissioner):
    url = reverse("plan_voice_impact", args=[partners_plan.slug])
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(commissioner).get(url).status_code == 200


def test_the_list_shows_drafts_to_managers_only(client_for, public_plan, make_consultation, commissioner):
    make_consultation(public_plan, open=False, title="Secret draft")
    make_consultation(public_plan, title="Open one")
    url = reverse("consultation_list", args=[public_plan.slug])
    assert "Secret draft" in client_for(commissioner).get(url).content.decode()
    html = client_for(None).get(url).content.decode()
    assert "Secret draft" not in html and "Open one" in html and "Fewer than 5 people have answered" in html
