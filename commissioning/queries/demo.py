"""Demo replies on the demo's data queries (called by seed_demo after the outcomes demo queried values).

Idempotent: a thread that already has a reply is left alone.
"""

from __future__ import annotations

from commissioning.queries import services
from commissioning.queries.models import MessageKind, QueryStatus, ValueQuery
from stakeholders.models import Role, User

REPLY = (
    "You are right: this month's file counted people seen only by the crisis line. We are re-running "
    "the extract and will correct the figure here this week."
)


def seed() -> int:
    """The provider answers the first open query on an Enfield value. Returns how many replies it made."""
    query = (
        ValueQuery.objects.filter(status=QueryStatus.OPEN, value__borough__name="Enfield")
        .select_related("value__borough", "provider")
        .order_by("pk")
        .first()
    )
    if query is None or query.messages.filter(kind=MessageKind.REPLY).exists():
        return 0
    submitter = (
        User.objects.filter(memberships__organisation=query.provider, memberships__role=Role.DATA_SUBMITTER)
        .order_by("pk")
        .first()
    )
    if submitter is None:
        return 0
    services.query_reply(actor=submitter, query=query, text=REPLY)
    return 1
