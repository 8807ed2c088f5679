"""Reads about people and organisations, with their joins applied."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from stakeholders.models import Area, AreaLevel, Invitation, Membership, Organisation, User


def organisation_list(*, q: str = "", type: str = "", borough: str = "") -> QuerySet[Organisation]:
    """The public directory: filter by free text, type and borough served (GSS code)."""
    qs = Organisation.objects.all()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(description__icontains=q))
    if type:
        qs = qs.filter(type=type)
    if borough:
        # A subquery, not a join: filtering through the same join the count uses would make
        # every organisation found look as if it served only that one borough.
        served = Organisation.boroughs.through.objects.filter(organisation_id=OuterRef("pk"), area__code=borough)
        qs = qs.filter(Exists(served))
    return qs.annotate(borough_count=Count("boroughs", distinct=True)).order_by("name")


def organisation_detail(*, slug: str) -> QuerySet[Organisation]:
    return Organisation.objects.filter(slug=slug).prefetch_related(
        Prefetch("boroughs", queryset=Area.objects.order_by("name"))
    )


def organisation_members(*, organisation: Organisation) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organisation=organisation)
        .select_related("user")
        .order_by("user__display_name", "role")
    )


def organisation_pending_invitations(*, organisation: Organisation) -> QuerySet[Invitation]:
    return Invitation.objects.filter(organisation=organisation, status=Invitation.Status.PENDING).select_related(
        "invited_by"
    )


def memberships_of_my_organisations(*, user: User) -> QuerySet[Membership]:
    """Every membership in the organisations the user belongs to (for the API)."""
    if not user.is_authenticated:
        return Membership.objects.none()
    if user.is_staff:
        return Membership.objects.select_related("user", "organisation")
    return (
        Membership.objects.filter(organisation__memberships__user=user)
        .distinct()
        .select_related("user", "organisation")
    )


def area_list(*, level: str = "") -> QuerySet[Area]:
    qs = Area.objects.select_related("parent")
    if level:
        qs = qs.filter(level=level)
    return qs.order_by("level", "name")


def borough_list() -> QuerySet[Area]:
    return Area.objects.filter(level=AreaLevel.BOROUGH).select_related("parent").order_by("name")


def area_detail(*, code: str) -> QuerySet[Area]:
    return (
        Area.objects.filter(code=code)
        .select_related("parent")
        .prefetch_related(
            Prefetch("organisations", queryset=Organisation.objects.order_by("name")),
            Prefetch("children", queryset=Area.objects.order_by("name")),
        )
    )
