"""Load synthetic demo data for every app. Idempotent: running it again changes nothing."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from actionplan import demo as actionplan_demo
from actionplan.commitments import demo as commitments_demo
from actionplan.consultations import demo as consultations_demo
from actionplan.duplicates import demo as duplicates_demo
from actionplan.voice import demo as voice_demo
from commissioning import demo as commissioning_demo
from commissioning.decisions import demo as decisions_demo
from commissioning.narrative import demo as narrative_demo
from commissioning.queries import demo as queries_demo
from commissioning.schedules import demo as schedules_demo
from commissioning.statements import demo as statements_demo
from opendata import demo as opendata_demo
from outcomes import demo as outcomes_demo
from stakeholders import demo as stakeholders_demo
from stakeholders.models import Organisation, User


class Command(BaseCommand):
    help = "Load synthetic demo organisations, people and outcomes data (never in production)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--quiet", action="store_true")

    @transaction.atomic
    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        if not settings.DEMO_DATA_ALLOWED:
            raise CommandError("Demo data is disabled here (DEMO_DATA_ALLOWED is off, as in production).")
        new_orgs, new_users = stakeholders_demo.seed()
        new_indicators, new_values = outcomes_demo.seed()
        new_plans = actionplan_demo.seed()
        # Commitments, signatures and representatives on the demo plans: keep after the plans demo.
        commitments_demo.seed()
        new_partnerships, new_contracts = commissioning_demo.seed()
        # Meetings, proposals, stances and outcomes in the demo partnerships: keep after it.
        decisions_demo.seed()
        # Reporting schedules re-time the outcomes demo's submissions: keep after it.
        new_schedules = schedules_demo.seed()
        # A provider's reply to one of the outcomes demo's data queries: keep after it.
        queries_demo.seed()
        # Payment statements freeze the approved figures: keep after the outcomes and commissioning demos.
        statements_demo.seed()
        # Comments and responses on the demo plans: keep after the plans demo.
        voice_demo.seed()
        # Duplicated work across the demo plans, one merged and one dismissed: keep after the plans demo.
        duplicates_demo.seed()
        # Consultations and "did it make a difference" answers: keep after the voice demo.
        consultations_demo.seed()
        # Quarterly stories, drafted from the demo's figures, actions, decisions and responses: keep after them all.
        narrative_demo.seed()
        # The open-data package of the demo's figures: keep after the outcomes demo.
        new_revisions = opendata_demo.seed()
        if not options["quiet"]:
            self.stdout.write(
                f"Demo data ready: {Organisation.objects.count()} organisations ({new_orgs} new), "
                f"{User.objects.count()} users ({new_users} new), {new_indicators} new indicators, "
                f"{new_values} new synthetic outcome values, {new_plans} new plans, "
                f"{new_partnerships} new partnerships, {new_contracts} new contracts, "
                f"{new_schedules} new reporting schedules and {new_revisions} new open-data revision(s)."
            )
