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


def landing_url(*, user: User) -> str:
    """Where a person lands after signing in: where their work is, decided by their roles.

    - commissioners and data submitters (providers): My work, where their actions and data tasks are;
    - moderators (and superusers, who may moderate): the moderation queue;
    - other staff: My work;
    - everyone else (service users, carers, clinicians, academics, organisation admins): the one
      plan they follow, or the plans list when they follow none or several.

    An explicit, safe ``next`` parameter wins over this (the sign-in view asks it first).
    One query for roles (shared with permissions), at most one more for follows.
    """
    from django.urls import reverse

    from stakeholders.models import Role
    from stakeholders.permissions import has_role

    if not user.is_authenticated:
        return reverse("plan_list")
    if has_role(user, Role.COMMISSIONER) or has_role(user, Role.DATA_SUBMITTER):
        return reverse("my_work")
    if user.is_active and (user.is_superuser or has_role(user, Role.MODERATOR)):
        return reverse("voice_moderation_queue")
    if user.is_staff:
        return reverse("my_work")
    # Imported late: actionplan depends on stakeholders, not the other way round.
    from actionplan.models import Follow
    from actionplan.permissions import plans_visible_to

    slugs = list(
        Follow.objects.filter(user_id=user.pk, plan__in=plans_visible_to(user))
        .order_by()
        .values_list("plan__slug", flat=True)[:2]
    )
    if len(slugs) == 1:
        return reverse("plan_detail", kwargs={"slug": slugs[0]})
    return reverse("plan_list")
