"""The nightly rebuild in indicator groups, each on its own connection and transaction.

Other connections only see committed values, so these tests commit (a transactional database).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from outcomes.aggregation import metrics_rebuild_all, metrics_recompute_cells
from outcomes.aggregation import rebuild as aggregation
from outcomes.models import Door, InequalityMetric, Measure, Metric, OutcomeValue
from tests.factories import IndicatorFactory, OrganisationFactory, SubmissionFactory, UserFactory
from tests.outcomes.test_aggregation import _all_rows, _metric_indexes, mixed_history
from tests.outcomes.test_aggregation_groups import _value as group_value

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def history():
    """The mixed history, committed, with its metrics from the incremental path."""
    submission = SubmissionFactory(organisation=OrganisationFactory(), submitted_by=UserFactory(), door=Door.API)
    metrics_recompute_cells(mixed_history(submission))
    return _all_rows()


@pytest.fixture
def groups(monkeypatch):
    """The indicator groups rebuilt, and the threads that rebuilt them."""
    seen: list[tuple[list[int] | None, str]] = []
    rebuild = aggregation._rebuild

    def recording(indicator_ids):
        seen.append((indicator_ids, threading.current_thread().name))
        return rebuild(indicator_ids)

    monkeypatch.setattr(aggregation, "_rebuild", recording)
    return seen


def test_groups_rebuilt_at_once_write_exactly_the_rows_of_the_incremental_path(history, groups):
    indexes = _metric_indexes()
    assert metrics_rebuild_all(workers=2) == 0  # nothing to change: nothing written
    Metric.objects.all().delete()
    assert metrics_rebuild_all(workers=2) == len(history)  # a first build, group by group
    assert _all_rows() == history
    assert _metric_indexes() == indexes  # the groups insert with the indexes in place
    # two groups a rebuild, each a share of the indicators, each on a thread of its own
    ids = sorted(i for group, _ in groups[:2] for i in group)
    assert len(groups) == 4 and all(group for group, _ in groups)
    assert ids == sorted({r["indicator"] for r in history})
    assert all(name.startswith("metrics-rebuild") for _, name in groups)


def test_a_first_build_in_groups_analyses_both_tables_at_once_on_the_groups_threads(history, monkeypatch):
    """Their statistics would otherwise describe the empty tables; each table on a thread of its own."""
    analysed: list[tuple[str, str]] = []
    analyse = aggregation._analyse_on_own_connection

    def recording(table):
        analysed.append((table, threading.current_thread().name))
        return analyse(table)

    monkeypatch.setattr(aggregation, "_analyse_on_own_connection", recording)
    submission = SubmissionFactory(organisation=OrganisationFactory(), submitted_by=UserFactory(), door=Door.API)
    indicator = IndicatorFactory(code="gx", name="G", definition="d", measure=Measure.PROPORTION, breakdowns=["sex"])
    for borough in ("CMD", "ISL"):
        group_value(submission, indicator, borough, 30, 100)
        group_value(submission, indicator, borough, 20, 50, "sex", "female")
        group_value(submission, indicator, borough, 10, 50, "sex", "male")
    Metric.objects.all().delete()
    InequalityMetric.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE outcomes_metric, outcomes_inequalitymetric")
        assert metrics_rebuild_all(workers=2) == Metric.with_groups.count() + InequalityMetric.objects.count()
        assert InequalityMetric.objects.count() > 0
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class"
            " WHERE oid IN ('outcomes_metric'::regclass, 'outcomes_inequalitymetric'::regclass) ORDER BY 1"
        )
        assert cursor.fetchall() == [
            ("outcomes_inequalitymetric", InequalityMetric.objects.count()),
            ("outcomes_metric", Metric.with_groups.count()),
        ]
    assert sorted(t for t, _ in analysed) == ["outcomes_inequalitymetric", "outcomes_metric"]
    assert all(name.startswith("metrics-rebuild") for _, name in analysed)
    assert metrics_rebuild_all(workers=2) == 0
    assert analysed[2:] == []  # not after a rebuild over full tables


def test_groups_correct_stale_rows_and_remove_metrics_with_no_values_left(history, groups):
    first, last = history[0]["indicator"], history[-1]["indicator"]
    Metric.objects.filter(indicator_id__in=[first, last]).update(numerator=99, trend="increasing")
    Metric.objects.filter(indicator_id=first, area__level="london").delete()
    rejected = OutcomeValue.objects.filter(indicator_id=last).update(status="rejected")
    assert rejected > 0
    assert metrics_rebuild_all(workers=3) > 0
    assert len(groups) == 3
    assert _all_rows() == [r for r in history if r["indicator"] != last]


def test_a_group_that_fails_leaves_its_indicators_as_they_were_and_the_next_rebuild_finishes(history, monkeypatch):
    """Every figure belongs to one indicator: the groups that committed are right, the failed one
    is as it was, and the next rebuild puts it right."""
    stale = history[-1]["indicator"]
    fresh = history[0]["indicator"]
    Metric.objects.filter(indicator_id__in=[stale, fresh]).update(trend="increasing")
    rebuild = aggregation._rebuild

    def failing(indicator_ids):
        written = rebuild(indicator_ids)
        if stale in indicator_ids:
            raise RuntimeError("the database went away")  # after its writes: all rolled back
        return written

    monkeypatch.setattr(aggregation, "_rebuild", failing)
    with pytest.raises(RuntimeError):
        metrics_rebuild_all(workers=2)
    rows = _all_rows()
    assert all(r["trend"] == "increasing" for r in rows if r["indicator"] == stale)
    assert [r for r in rows if r["indicator"] != stale] == [r for r in history if r["indicator"] != stale]
    monkeypatch.setattr(aggregation, "_rebuild", rebuild)
    assert metrics_rebuild_all(workers=2) > 0
    assert _all_rows() == history


def test_inside_a_transaction_the_rebuild_is_one_group_on_the_callers_connection(history, groups):
    """Other connections could not see the caller's uncommitted values."""
    from django.db import transaction

    with transaction.atomic():
        Metric.objects.all().delete()
        assert metrics_rebuild_all(workers=2) == len(history)
        assert connection.in_atomic_block
    assert groups == [(None, threading.current_thread().name)]
    assert _all_rows() == history


@pytest.mark.worker
def test_the_nightly_task_rebuilds_in_groups_in_a_real_worker(history, worker_process):
    from outcomes.tasks import metrics_rebuild_all as nightly

    Metric.objects.all().delete()
    nightly.delay()
    worker_process.wait_for(lambda: Metric.objects.count() == len(history) or None, timeout=60)
    assert _all_rows() == history
