"""Commitments, signed (issue 23): fingerprints and stale signatures, the activation gate,
representatives, co-owners, and who may do what on the pages and over the API."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from pghistory.models import Events

from actionplan import permissions as plan_permissions
from actionplan import selectors as plan_selectors
from actionplan import services as plan_services
from actionplan.commitments import permissions, selectors, services
from actionplan.models import Commitment, Notification, PartnerSignOff, Plan, PlanStatus
from actionplan.voice import permissions as voice_permissions
from kernel.concurrency import StaleEdit
from stakeholders.models import LivedExperience, Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _record(actor, plan, org, step, text="We will do it.", actions=(), version=None):
    from actionplan.models import KeyStep

    return services.commitment_save(
        actor=actor,
        plan=plan,
        organisation=org,
        key_step=KeyStep.objects.get(number=step),
        contribution=text,
        actions=list(actions),
        expected_version=version,
    )


def _row(plan, org):
    return next(r for r in selectors.matrix(plan).rows if r.organisation.pk == org.pk)


# Fingerprints and stale signatures ------------------------------------------------------------------


def test_a_signature_is_current_until_any_of_the_partners_commitments_changes(plan, commissioner, commissioning_org):
    _record(commissioner, plan, commissioning_org, 1)
    services.commitments_sign(actor=commissioner, plan=plan, organisation=commissioning_org)
    assert _row(plan, commissioning_org).state == selectors.SIGNED
    _record(commissioner, plan, commissioning_org, 2, "Another step too.")
    row = _row(plan, commissioning_org)
    assert row.state == selectors.STALE and row.state_label == "Needs a new signature"
    services.commitments_sign(actor=commissioner, plan=plan, organisation=commissioning_org)
    assert _row(plan, commissioning_org).state == selectors.SIGNED


def test_changing_a_contribution_or_a_linked_action_or_removing_one_makes_the_signature_stale(
    plan, commissioner, commissioning_org, make_action
):
    action = make_action(plan, step=1)
    first = _record(commissioner, plan, commissioning_org, 1, "Open the café.")
    services.commitments_sign(actor=commissioner, plan=plan, organisation=commissioning_org)
    for change in (
        lambda c: _record(commissioner, plan, commissioning_org, 1, "Open the café at night.", version=c.version),
        lambda c: _record(commissioner, plan, commissioning_org, 1, "Open the café at night.", [action], c.version),
        lambda c: services.commitment_delete(actor=commissioner, commitment=c, expected_version=c.version),
    ):
        current = Commitment.objects.filter(pk=first.pk).first()
        change(current)
        assert _row(plan, commissioning_org).state == selectors.STALE
        if Commitment.objects.filter(pk=first.pk).exists():
            services.commitments_sign(actor=commissioner, plan=plan, organisation=commissioning_org)


def test_another_partners_change_leaves_a_signature_alone(
    plan, commissioner, commissioning_org, provider_org, provider_admin
):
    _record(commissioner, plan, commissioning_org, 1)
    services.commitments_sign(actor=commissioner, plan=plan, organisation=commissioning_org)
    _record(provider_admin, plan, provider_org, 1)
    assert _row(plan, commissioning_org).state == selectors.SIGNED
    assert _row(plan, provider_org).state == selectors.UNSIGNED


def test_saving_the_same_words_again_keeps_the_signature_current(plan, commissioner, commissioning_org):
    c = _record(commissioner, plan, commissioning_org, 1, "Same words.")
    services.commitments_sign(actor=commissioner, plan=plan, organisation=commissioning_org)
    _record(commissioner, plan, commissioning_org, 1, "  Same words. ", version=c.version)
    assert _row(plan, commissioning_org).state == selectors.SIGNED


def test_a_stale_edit_is_refused_and_changes_nothing(plan, commissioner, commissioning_org):
    c = _record(commissioner, plan, commissioning_org, 1, "First.")
    _record(commissioner, plan, commissioning_org, 1, "Second.", version=c.version)
    with pytest.raises(StaleEdit):
        _record(commissioner, plan, commissioning_org, 1, "Third, from an old page.", version=c.version)
    assert Commitment.objects.get(pk=c.pk).contribution == "Second."


def test_a_commitment_needs_words_or_an_action_and_links_only_actions_the_partner_owns_or_co_owns(
    plan, commissioner, commissioning_org, provider_org, provider_admin, make_action
):
    with pytest.raises(ValidationError) as empty:
        _record(commissioner, plan, commissioning_org, 1, "  ")
    assert "contribution" in empty.value.message_dict
    theirs = make_action(plan, step=1, title="The ICB's action")
    with pytest.raises(ValidationError) as foreign:
        _record(provider_admin, plan, provider_org, 1, "", [theirs])
    assert "neither owns nor co-owns" in foreign.value.message_dict["actions"][0]
    services.co_owner_add(actor=commissioner, action=theirs, organisation=provider_org, share="Staffs it at night.")
    linked = _record(provider_admin, plan, provider_org, 1, "", [theirs])
    assert [link.action_id for link in linked.action_links.all()] == [theirs.pk]


def test_signing_with_nothing_recorded_is_refused(plan, commissioner, commissioning_org):
    with pytest.raises(ValidationError, match="no commitments to sign"):
        services.commitments_sign(actor=commissioner, plan=plan, organisation=commissioning_org)


def test_signatures_reasons_and_commitment_changes_are_in_the_plans_history(plan, commissioner, commissioning_org):
    c = _record(commissioner, plan, commissioning_org, 1, "Before.")
    services.commitments_sign(actor=commissioner, plan=plan, organisation=commissioning_org)
    _record(commissioner, plan, commissioning_org, 1, "After.", version=c.version)
    assert Events.objects.tracks(PartnerSignOff.objects.get()).count() == 1
    entries = selectors.recent_history(plan)
    text = " ".join(f"{e.what} {e.verb} {e.who} {[(ch.old, ch.new) for ch in e.changes]}" for e in entries)
    assert "Partner sign-off created Casey Commissioner" in text
    assert "('Before.', 'After.')" in text
    # The fingerprint is bookkeeping: a 64-character word that would widen a phone's page.
    assert "Fingerprint" not in text
    history = plan_selectors.plan_history(plan)
    assert {"Commitment", "Partner sign-off"} <= {e.what for e in history}


# Notifications ---------------------------------------------------------------------------------------


def test_officers_are_told_when_a_change_leaves_their_signature_stale_and_managers_when_a_partner_signs(
    plan, commissioner, provider_org, provider_admin, provider
):
    _record(provider_admin, plan, provider_org, 3, "Peer workers.")
    services.commitments_sign(actor=provider_admin, plan=plan, organisation=provider_org)
    # The plan's manager (the commissioner who made it) hears of the signature.
    assert list(Notification.objects.values_list("recipient_id", "kind")) == [(commissioner.pk, "commitment")]
    clinician = MembershipFactory(organisation=provider_org, role=Role.CLINICIAN).user
    _record(clinician, plan, provider_org, 3, "Peer workers every evening.", version=1)
    told = Notification.objects.filter(recipient=provider_admin, kind="commitment")
    assert told.count() == 1 and "need a new signature" in told.get().text
    # The data submitter is not an accountable officer: not told.
    assert not Notification.objects.filter(recipient=provider).exists()


def test_asking_partners_to_sign_tells_the_officers_of_those_without_a_current_signature(
    plan, commissioner, commissioning_org, provider_org, provider_admin, org_admin
):
    _record(commissioner, plan, commissioning_org, 1)
    services.commitments_sign(actor=commissioner, plan=plan, organisation=commissioning_org)
    assert services.sign_requests_send(actor=commissioner, plan=plan) == 1
    assert Notification.objects.filter(recipient=provider_admin, kind="commitment").count() == 1
    assert not Notification.objects.filter(recipient=org_admin).exists()  # the ICB has signed


# The activation gate ---------------------------------------------------------------------------------


def test_a_plan_becomes_active_only_when_every_partner_has_signed_or_has_a_reason(
    plan, commissioner, commissioning_org, provider_org
):
    with pytest.raises(ValidationError) as refused:
        plan_services.plan_change_status(actor=commissioner, plan=plan, expected_version=1, status=PlanStatus.ACTIVE)
    message = refused.value.message_dict["status"][0]
    assert "NCL ICB (test)" in message and "Provider Trust (test)" in message
    _record(commissioner, plan, commissioning_org, 1)
    services.commitments_sign(actor=commissioner, plan=plan, organisation=commissioning_org)
    services.sign_off_waive(actor=commissioner, plan=plan, organisation=provider_org, reason="Board meets in June.")
    plan_services.plan_change_status(actor=commissioner, plan=plan, expected_version=1, status=PlanStatus.ACTIVE)
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.ACTIVE


def test_a_stale_signature_blocks_activation_like_no_signature(plan, commissioner, commissioning_org, provider_org):
    services.sign_off_waive(actor=commissioner, plan=plan, organisation=provider_org, reason="On paper.")
    c = _record(commissioner, plan, commissioning_org, 1)
    services.commitments_sign(actor=commissioner, plan=plan, organisation=commissioning_org)
    _record(commissioner, plan, commissioning_org, 1, "Changed.", version=c.version)
    assert [o.pk for o in selectors.activation_blockers(plan)] == [commissioning_org.pk]
    with pytest.raises(ValidationError):
        plan_services.plan_change_status(actor=commissioner, plan=plan, expected_version=1, status=PlanStatus.ACTIVE)


def test_the_gate_refuses_on_the_page_with_the_error_summary_and_over_the_api_with_a_problem(
    plan, commissioner, client_for
):
    client = client_for(commissioner)
    page = client.post(f"/plans/{plan.slug}/status/", {"version": 1, "status": "active"})
    assert page.status_code == 200
    assert "nhsuk-error-summary" in page.content.decode() and "Still to sign" in page.content.decode()
    api = client.post(
        f"/api/v1/plans/{plan.slug}/status/",
        {"status": "active"},
        content_type="application/json",
        HTTP_IF_MATCH='"v1"',
    )
    assert api.status_code == 400 and api["Content-Type"].startswith("application/problem+json")
    assert api.json()["errors"][0]["field"] == "status" and "Still to sign" in api.json()["errors"][0]["message"]
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.CONSULTATION


# Permissions -----------------------------------------------------------------------------------------


def test_who_may_record_and_sign_for_a_partner(
    plan, commissioner, commissioning_org, provider_org, provider, provider_admin, outsider
):
    clinician = MembershipFactory(organisation=provider_org, role=Role.CLINICIAN).user
    assert permissions.can_sign_for(commissioner, plan, commissioning_org)
    assert not permissions.can_sign_for(commissioner, plan, provider_org)  # a partner speaks for itself
    assert permissions.can_sign_for(provider_admin, plan, provider_org)
    assert permissions.can_record_for(clinician, plan, provider_org)
    assert not permissions.can_sign_for(clinician, plan, provider_org)
    assert not permissions.can_record_for(provider, plan, provider_org)  # a data submitter
    assert not permissions.can_record_for(outsider, plan, provider_org)


def test_a_closed_plans_commitments_are_read_only(plan, commissioner, commissioning_org):
    Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.CLOSED)
    plan.refresh_from_db()
    plan_permissions.forget_plan_perms(commissioner)
    assert not permissions.can_record_for(commissioner, plan, commissioning_org)
    assert not permissions.can_waive(commissioner, plan)


# Representatives ------------------------------------------------------------------------------------


def test_a_representative_sees_the_draft_comments_first_and_co_signs(
    make_plan, commissioner, commissioning_org, service_user
):
    draft = make_plan(title="Draft with a voice", status=PlanStatus.DRAFT)
    other = UserFactory(lived_experience=LivedExperience.CARER)
    assert not plan_permissions.can_view_plan(service_user, draft)
    services.representative_add(actor=commissioner, plan=draft, user=service_user)
    plan_permissions.forget_plan_perms(service_user)
    assert plan_permissions.can_view_plan(service_user, draft)
    assert voice_permissions.can_comment(service_user, draft)
    # Comment first: nobody else comments on a draft, not even the plan's own commissioner.
    assert not voice_permissions.can_comment(commissioner, draft)
    assert not voice_permissions.can_comment(other, draft)
    _record(commissioner, draft, commissioning_org, 1)
    services.matrix_cosign(actor=service_user, plan=draft)
    assert [r.state for r in selectors.matrix(draft).representatives] == [selectors.SIGNED]
    _record(commissioner, draft, commissioning_org, 2)
    assert [r.state for r in selectors.matrix(draft).representatives] == [selectors.STALE]
    rep = draft.representatives.get()
    services.representative_remove(actor=commissioner, representative=rep)
    plan_permissions.forget_plan_perms(service_user)
    assert not plan_permissions.can_view_plan(service_user, draft)


def test_changing_a_representatives_level_on_the_people_tab_keeps_them_a_representative(
    make_plan, commissioner, service_user
):
    draft = make_plan(title="Draft with a voice", status=PlanStatus.DRAFT)
    services.representative_add(actor=commissioner, plan=draft, user=service_user)
    plan_services.plan_set_grant(actor=commissioner, plan=draft, level=plan_permissions.CHANGE, user=service_user)
    plan_permissions.forget_plan_perms(service_user)
    assert plan_permissions.REPRESENT in plan_permissions.plan_perms(service_user, draft)
    assert voice_permissions.can_comment(service_user, draft)
    # Taking every grant away on the People tab is different: they no longer see the plan at all.
    plan_services.plan_revoke(actor=commissioner, plan=draft, user=service_user)
    plan_permissions.forget_plan_perms(service_user)
    assert not plan_permissions.can_view_plan(service_user, draft)


def test_only_service_users_and_carers_can_be_named_representatives(plan, commissioner, provider):
    with pytest.raises(ValidationError, match="service user or carer"):
        services.representative_add(actor=commissioner, plan=plan, user=provider)


# Pages -----------------------------------------------------------------------------------------------


def test_the_matrix_page_shows_uncovered_steps_unsigned_and_stale_partners_and_reasons(
    plan, commissioner, commissioning_org, provider_org, client_for
):
    c = _record(commissioner, plan, commissioning_org, 1, "Pool the budgets.")
    services.commitments_sign(actor=commissioner, plan=plan, organisation=commissioning_org)
    _record(commissioner, plan, commissioning_org, 1, "Pool the budgets by April.", version=c.version)
    services.sign_off_waive(actor=commissioner, plan=plan, organisation=provider_org, reason="Its board meets in June.")
    page = client_for(None).get(f"/plans/{plan.slug}/commitments/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Steps nobody covers" in html and "Step 2: " in html
    assert "Needs a new signature" in html and "Not signed" in html
    assert "Its board meets in June." in html
    # The gate in words: the ICB's signature is stale and no reason is recorded for it.
    assert '<p id="activation-gate">Before this plan can become active, NCL ICB (test) must sign' in html
    assert "Pool the budgets by April." in html


def test_recording_through_the_page_keeps_what_was_typed_on_an_error(plan, commissioner, commissioning_org, client_for):
    client = client_for(commissioner)
    url = f"/plans/{plan.slug}/commitments/record/"
    assert client.get(url, {"organisation": commissioning_org.pk, "step": 3}).status_code == 200
    bad = client.post(url, {"organisation": commissioning_org.pk, "key_step": "", "contribution": "Kept words"})
    assert (
        bad.status_code == 200
        and "Kept words" in bad.content.decode()
        and "nhsuk-error-summary" in bad.content.decode()
    )
    from actionplan.models import KeyStep

    step = KeyStep.objects.get(number=3)
    ok = client.post(url, {"organisation": commissioning_org.pk, "key_step": step.pk, "contribution": "Co-produce it."})
    assert ok.status_code == 302
    commitment = Commitment.objects.get()
    assert commitment.contribution == "Co-produce it."
    page = client.get(url, {"organisation": commissioning_org.pk, "step": 3}).content.decode()
    assert "Co-produce it." in page and "Remove this commitment" in page
    stale = client.post(url, {"organisation": commissioning_org.pk, "key_step": step.pk, "remove": "1", "version": 9})
    assert stale.status_code == 302 and Commitment.objects.filter(pk=commitment.pk).exists()
    gone = client.post(url, {"organisation": commissioning_org.pk, "key_step": step.pk, "remove": "1", "version": 1})
    assert gone.status_code == 302 and not Commitment.objects.exists()


def test_signing_through_the_page_needs_the_confirmation(plan, commissioner, commissioning_org, client_for):
    _record(commissioner, plan, commissioning_org, 1)
    client = client_for(commissioner)
    url = f"/plans/{plan.slug}/commitments/sign/"
    assert "What you are signing" in client.get(url).content.decode()
    assert client.post(url, {"organisation": commissioning_org.pk}).status_code == 200
    assert not PartnerSignOff.objects.exists()
    assert client.post(url, {"organisation": commissioning_org.pk, "confirm": "on"}).status_code == 302
    assert PartnerSignOff.objects.get().signed_by == commissioner


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("commitments/", "get"),
        ("commitments/record/", "get"),
        ("commitments/sign/", "get"),
        ("commitments/not-signed/", "get"),
        ("commitments/ask/", "post"),
        ("commitments/co-sign/", "post"),
        ("representatives/", "get"),
    ],
)
def test_pages_answer_a_stranger_404_and_a_reader_403(
    path, method, make_plan, client_for, outsider, provider, provider_org
):
    private = make_plan(title="Private plan", visibility="partners", partners=[provider_org])
    url = f"/plans/{private.slug}/{path}"
    assert getattr(client_for(outsider), method)(url).status_code == 404
    expected = 200 if path == "commitments/" else 403
    assert getattr(client_for(provider), method)(url).status_code == expected


def test_co_owners_are_added_by_editors_and_shown_on_the_action_page(
    plan, commissioner, provider_org, make_action, client_for, provider
):
    action = make_action(plan, step=1)
    url = f"/plans/{plan.slug}/actions/{action.pk}/co-owners/"
    assert client_for(provider).get(url).status_code == 403
    client = client_for(commissioner)
    bad = client.post(url, {"organisation": provider_org.pk, "share": ""})
    assert bad.status_code == 200 and "nhsuk-error-summary" in bad.content.decode()
    assert client.post(url, {"organisation": provider_org.pk, "share": "Runs the night shift."}).status_code == 302
    page = client_for(provider).get(f"/plans/{plan.slug}/actions/{action.pk}/").content.decode()
    assert "Provider Trust (test) (Runs the night shift.)" in page


def test_the_organisation_page_lists_commitments_and_actions_only_in_plans_the_viewer_may_see(
    make_plan, commissioner, commissioning_org, provider_org, make_action, client_for, outsider
):
    public = make_plan(title="Public plan", partners=[provider_org])
    private = make_plan(title="Secret plan", visibility="partners", partners=[provider_org])
    for p in (public, private):
        _record(commissioner, p, commissioning_org, 1, f"Commitment in {p.title}")
        make_action(p, step=1, title=f"Action in {p.title}")
    url = f"/organisations/{commissioning_org.slug}/commitments/"
    seen = client_for(outsider).get(url).content.decode()
    assert "Commitment in Public plan" in seen and "Action in Public plan" in seen
    assert "Secret plan" not in seen
    assert "Commitment in Secret plan" in client_for(commissioner).get(url).content.decode()
    assert client_for(None).get("/organisations/no-such-organisation/commitments/").status_code == 404


# API ------------------------------------------------------------------------------------------------


def _json(client, method, url, body=None, etag=None):
    extra = {"HTTP_IF_MATCH": etag} if etag else {}
    return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json", **extra)


def test_the_api_records_updates_with_if_match_signs_and_reads_the_matrix(
    plan, commissioner, commissioning_org, client_for
):
    client = client_for(commissioner)
    base = f"/api/v1/plans/{plan.slug}/commitments/"
    created = _json(
        client, "post", base, {"organisation": commissioning_org.slug, "key_step": 1, "contribution": "Pool budgets."}
    )
    assert created.status_code == 201, created.content
    assert created["ETag"] == '"v1"'
    url = f"/api/v1/commitments/{created.json()['id']}/"
    again = _json(client, "post", base, {"organisation": commissioning_org.slug, "key_step": 1, "contribution": "x"})
    assert again.status_code == 400
    assert _json(client, "patch", url, {"contribution": "No header."}).status_code == 428
    assert _json(client, "patch", url, {"contribution": "Pool budgets by April."}, '"v1"').status_code == 200
    stale = _json(client, "patch", url, {"contribution": "From an old copy."}, '"v1"')
    assert stale.status_code == 412 and stale["Content-Type"].startswith("application/problem+json")
    signed = _json(client, "post", base + "sign/", {"organisation": commissioning_org.slug})
    assert signed.status_code == 200
    lead = signed.json()["partners"][0]
    assert (
        lead["signature"] == "signed"
        and lead["commitments"][0]["commitment"]["contribution"] == "Pool budgets by April."
    )
    assert signed.json()["uncovered_steps"] == [2, 3, 4, 5, 6, 7, 8, 9]
    assert signed.json()["can_become_active"] is False  # the provider has neither signed nor a reason


def test_the_api_answers_403_to_readers_404_to_strangers_and_401_to_anonymous_writes(
    make_plan, commissioning_org, provider_org, client_for, provider, outsider, commissioner
):
    private = make_plan(title="Private plan", visibility="partners", partners=[provider_org])
    base = f"/api/v1/plans/{private.slug}/commitments/"
    body = {"organisation": provider_org.slug, "key_step": 1, "contribution": "x"}
    assert client_for(outsider).get(base).status_code == 404
    assert _json(client_for(outsider), "post", base, body).status_code == 404
    assert client_for(provider).get(base).status_code == 200
    assert _json(client_for(provider), "post", base, body).status_code == 403
    assert _json(client_for(provider), "post", base + "sign/", {"organisation": provider_org.slug}).status_code == 403
    assert (
        _json(
            client_for(provider), "post", base + "not-signed/", {"organisation": provider_org.slug, "reason": "x"}
        ).status_code
        == 403
    )
    assert _json(client_for(None), "post", base + "co-sign/").status_code in (401, 403)
    waived = _json(
        client_for(commissioner), "post", base + "not-signed/", {"organisation": provider_org.slug, "reason": "June."}
    )
    assert waived.status_code == 200 and waived.json()["partners"][1]["not_signed_reason"] == "June."
    bad = _json(client_for(commissioner), "post", base + "sign/", {"organisation": commissioning_org.slug})
    assert bad.status_code == 400 and "no commitments to sign" in bad.content.decode()
