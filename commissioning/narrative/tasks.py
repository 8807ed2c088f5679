"""Background work for quarterly stories. Tasks take ids or nothing, call one service, and are idempotent."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from commissioning.narrative import services
from stakeholders.models import Area


@shared_task(bind=True)
def stories_draft_quarter(self, quarter_start: str | None = None, area_ids: list[int] | None = None) -> dict[str, int]:
    """The quarterly beat job (and the "draft now" button): draft the last complete quarter's story
    for London and every borough, or for the given areas. Re-running creates nothing twice and
    never replaces an edited or published story; progress is reported in the task's state."""
    start = dt.date.fromisoformat(quarter_start) if quarter_start else services.last_complete_quarter()
    areas = None
    if area_ids is not None:
        areas = sorted(Area.objects.filter(pk__in=area_ids), key=lambda a: (a.level != "london", a.name))

    def progress(done: int, total: int, result: services.DraftResult) -> None:
        if self.request.id:
            self.update_state(state="PROGRESS", meta={"done": done, "total": total})

    return services.stories_draft(actor=None, quarter_start=start, areas=areas, progress=progress)
