"""Every "may this user ...?" about open data.

The package holds only what the public may see (figures under disclosure control, the
catalogue, the areas), so anyone may read it, signed in or not. A contract's OCDS release
follows the contract's own access (commissioning.permissions): the public summary for a
publishable contract, the full release for its commissioners and providers, and a 404 for
anyone else. Only staff may ask for a rebuild by hand; the system rebuilds it on its own.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from stakeholders.models import User

AnyUser = User | AnonymousUser


def can_read_open_data(user: AnyUser) -> bool:
    return True


def can_rebuild_package(user: AnyUser) -> bool:
    return user.is_authenticated and user.is_staff
