"""Print the demo sign-ins (used by `make run`)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from stakeholders.demo import DEMO_EMAIL_DOMAIN, PEOPLE


class Command(BaseCommand):
    help = "Print the demo accounts and their shared password."

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        if not settings.DEMO_DATA_ALLOWED:
            return
        self.stdout.write(f"Demo sign-ins (password for all: {settings.DEMO_PASSWORD}):")
        for local, _display, org_name, roles, lived, staff in PEOPLE:
            what = (
                "staff, Django admin"
                if staff
                else ", ".join(str(r.label) for r in roles) or ("service user" if lived == "service_user" else "carer")
            )
            where = f" at {org_name}" if org_name else ""
            self.stdout.write(f"  {local + '@' + DEMO_EMAIL_DOMAIN:<42} {what}{where}")
