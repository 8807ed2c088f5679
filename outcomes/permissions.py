"""Every "may this user ...?" about indicators, submissions and outcome values.

- The catalogue is public; users with `outcomes.manage_catalogue` (or staff) manage it.
- Data submitters submit for their own organisations and the boroughs those serve.
- Commissioners (commissioner role in an ICB or local-authority organisation) read and
  review values for the boroughs their organisation commissions.
- Nobody else reads raw values; everyone reads the (suppressed) dashboards.
- Published figures (pages, downloads, the API) are the approved ones. Provisional figures
  (including submitted values not yet reviewed) are for signed-in partners: staff and members
  of a partner organisation (any role). Service users, carers and the public are not partners.
  A deployment may publish them to everyone with PUBLISH_PROVISIONAL_FIGURES (off by default).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.http import Http404

from outcomes.models import Metric, OutcomeValue, Submission
from stakeholders.models import COMMISSIONER_TYPES, Area, Membership, Organisation, Role, User
from stakeholders.permissions import (
    _role_cache,
    require,  # noqa: F401  (re-exported for views)
)

AnyUser = User | AnonymousUser


def is_partner(user: AnyUser) -> bool:
    """Staff, or a member (any role) of a partner organisation. Memberships are read once a request."""
    return user.is_authenticated and (user.is_staff or bool(_role_cache(user)))


def may_see_provisional(user: AnyUser) -> bool:
    """Provisional figures: for partners, or for everyone where the deployment publishes them."""
    return bool(getattr(settings, "PUBLISH_PROVISIONAL_FIGURES", False)) or is_partner(user)


def figures_basis(user: AnyUser, asked: str | None) -> str:
    """The basis of the figures this user is shown when asking for `asked` (approved by default).

    Every output that reads Metric (dashboards, tile map, profile, trend, downloads, the metrics
    API and their cached data, keyed by this basis) asks here.
    """
    if asked == Metric.Basis.PROVISIONAL and may_see_provisional(user):
        return Metric.Basis.PROVISIONAL
    return Metric.Basis.APPROVED


def can_manage_catalogue(user: AnyUser) -> bool:
    return user.is_authenticated and (user.is_staff or user.has_perm("outcomes.manage_catalogue"))


def can_manage_priority_areas(user: AnyUser) -> bool:
    """Staff keep the list of priority areas (what actions improve); everyone may read it."""
    return user.is_authenticated and user.is_staff


def can_manage_populations(user: AnyUser) -> bool:
    return user.is_authenticated and user.is_staff


def submitting_organisations(user: AnyUser) -> QuerySet[Organisation]:
    """Organisations this user may submit data for."""
    if not user.is_authenticated:
        return Organisation.objects.none()
    return (
        Organisation.objects.filter(memberships__user=user, memberships__role=Role.DATA_SUBMITTER)
        .distinct()
        .order_by("name")
    )


def can_submit(user: AnyUser) -> bool:
    return user.is_authenticated and Membership.objects.filter(user=user, role=Role.DATA_SUBMITTER).exists()


def can_submit_for(user: AnyUser, organisation: Organisation) -> bool:
    return (
        user.is_authenticated
        and Membership.objects.filter(user=user, organisation=organisation, role=Role.DATA_SUBMITTER).exists()
    )


def commissioned_boroughs(user: AnyUser) -> QuerySet[Area]:
    """Boroughs this user reviews: those served by commissioning organisations where they commission."""
    if not user.is_authenticated:
        return Area.objects.none()
    return Area.objects.filter(
        organisations__memberships__user=user,
        organisations__memberships__role=Role.COMMISSIONER,
        organisations__type__in=list(COMMISSIONER_TYPES),
    ).distinct()


def can_review(user: AnyUser) -> bool:
    return commissioned_boroughs(user).exists()


def visible_values(user: AnyUser) -> QuerySet[OutcomeValue]:
    """Raw values this user may read: their organisations' own, and those in boroughs they commission."""
    if not user.is_authenticated:
        return OutcomeValue.objects.none()
    if user.is_staff:
        return OutcomeValue.objects.all()
    own = Q(organisation__in=submitting_organisations(user).values("pk"))
    reviewed = Q(borough__in=commissioned_boroughs(user).values("pk"))
    return OutcomeValue.objects.filter(own | reviewed)


def reviewable_values(user: AnyUser) -> QuerySet[OutcomeValue]:
    if not user.is_authenticated:
        return OutcomeValue.objects.none()
    return OutcomeValue.objects.filter(borough__in=commissioned_boroughs(user).values("pk"))


def visible_submissions(user: AnyUser) -> QuerySet[Submission]:
    """Submissions of the organisations the user submits for (and their own), or all for staff."""
    if not user.is_authenticated:
        return Submission.objects.none()
    if user.is_staff:
        return Submission.objects.all()
    return Submission.objects.filter(
        Q(submitted_by=user) | Q(organisation__in=submitting_organisations(user).values("pk"))
    )


def get_submission_for_user_or_404(user: AnyUser, pk: int) -> Submission:
    """Another organisation's submission is a 404: its existence must not leak."""
    submission = visible_submissions(user).select_related("organisation", "submitted_by").filter(pk=pk).first()
    if submission is None:
        raise Http404
    return submission


def can_submit_trial(user: AnyUser, trial: Submission) -> bool:
    """Submitting a trial run's stored file: its own submitter, still a data submitter for its
    organisation. (Whether the trial is clean and unused is the service's question.)"""
    return user.is_authenticated and trial.submitted_by_id == user.pk and can_submit_for(user, trial.organisation)
