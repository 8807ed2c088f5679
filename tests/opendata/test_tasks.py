"""The rebuild's bookkeeping: one queued task per burst, stale tasks end at once, the beat check."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from opendata import tasks
from opendata.models import PackageRelease
from outcomes.aggregation import metrics_generation

pytestmark = pytest.mark.django_db


def test_a_burst_of_changes_queues_one_rebuild(figures):
    tasks.schedule_package_rebuild()
    token = cache.get(tasks.PENDING_KEY)
    tasks.schedule_package_rebuild()
    tasks.schedule_package_rebuild()
    assert cache.get(tasks.PENDING_KEY) == token  # the first task stays the one that will run


def test_a_task_that_is_not_the_pending_one_does_nothing(figures):
    tasks.schedule_package_rebuild()
    assert tasks.package_rebuild.apply(args=["left-over-from-a-restart"]).get() is None
    assert not PackageRelease.objects.exists()


def test_the_pending_task_publishes_and_notes_the_generation_it_built(figures):
    tasks.schedule_package_rebuild()
    number = tasks.package_rebuild.apply(args=[cache.get(tasks.PENDING_KEY)]).get()  # eager: no waiting
    assert number == 1 and PackageRelease.objects.get().number == 1
    assert cache.get(tasks.PENDING_KEY) is None
    assert cache.get(tasks.BUILT_GENERATION_KEY) == metrics_generation()
    # The beat check then finds nothing to do.
    assert tasks.package_rebuild_if_stale.apply().get() is False


def test_the_beat_check_schedules_a_rebuild_when_the_figures_changed_since(figures):
    cache.set(tasks.BUILT_GENERATION_KEY, metrics_generation() - 1, timeout=None)
    assert tasks.package_rebuild_if_stale.apply().get() is True
    assert cache.get(tasks.PENDING_KEY)
