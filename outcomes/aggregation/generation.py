"""The metrics' cache generation: dashboards cache what they read from Metric under this
counter (outcomes.views), and every recompute or rebuild that writes or removes a row bumps it
on commit, so cached figures last exactly until their cells are recomputed."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction

GENERATION_KEY = "outcomes:metrics-generation"


def metrics_generation() -> int:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, 1, timeout=None)
        generation = cache.get(GENERATION_KEY, 1)
    return int(generation)


def metrics_changed() -> None:
    """Invalidate every cached dashboard (after the current transaction commits)."""

    def bump() -> None:
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:  # not set yet (or evicted): any new value is a new generation
            cache.add(GENERATION_KEY, 2, timeout=None)

    transaction.on_commit(bump)
