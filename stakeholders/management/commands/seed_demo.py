"""Load synthetic demo data. Idempotent: running it again changes nothing."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from stakeholders import services
from stakeholders.demo import DEMO_EMAIL_DOMAIN, ORGANISATIONS, PEOPLE
from stakeholders.models import Area, AreaLevel, Organisation, User


def _boroughs(specs: list[str]) -> list[Area]:
    boroughs = Area.objects.filter(level=AreaLevel.BOROUGH)
    chosen: list[Area] = []
    for spec in specs:
        if spec == "ALL":
            chosen.extend(boroughs)
        elif spec.startswith("ICS:"):
            chosen.extend(boroughs.filter(parent__short_code=spec[4:]))
        else:
            chosen.append(boroughs.get(short_code=spec))
    return chosen


class Command(BaseCommand):
    help = "Load synthetic demo organisations and users (never in production)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--quiet", action="store_true")

    @transaction.atomic
    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        if not settings.DEMO_DATA_ALLOWED:
            raise CommandError("Demo data is disabled here (DEMO_DATA_ALLOWED is off, as in production).")
        created_orgs = 0
        for name, org_type, specs, description in ORGANISATIONS:
            org = Organisation.objects.filter(name=name).first()
            if org is None:
                org = services.organisation_create(
                    actor=None, name=name, type=org_type, boroughs=_boroughs(specs), description=description
                )
                created_orgs += 1
        created_users = 0
        for local, display, org_name, roles, lived, staff in PEOPLE:
            email = f"{local}@{DEMO_EMAIL_DOMAIN}"
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(
                    email=email,
                    password=settings.DEMO_PASSWORD,
                    display_name=display,
                    lived_experience=lived,
                    show_lived_experience=bool(lived),
                    is_staff=staff,
                    is_superuser=staff,
                )
                created_users += 1
            if org_name:
                org = Organisation.objects.get(name=org_name)
                for role in roles:
                    services.membership_add(actor=None, user=user, organisation=org, role=role)
        if not options["quiet"]:
            self.stdout.write(
                f"Demo data ready: {Organisation.objects.count()} organisations ({created_orgs} new), "
                f"{User.objects.count()} users ({created_users} new)."
            )
