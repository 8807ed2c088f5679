"""Background work for open data: the debounced rebuild of the package after metrics change.

A burst of recomputes (an import touching many cells, the nightly rebuild) must give one
rebuild, after it has settled: every change notes its time, at most one rebuild task waits in
the queue, and when it runs before OPEN_DATA_DEBOUNCE_SECONDS of quiet it puts itself back for
the rest. The beat schedule's check catches anything that changed metrics without a hook
(catalogue edits bump the metrics generation too) and a lost task.
"""

from __future__ import annotations

import time
import uuid

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from opendata import services

LAST_CHANGE_KEY = "opendata:last-change"
PENDING_KEY = "opendata:rebuild-pending"
BUILT_GENERATION_KEY = "opendata:built-generation"


def _debounce() -> float:
    return float(settings.OPEN_DATA_DEBOUNCE_SECONDS)


def schedule_package_rebuild() -> None:
    """Note a change and make sure one rebuild is queued to run after the quiet period."""
    cache.set(LAST_CHANGE_KEY, time.time(), timeout=None)
    token = uuid.uuid4().hex
    # The pending mark names the one queued task; it expires on its own, so a task lost with its
    # worker cannot block rebuilds for long.
    if cache.add(PENDING_KEY, token, timeout=int(_debounce() * 10) + 600):
        package_rebuild.apply_async(args=[token], countdown=_debounce())


@shared_task(bind=True, max_retries=3, default_retry_delay=60)
def package_rebuild(self, token: str) -> int | None:  # type: ignore[no-untyped-def]
    """Publish a new revision of the package once the figures settled; its number, or None.

    Only the task named by the pending mark runs: a duplicate (a redelivery, a task left over
    from before a restart) ends at once. Run eagerly (tests), it publishes straight away.
    """
    from outcomes.aggregation import metrics_generation

    if cache.get(PENDING_KEY) != token:
        return None
    quiet_for = time.time() - float(cache.get(LAST_CHANGE_KEY) or 0)
    if quiet_for < _debounce() and not self.request.is_eager:
        package_rebuild.apply_async(args=[token], countdown=_debounce() - quiet_for)
        return None
    cache.delete(PENDING_KEY)
    generation = metrics_generation()
    release = services.package_publish(actor=None)
    cache.set(BUILT_GENERATION_KEY, generation, timeout=None)
    return release.number if release else None


@shared_task
def package_rebuild_if_stale() -> bool:
    """The beat check: schedule a rebuild when the metrics changed since the last build."""
    from outcomes.aggregation import metrics_generation

    if cache.get(BUILT_GENERATION_KEY) != metrics_generation():
        schedule_package_rebuild()
        return True
    return False
