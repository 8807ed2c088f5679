"""Demo commitments, signatures, a reason, co-owners and representatives (issue 23).

Called by seed_demo after the plans demo; idempotent (a plan that already has commitments is
left alone). Everything is invented. In the north central London plan (in consultation):

- the NCL ICB (Priya), Camden Council (Tom) and Northbank (Sam, its organisation admin) record
  commitments covering eight of the nine key steps: step 9 is left uncovered;
- Camden Council co-owns one of the NCL ICB's actions and links it to its commitment;
- all three sign; then Northbank's clinician changes one of its commitments, so Northbank's
  signature needs renewing; Mind in North London (no one on the portal) has not signed, so the
  plan cannot yet become active;
- River (a service user) is the plan's lived-experience representative and co-signed.

Alex (a carer) represents carers on the Camden draft plan: Alex sees the draft and comments first.
(The pan-London plan's partners have reasons recorded by the plans demo, so it could become active.)
"""

from __future__ import annotations

from actionplan.commitments import services
from actionplan.demo import CAMDEN_TITLE, NCL_TITLE
from actionplan.models import Action, ActionCoOwner, KeyStep, Plan, PlanRepresentative
from stakeholders.demo import DEMO_EMAIL_DOMAIN
from stakeholders.models import Organisation, User

PAN_LONDON_REASON = (
    "Signed the London Mental Health Board's paper agreement in March 2026; its officers are not "
    "on the portal yet (demo)."
)


def _user(local: str) -> User:
    return User.objects.get(email=f"{local}@{DEMO_EMAIL_DOMAIN}")


def _org(name: str) -> Organisation:
    return Organisation.objects.get(name=name)


def _step(number: int) -> KeyStep:
    return KeyStep.objects.get(number=number)


def seed() -> int:
    """Seed the NCL plan's matrix and the representatives. Returns how many commitments were made."""
    plan = Plan.objects.filter(title=NCL_TITLE).first()
    if plan is None or plan.commitments.exists():
        return 0
    priya, tom, sam, lee = _user("commissioner"), _user("la.commissioner"), _user("provider"), _user("clinician")
    icb = _org("NHS North Central London Integrated Care Board")
    camden = _org("Camden Council")
    northbank = _org("Northbank Mental Health NHS Foundation Trust")
    actions = list(Action.objects.filter(plan=plan).order_by("key_step__number", "pk"))
    icb_actions = [a for a in actions if a.owner_organisation_id == icb.pk]
    northbank_actions = [a for a in actions if a.owner_organisation_id == northbank.pk]

    shared = icb_actions[0] if icb_actions else None
    if shared is not None and not ActionCoOwner.objects.filter(action=shared, organisation=camden).exists():
        services.co_owner_add(
            actor=priya,
            action=shared,
            organisation=camden,
            share="Provides council premises in Camden and funds the evening housing adviser.",
        )

    def save(actor: User, org: Organisation, step: int, text: str, linked: list[Action] = ()) -> None:
        services.commitment_save(
            actor=actor, plan=plan, organisation=org, key_step=_step(step), contribution=text, actions=list(linked)
        )

    made = 0
    for step, text in [
        (1, "Pool the five boroughs' crisis budgets into one commissioning plan from April 2027."),
        (2, "Fund step-down places in supported housing with the councils."),
        (4, "Lead the alliance contract for community hubs, with outcome-linked payments."),
        (8, "Publish the evaluation of the crisis cafés with the research unit."),
    ]:
        save(priya, icb, step, text, [a for a in icb_actions if a.key_step.number == step][:1])
        made += 1
    save(tom, camden, 2, "Offer two council flats a year for step-down from crisis beds.", [shared] if shared else [])
    save(tom, camden, 5, "Run wellbeing sessions in Camden's libraries and family hubs.")
    made += 2
    for step, text in [
        (3, "Co-produce the crisis pathway with the service-user forum; pay members for their time."),
        (6, "Staff the crisis cafés with peer workers and a nurse every evening."),
        (7, "Report crisis-line waiting times to the portal every month."),
    ]:
        save(sam, northbank, step, text, [a for a in northbank_actions if a.key_step.number == step][:1])
        made += 1

    services.commitments_sign(actor=priya, plan=plan, organisation=icb)
    services.commitments_sign(actor=tom, plan=plan, organisation=camden)
    services.commitments_sign(actor=sam, plan=plan, organisation=northbank)
    # A clinician at Northbank sharpens a commitment after it was signed: it needs a new signature.
    save(lee, northbank, 7, "Report crisis-line waiting times and call-backs to the portal every month.")

    river, alex = _user("serviceuser"), _user("carer")
    if not PlanRepresentative.objects.filter(plan=plan, user=river).exists():
        services.representative_add(actor=priya, plan=plan, user=river)
    services.matrix_cosign(actor=river, plan=plan)
    camden_plan = Plan.objects.filter(title=CAMDEN_TITLE).first()
    if camden_plan is not None and not PlanRepresentative.objects.filter(plan=camden_plan, user=alex).exists():
        services.representative_add(actor=tom, plan=camden_plan, user=alex)
    return made
