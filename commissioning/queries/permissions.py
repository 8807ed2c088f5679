"""May this user see, answer or resolve a value query?

Seen by whoever may read the value (outcomes.permissions.visible_values: the provider's own
people, the commissioners of its borough, staff). Answered by the provider's data submitters;
re-queried and resolved by the commissioners of the value's borough, either organisation where
an ICB and a council both commission it.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from commissioning.queries.models import ValueQuery
from outcomes import permissions as outcome_permissions
from stakeholders.models import Membership, Role

AnyUser = outcome_permissions.AnyUser


def visible_queries(user: AnyUser) -> QuerySet[ValueQuery]:
    if not user.is_authenticated:
        return ValueQuery.objects.none()
    return ValueQuery.objects.filter(value__in=outcome_permissions.visible_values(user).values("pk"))


def can_answer(user: AnyUser, query: ValueQuery) -> bool:
    return (
        user.is_authenticated
        and user.is_active
        and Membership.objects.filter(user=user, organisation_id=query.provider_id, role=Role.DATA_SUBMITTER).exists()
    )


def can_resolve(user: AnyUser, query: ValueQuery) -> bool:
    return (
        user.is_authenticated
        and user.is_active
        and outcome_permissions.commissioned_boroughs(user).filter(pk=query.value.borough_id).exists()
    )


def can_act(user: AnyUser, query: ValueQuery) -> bool:
    """Answer it or resolve it: who may post to the thread at all."""
    return can_answer(user, query) or can_resolve(user, query)


def get_query_for_user_or_404(user: AnyUser, pk: int) -> ValueQuery:
    """A query the user may not see is a 404: its existence must not leak."""
    query = (
        visible_queries(user)
        .select_related("value__indicator", "value__borough", "provider", "commissioner", "opened_by")
        .filter(pk=pk)
        .first()
    )
    if query is None:
        raise Http404
    return query
