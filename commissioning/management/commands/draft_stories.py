"""Draft the quarterly stories now (the beat job's work, on demand).

manage.py draft_stories [--quarter "2026-27 Q2"] [--area E09000007]
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from commissioning.narrative import services
from outcomes.periods import parse_financial_quarter
from stakeholders.models import Area, AreaLevel


class Command(BaseCommand):
    help = "Draft the quarterly mental health stories for London and each borough (idempotent)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--quarter", help='A financial quarter, e.g. "2026-27 Q2"; the last complete one by default.'
        )
        parser.add_argument("--area", action="append", help="An area's GSS code (London or a borough); repeatable.")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        quarter = services.last_complete_quarter()
        if options["quarter"]:
            parsed = parse_financial_quarter(options["quarter"])
            if parsed is None:
                raise CommandError(f'"{options["quarter"]}" is not a financial quarter: write it like 2026-27 Q2.')
            quarter = parsed
        areas = None
        if options["area"]:
            chosen = Area.objects.filter(code__in=options["area"], level__in=[AreaLevel.LONDON, AreaLevel.BOROUGH])
            areas = [a for a in services.story_areas() if a in set(chosen)]
            unknown = sorted(set(options["area"]) - {a.code for a in areas})
            if unknown:
                raise CommandError(f"Not London or a borough: {', '.join(unknown)}")

        def progress(done: int, total: int, result: services.DraftResult) -> None:
            self.stdout.write(f"[{done}/{total}] {result.story.area.name}: {result.outcome}")

        try:
            counts = services.stories_draft(actor=None, quarter_start=quarter, areas=areas, progress=progress)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            f"Stories drafted: {counts['created']} new, {counts['refreshed']} read again from the data, "
            f"{counts['kept']} kept as people left them."
        )
