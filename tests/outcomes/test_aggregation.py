"""Set-based aggregation into metrics, checked against hand-computed figures."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone

from outcomes.aggregation import metrics_rebuild_all, metrics_recompute_cells
from outcomes.models import Door, Indicator, Measure, Metric, OutcomeValue, PeriodType, Polarity, Population
from stakeholders.models import Area, AreaLevel
from tests.factories import IndicatorFactory, OrganisationFactory, SubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db

PERIOD = dt.date(2025, 4, 1)


@pytest.fixture
def submission(db):
    org = OrganisationFactory()
    return SubmissionFactory(organisation=org, submitted_by=UserFactory(), door=Door.API)


def _value(submission, indicator, borough, num, den=None, status="approved", org=None, period=PERIOD):
    return OutcomeValue.objects.create(
        organisation=org or submission.organisation,
        indicator=indicator,
        borough=Area.objects.get(short_code=borough),
        period_start=period,
        numerator=num,
        denominator=den,
        status=status,
        submission=submission,
        submitted_at=timezone.now(),
    )


def _metric(indicator, area_code, basis="approved"):
    return Metric.objects.of_basis(basis).get(indicator=indicator, area__short_code=area_code, period_start=PERIOD)


def test_a_proportion_sums_providers_and_has_wilson_limits(submission):
    indicator = IndicatorFactory(
        code="p",
        name="P",
        definition="d",
        measure=Measure.PROPORTION,
        polarity=Polarity.HIGHER_BETTER,
        period_type=PeriodType.MONTH,
    )
    other = OrganisationFactory()
    _value(submission, indicator, "CMD", 30, 60)
    _value(submission, indicator, "CMD", 20, 40, org=other)
    metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])
    camden = _metric(indicator, "CMD")
    # 50 of 100: Wilson 95% is 40.38% to 59.62%.
    assert camden.numerator == 50 and camden.denominator == 100 and camden.providers == 2
    assert camden.value == Decimal("50")
    assert float(camden.lower95) == pytest.approx(40.38, abs=0.01)
    assert float(camden.upper95) == pytest.approx(59.62, abs=0.01)
    # Camden rolls up into North Central London and London.
    assert _metric(indicator, "NCL").numerator == 50
    assert _metric(indicator, "LDN").numerator == 50


def test_a_rate_uses_the_population_and_byar_limits(submission):
    indicator = IndicatorFactory(
        code="r",
        name="R",
        definition="d",
        measure=Measure.RATE,
        polarity=Polarity.LOWER_BETTER,
        period_type=PeriodType.YEAR,
    )
    camden = Area.objects.get(short_code="CMD")
    Population.objects.create(area=camden, year=2025, population=100_000)
    _value(submission, indicator, "CMD", 100)
    metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])
    metric = _metric(indicator, "CMD")
    assert metric.value == Decimal("100")
    assert float(metric.lower95) == pytest.approx(81.36, abs=0.01)
    assert float(metric.upper95) == pytest.approx(121.63, abs=0.01)


def test_new_populations_recompute_every_rate_cell(submission, django_capture_on_commit_callbacks, monkeypatch):
    from outcomes import services

    rate = IndicatorFactory(code="r", name="R", definition="d", measure=Measure.RATE, period_type=PeriodType.YEAR)
    count = IndicatorFactory(code="c", name="C", definition="d", measure=Measure.COUNT, period_type=PeriodType.YEAR)
    camden = Area.objects.get(short_code="CMD")
    Population.objects.create(area=camden, year=2025, population=100_000)
    _value(submission, rate, "CMD", 100)
    _value(submission, count, "CMD", 100)
    metrics_recompute_cells([(rate.pk, PERIOD.isoformat()), (count.pk, PERIOD.isoformat())])
    assert _metric(rate, "CMD").value == Decimal("100")
    from outcomes import tasks

    handed: list = []
    monkeypatch.setattr(tasks.metrics_recompute, "delay", lambda cells: handed.extend(tuple(c) for c in cells))
    with django_capture_on_commit_callbacks(execute=True):
        services.populations_import_csv(
            actor=UserFactory(is_staff=True),
            stream=io.BytesIO(f"area_code,year,population\n{camden.code},2025,200000\n".encode()),
        )
    assert handed == [(rate.pk, PERIOD.isoformat())]  # the rate's cell, not the count's
    metrics_recompute_cells(handed)
    assert _metric(rate, "CMD").population == 200_000 and _metric(rate, "CMD").value == Decimal("50")


@pytest.fixture
def eager_tasks():
    """Celery tasks run in the calling process, as a worker would run them (no broker needed)."""
    from londonmh.celery import app

    # Celery 5.6 reads the Django-namespaced key (CELERY_TASK_ALWAYS_EAGER, from settings) before
    # the plain one, 5.7 the plain one first: set both.
    keys = ("task_always_eager", "CELERY_TASK_ALWAYS_EAGER")
    previous = {key: app.conf.get(key) for key in keys}
    for key in keys:
        app.conf[key] = True
    assert app.conf.task_always_eager
    try:
        yield
    finally:
        for key, value in previous.items():
            app.conf[key] = value


def test_reimported_populations_recompute_their_rates_through_the_recompute_task_on_commit(
    submission, django_capture_on_commit_callbacks, eager_tasks
):
    """The real enqueue (services hand the cells to tasks.metrics_recompute on commit), run eagerly."""
    from outcomes import services

    rate = IndicatorFactory(code="r-task", name="R", definition="d", measure=Measure.RATE, period_type=PeriodType.YEAR)
    camden = Area.objects.get(short_code="CMD")
    Population.objects.create(area=camden, year=2025, population=100_000)
    _value(submission, rate, "CMD", 100)
    metrics_recompute_cells([(rate.pk, PERIOD.isoformat())])
    staff = UserFactory(is_staff=True)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.populations_import_csv(
            actor=staff, stream=io.BytesIO(f"area_code,year,population\n{camden.code},2025,400000\n".encode())
        )
        assert _metric(rate, "CMD").value == Decimal("100")  # not before the import commits
    assert callbacks
    metric = _metric(rate, "CMD")
    assert (metric.population, metric.value) == (400_000, Decimal("25"))
    assert float(metric.lower95) < 25 < float(metric.upper95)  # the limits follow the population too


def test_a_small_count_uses_exact_poisson_limits_and_is_suppressed_at_every_level(submission):
    indicator = IndicatorFactory(
        code="c",
        name="C",
        definition="d",
        measure=Measure.COUNT,
        polarity=Polarity.LOWER_BETTER,
        period_type=PeriodType.MONTH,
    )
    _value(submission, indicator, "CMD", 3)
    metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])
    camden = _metric(indicator, "CMD")
    assert float(camden.lower95) == pytest.approx(0.6187, abs=1e-4)
    assert float(camden.upper95) == pytest.approx(8.7673, abs=1e-4)
    assert camden.suppressed
    # London's total is a count of 3 too: suppressed like any other (it would give Camden away).
    assert _metric(indicator, "LDN").suppressed


def test_only_approved_values_count_unless_provisional(submission):
    indicator = IndicatorFactory(
        code="c2", name="C", definition="d", measure=Measure.COUNT, period_type=PeriodType.MONTH
    )
    _value(submission, indicator, "CMD", 10)
    _value(submission, indicator, "ISL", 20, status="submitted")
    metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])
    assert _metric(indicator, "LDN", "approved").numerator == 10
    assert _metric(indicator, "LDN", "provisional").numerator == 30
    assert not Metric.objects.filter(area__short_code="ISL", basis="approved").exists()


def test_boroughs_are_compared_with_london_and_ranked_into_quintiles(submission):
    indicator = IndicatorFactory(
        code="q",
        name="Q",
        definition="d",
        measure=Measure.PROPORTION,
        polarity=Polarity.HIGHER_BETTER,
        period_type=PeriodType.MONTH,
    )
    boroughs = list(Area.objects.filter(level=AreaLevel.BOROUGH).order_by("name")[:10])
    for index, borough in enumerate(boroughs):
        _value(submission, indicator, borough.short_code, 100 + index * 80, 1000)
    metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])
    lowest = _metric(indicator, boroughs[0].short_code)
    highest = _metric(indicator, boroughs[-1].short_code)
    assert lowest.comparison == "much_worse" and lowest.quintile == 5
    assert highest.comparison == "much_better" and highest.quintile == 1
    assert _metric(indicator, "LDN").comparison == "not_compared"


def test_recomputing_twice_or_rebuilding_everything_leaves_identical_rows(submission):
    indicator = IndicatorFactory(
        code="i", name="I", definition="d", measure=Measure.PROPORTION, period_type=PeriodType.MONTH
    )
    for code in ("CMD", "ISL", "LAM", "HCK", "BRN", "CRD"):
        _value(submission, indicator, code, 40, 100)
    cell = [(indicator.pk, PERIOD.isoformat())]
    metrics_recompute_cells(cell)
    before = list(Metric.objects.order_by("pk").values())
    assert metrics_recompute_cells(cell) == 0
    metrics_rebuild_all()
    assert list(Metric.objects.order_by("pk").values()) == before


def _stored(indicator, period=PERIOD):
    """(area, basis, also_provisional, numerator) of each stored row of one period."""
    return sorted(
        Metric.objects.filter(indicator=indicator, period_start=period).values_list(
            "area__short_code", "basis", "also_provisional", "numerator"
        )
    )


def test_an_approved_row_is_also_the_provisional_one_until_a_submitted_value_changes_it(submission):
    """One row serves both bases where they agree; a submitted value splits the rows of its cell
    (London's figure, and so every comparison, moves), its approval folds them again, and the
    rebuild stores the same rows throughout."""
    indicator = IndicatorFactory(
        code="ap", name="A", definition="d", measure=Measure.COUNT, period_type=PeriodType.MONTH
    )
    january = dt.date(2025, 1, 1)  # within the four periods a trend reads before April
    for period in (january, PERIOD):
        _value(submission, indicator, "CMD", 10, period=period)
    cells = [(indicator.pk, january.isoformat()), (indicator.pk, PERIOD.isoformat())]
    metrics_recompute_cells(cells)
    region = Area.objects.get(short_code="CMD").parent.short_code
    folded = [("CMD", "approved", True, 10), ("LDN", "approved", True, 10), (region, "approved", True, 10)]
    assert _stored(indicator) == _stored(indicator, january) == sorted(folded)
    provisional = _metric(indicator, "LDN", "provisional")
    assert provisional.basis == "approved" and provisional.basis_shown == "provisional"
    assert metrics_rebuild_all() == 0

    islington = _value(submission, indicator, "ISL", 5, status="submitted")
    assert metrics_recompute_cells(cells[1:]) > 0
    assert _stored(indicator, january) == sorted(folded)  # read by the recompute, left as one row each
    stored = _stored(indicator)
    assert ("ISL", "provisional", False, 5) in stored  # only submitted values: no approved row
    assert ("LDN", "approved", False, 10) in stored and ("LDN", "provisional", False, 15) in stored
    assert _metric(indicator, "LDN", "provisional").basis_shown == "provisional"
    assert _metric(indicator, "LDN", "provisional").numerator == 15
    assert _metric(indicator, "LDN").numerator == 10
    rows = _all_rows()
    assert metrics_rebuild_all() == 0
    Metric.objects.all().delete()
    metrics_rebuild_all()
    assert _all_rows() == rows

    islington.status = "approved"
    islington.save()
    metrics_recompute_cells(cells[1:])
    assert all(also for _, basis, also, _ in _stored(indicator))  # folded again: one row an area
    assert _metric(indicator, "LDN", "provisional").numerator == 15
    assert metrics_rebuild_all() == 0


def test_a_cell_whose_values_are_all_rejected_loses_its_metrics(submission):
    indicator = IndicatorFactory(
        code="x", name="X", definition="d", measure=Measure.COUNT, period_type=PeriodType.MONTH
    )
    value = _value(submission, indicator, "CMD", 12)
    cell = [(indicator.pk, PERIOD.isoformat())]
    metrics_recompute_cells(cell)
    assert Metric.objects.filter(indicator=indicator).exists()
    OutcomeValue.objects.filter(pk=value.pk).update(status="rejected")
    metrics_recompute_cells(cell)
    assert not Metric.objects.filter(indicator=indicator).exists()


# Trend over the last five periods ----------------------------------------------------------

MONTHS = [dt.date(2025, m, 1) for m in range(1, 8)]


def _series(submission, measure, values, polarity=Polarity.HIGHER_BETTER, months=MONTHS):
    """One borough (Camden) with a value in each month; London's figures are the same sums."""
    indicator = IndicatorFactory(
        code=f"t-{measure}-{len(values)}",
        name="T",
        definition="d",
        measure=measure,
        polarity=polarity,
        period_type=PeriodType.MONTH,
    )
    for month, value in zip(months, values, strict=False):
        num, den = value if isinstance(value, tuple) else (value, None)
        _value(submission, indicator, "CMD", num, den, period=month)
    return indicator


def _trend(indicator, month, area="LDN"):
    return Metric.objects.get(indicator=indicator, area__short_code=area, period_start=month, basis="approved").trend


def test_a_proportion_rising_from_10_to_30_percent_is_a_significant_increase(submission):
    # Cochran-Armitage by hand: N = 500, X = 100, p = 0.2, mean score 2; U = 10(-2) + 15(-1) + 0
    # + 25(1) + 30(2) = 50; Var = 0.2 x 0.8 x 100 x (4 + 1 + 0 + 1 + 4) = 160; X2 = 2500 / 160 = 15.6 > 3.84.
    indicator = _series(submission, Measure.PROPORTION, [(n, 100) for n in (10, 15, 20, 25, 30)])
    metrics_rebuild_all()
    assert _trend(indicator, MONTHS[4]) == "increasing"
    assert _trend(indicator, MONTHS[4], "CMD") == "increasing"
    assert _trend(indicator, MONTHS[3]) == ""  # only four periods so far


def test_a_proportion_wobbling_around_20_percent_shows_no_significant_change(submission):
    # U = 20(-2) + 18(-1) + 0 + 19(1) + 21(2) = 3; X2 = 9 / 160 = 0.06.
    indicator = _series(submission, Measure.PROPORTION, [(n, 100) for n in (20, 18, 22, 19, 21)])
    metrics_rebuild_all()
    assert _trend(indicator, MONTHS[4]) == "no_change"


def test_counts_use_the_poisson_test_for_trend(submission):
    # 10, 10, 15, 15, 15: X = 65, U = 15, Var = 65 x (55/5 - 3^2) = 130, X2 = 1.73: not significant.
    slow = _series(submission, Measure.COUNT, [10, 10, 15, 15, 15])
    # 10..30: X = 100, U = 50, Var = 200, X2 = 12.5: significant.
    fast = _series(submission, Measure.COUNT, [10, 15, 20, 25, 30, 35])
    metrics_rebuild_all()
    assert _trend(slow, MONTHS[4]) == "no_change"
    assert _trend(fast, MONTHS[4]) == "increasing"
    assert _trend(fast, MONTHS[5]) == "increasing"  # the window moves on: 15..35


def test_a_trend_is_tested_on_the_published_counts(submission):
    # Exact 10, 12, 14, 16, 18 (X2 = 2.86, not significant) are published as 10, 10, 15, 15, 20:
    # X = 70, U = 25, Var = 140, X2 = 4.46, increasing. The trend tells no more than the published
    # counts, so it cannot narrow them (docs/statistics.md, "Disclosure control").
    indicator = _series(submission, Measure.COUNT, [10, 12, 14, 16, 18])
    metrics_rebuild_all()
    assert _trend(indicator, MONTHS[4]) == "increasing"
    metrics_recompute_cells([(indicator.pk, MONTHS[4].isoformat())])
    assert _trend(indicator, MONTHS[4]) == "increasing"


def test_a_mean_uses_the_slope_of_a_straight_line(submission):
    # Means 10, 11, 12, 13, 14.5: slope 1.1, residual sum of squares 0.1, t = 1.1 / sqrt(0.1/3/10) = 19.1 > 3.18.
    indicator = _series(submission, Measure.MEAN, [(n, 10) for n in (100, 110, 120, 130, 145)])
    metrics_rebuild_all()
    assert _trend(indicator, MONTHS[4]) == "increasing"


def test_a_missing_period_in_the_five_means_no_trend(submission):
    months = [MONTHS[0], MONTHS[1], MONTHS[3], MONTHS[4], MONTHS[5]]
    indicator = _series(submission, Measure.COUNT, [10, 20, 30, 40, 50], months=months)
    metrics_rebuild_all()
    assert _trend(indicator, MONTHS[5]) == ""


def test_the_trend_label_reads_through_the_polarity():
    from outcomes.dashboards import trend_label

    assert trend_label("increasing", "higher") == "Increasing and getting better"
    assert trend_label("increasing", "lower") == "Increasing and getting worse"
    assert trend_label("decreasing", "lower") == "Decreasing and getting better"
    assert trend_label("decreasing", "none") == "Decreasing"
    assert trend_label("no_change", "higher") == "No significant change"
    assert trend_label("", "higher") == ""


def test_changing_an_early_period_recomputes_the_later_trends_as_a_rebuild_would(submission):
    indicator = _series(submission, Measure.COUNT, [10, 15, 20, 25, 30, 35, 40])
    metrics_rebuild_all()
    assert _trend(indicator, MONTHS[6]) == "increasing"
    # March jumps to 200: June's window 15, 200, 25, 30, 35 gives U = -130, X = 305, Var = 610, X2 = 27.7.
    OutcomeValue.objects.filter(indicator=indicator, period_start=MONTHS[2]).update(numerator=200)
    metrics_recompute_cells([(indicator.pk, MONTHS[2].isoformat())])
    incremental = list(
        Metric.objects.order_by("indicator", "area", "period_start", "basis").values_list(
            "area_id", "period_start", "basis", "trend"
        )
    )
    Metric.objects.all().delete()
    metrics_rebuild_all()
    rebuilt = list(
        Metric.objects.order_by("indicator", "area", "period_start", "basis").values_list(
            "area_id", "period_start", "basis", "trend"
        )
    )
    assert incremental == rebuilt
    assert _trend(indicator, MONTHS[5]) == "decreasing"


# The nightly rebuild against the incremental path ----------------------------------------


def _all_rows():
    return list(
        Metric.objects.order_by("indicator", "area", "period_start", "basis").values(
            "indicator",
            "area",
            "period_start",
            "basis",
            "also_provisional",
            "numerator",
            "denominator",
            "population",
            "providers",
            "value",
            "lower95",
            "upper95",
            "lower998",
            "upper998",
            "suppressed",
            "secondary_suppressed",
            "comparison",
            "quintile",
            "trend",
        )
    )


def mixed_history(submission):
    """Every measure, small counts (primary and secondary suppression), submitted values, six months
    for trends, and one pinned sub-region; returns the (indicator id, period) cells it fills."""
    other = OrganisationFactory()
    boroughs = list(Area.objects.filter(level=AreaLevel.BOROUGH).order_by("code"))
    london = Area.objects.get(level=AreaLevel.LONDON)
    Population.objects.create(area=london, year=2025, population=9_000_000)
    for b in boroughs:
        Population.objects.create(area=b, year=2025, population=200_000 + b.pk)
    cells = []
    for n, measure in enumerate((Measure.COUNT, Measure.PROPORTION, Measure.RATE, Measure.MEAN)):
        indicator = IndicatorFactory(
            code=f"r{n}",
            name="R",
            definition="d",
            measure=measure,
            period_type=PeriodType.MONTH,
            polarity=(Polarity.HIGHER_BETTER, Polarity.LOWER_BETTER, Polarity.NO_JUDGEMENT)[n % 3],
        )
        for month in MONTHS[:6]:
            cells.append((indicator.pk, month.isoformat()))
            for k, b in enumerate(boroughs):
                # a few boroughs below 5 (suppressed; their sub-region may then hide too)
                num = 3 if (k + month.month + n) % 11 == 0 else 20 + (k * 7 + month.month * 13 + n) % 60
                den = num + 40 + k if measure in (Measure.PROPORTION, Measure.MEAN) else None
                _value(submission, indicator, b.short_code, num, den, period=month)
                if k % 4 == 0:  # a second provider, sometimes only submitted (provisional basis)
                    status = "submitted" if k % 8 == 0 else "approved"
                    _value(submission, indicator, b.short_code, 2, den and 4, status=status, org=other, period=month)
    # Four boroughs of 8 (shown as 10) and one of 0 in a sub-region: its 32 shown as 30 would pin
    # the hidden one at 0, so the sub-region's total is hidden too (docs/statistics.md).
    pinned = IndicatorFactory(
        code="r-pinned", name="R", definition="d", measure=Measure.COUNT, period_type=PeriodType.MONTH
    )
    region = Area.objects.filter(level=AreaLevel.SUB_REGION).order_by("code").first()
    members = list(Area.objects.filter(parent=region).order_by("code"))[:5]
    for k, b in enumerate(members):
        _value(submission, pinned, b.short_code, 0 if k == 0 else 8)
    cells.append((pinned.pk, PERIOD.isoformat()))
    return cells


def test_the_set_based_rebuild_writes_exactly_the_rows_of_the_incremental_path(submission):
    """Every measure, small counts (primary and secondary suppression), submitted values, trends."""
    cells = mixed_history(submission)
    metrics_recompute_cells(cells)
    incremental = _all_rows()
    assert any(r["secondary_suppressed"] for r in incremental)
    assert any(r["suppressed"] for r in incremental)
    assert any(r["trend"] for r in incremental)
    assert metrics_rebuild_all() == 0  # nothing to change: nothing written
    indexes = _metric_indexes()
    Metric.objects.all().delete()
    assert metrics_rebuild_all() == len(incremental)  # a first build: indexes dropped, built after
    assert _all_rows() == incremental
    assert _metric_indexes() == indexes


@pytest.mark.parametrize(
    ("month", "status"),
    [(5, "approved"), (5, "submitted"), (2, "submitted"), (1, "approved")],
    ids=["latest month, approved", "latest month, submitted", "middle month, submitted", "early month, approved"],
)
def test_one_later_cell_refreshed_alone_gives_the_rows_of_a_rebuild(submission, month, status):
    """A refresh splits and folds only the periods it writes (the cell and the four after); the
    trend's four periods before are read where one row serves both bases. Whatever the change,
    the stored rows are then the rebuild's, row for row."""
    mixed_history(submission)
    assert metrics_rebuild_all() > 0
    # the periods the refresh reads before the cell hold rows that serve both bases
    assert Metric.objects.filter(also_provisional=True, period_start__lt=MONTHS[month]).exists()
    other = OrganisationFactory()
    changed = []
    for n in range(4):
        indicator = Indicator.objects.get(code=f"r{n}")
        # Brent has no submitted values of its own: the change splits its pair in that month
        _value(
            submission,
            indicator,
            "BRT",
            17,
            30 if n in (1, 3) else None,
            status=status,
            org=other,
            period=MONTHS[month],
        )
        changed.append((indicator.pk, MONTHS[month].isoformat()))
    assert metrics_recompute_cells(changed) > 0
    refreshed = _all_rows()
    Metric.objects.all().delete()
    metrics_rebuild_all()
    assert _all_rows() == refreshed


def _metric_indexes():
    """The metrics table's index and constraint definitions, by name."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid), con.conname, con.contype"
            " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid"
            " WHERE i.indrelid = 'outcomes_metric'::regclass ORDER BY 1"
        )
        return cursor.fetchall()


def test_a_first_build_keeps_the_indexes_when_a_reader_holds_the_table(submission):
    """Dropping the indexes needs the table to itself: a reader past the lock timeout means the
    build inserts with them in place, and still writes every row."""
    indicator = IndicatorFactory(
        code="lk", name="L", definition="d", measure=Measure.COUNT, period_type=PeriodType.MONTH
    )
    _value(submission, indicator, "CMD", 12)
    indexes = _metric_indexes()
    reader = psycopg2.connect(**connection.get_connection_params())
    try:
        with reader.cursor() as cursor:  # a reader's transaction, open across the build
            cursor.execute("BEGIN; SELECT count(*) FROM outcomes_metric")
        assert metrics_rebuild_all() == 3  # Camden, its sub-region and London, each row on both bases
    finally:
        reader.close()
    assert _metric_indexes() == indexes
    assert _metric(indicator, "CMD").numerator == 12
    with connection.cursor() as cursor:  # the build's 2 s lock timeout did not outlive it
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"


def _setting_around(setting, caller_value, statements, run):
    """Run `run()` with `setting` at `caller_value` in the caller's transaction; return the setting as
    each of `statements` saw it (on the same connection), and as the caller has it after."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL {setting} = {caller_value}")
        seen = []

        def spy(execute, sql, params, many, context):
            if sql in statements:
                cursor.execute(f"SHOW {setting}")
                seen.append(cursor.fetchone()[0])
            return execute(sql, params, many, context)

        with connection.execute_wrapper(spy):
            run()
        cursor.execute(f"SHOW {setting}")
        return seen, cursor.fetchone()[0]


def test_the_rebuild_samples_its_staging_table_lightly_and_leaves_the_statistics_target_as_it_was(submission):
    indicator = IndicatorFactory(
        code="st", name="S", definition="d", measure=Measure.COUNT, period_type=PeriodType.MONTH
    )
    _value(submission, indicator, "CMD", 12)
    written = []
    seen, after = _setting_around(
        "default_statistics_target", "77", ("ANALYZE metrics_cells",), lambda: written.append(metrics_rebuild_all())
    )
    assert written == [3] and seen == ["10"] and after == "77"


def test_a_refresh_runs_without_jit_and_leaves_the_callers_setting_as_it_was(submission):
    # A cell's estimated cost grows with the stored history: at 5,000,000 values the main
    # statement crossed jit_above_cost and compiled for 0.16 s to run for 0.2 s.
    from outcomes.aggregation.incremental import RECOMPUTE_SQL, TREND_SQL

    indicator = IndicatorFactory(
        code="jt", name="J", definition="d", measure=Measure.COUNT, period_type=PeriodType.MONTH
    )
    _value(submission, indicator, "CMD", 12)
    written = []
    seen, after = _setting_around(
        "jit",
        "on",
        (RECOMPUTE_SQL, TREND_SQL),
        lambda: written.append(metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])),
    )
    assert written[0] > 0 and seen == ["off", "off"] and after == "on"


def test_the_rebuild_corrects_stale_rows_and_removes_metrics_with_no_values_left(submission):
    indicator = IndicatorFactory(
        code="s", name="S", definition="d", measure=Measure.COUNT, period_type=PeriodType.MONTH
    )
    kept = _value(submission, indicator, "CMD", 12)
    gone = _value(submission, indicator, "ISL", 9, period=MONTHS[0])
    metrics_recompute_cells([(indicator.pk, PERIOD.isoformat()), (indicator.pk, MONTHS[0].isoformat())])
    clean = _all_rows()
    Metric.objects.filter(indicator=indicator, period_start=PERIOD).update(numerator=99, trend="increasing")
    OutcomeValue.objects.filter(pk=gone.pk).update(status="rejected")
    assert metrics_rebuild_all() > 0
    assert _all_rows() == [r for r in clean if r["period_start"] == kept.period_start]


@pytest.mark.parametrize("inline", [True, False], ids=["bitmaps in the one pass", "bitmaps grouped by word"])
def test_the_rebuild_counts_providers_whose_ids_fall_in_different_words(submission, monkeypatch, inline):
    """Organisations 64w + b are bit b of word w: 1000 and 1064 share a bit in different words."""
    from outcomes import aggregation

    if not inline:
        monkeypatch.setattr(aggregation, "WORDS_INLINE", 0)
    indicator = IndicatorFactory(
        code="w", name="W", definition="d", measure=Measure.COUNT, period_type=PeriodType.MONTH
    )
    orgs = [OrganisationFactory(id=n) for n in (1000, 1064, 1001, 2047)]
    region = Area.objects.filter(level=AreaLevel.SUB_REGION).order_by("code").first()
    first, second = Area.objects.filter(parent=region).order_by("code")[:2]
    for org in orgs:
        _value(submission, indicator, first.short_code, 7, org=org)
    _value(submission, indicator, second.short_code, 9, org=orgs[0])
    _value(submission, indicator, second.short_code, 6, org=orgs[1], status="submitted")
    metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])
    incremental = _all_rows()
    Metric.objects.all().delete()
    assert metrics_rebuild_all() == len(incremental)
    assert _all_rows() == incremental
    providers = {
        (m.area.short_code, m.basis): m.providers
        for m in Metric.objects.filter(indicator=indicator).select_related("area")
    }
    assert providers[(region.short_code, "approved")] == 4
    assert providers[(region.short_code, "provisional")] == 4
    assert providers[(second.short_code, "approved")] == 1
    assert providers[(second.short_code, "provisional")] == 2
    assert providers[("LDN", "approved")] == 4


def test_migration_0008_folds_the_pairs_the_rebuild_would_fold_and_unfolds_them_back(submission):
    """Its SQL on rows stored before it: each pair the same in every figure becomes one row."""
    import importlib

    migration = importlib.import_module("outcomes.migrations.0008_metric_also_provisional")
    indicator = IndicatorFactory(
        code="m8", name="M", definition="d", measure=Measure.COUNT, period_type=PeriodType.MONTH
    )
    _value(submission, indicator, "CMD", 10)
    _value(submission, indicator, "HRW", 7, status="submitted")
    metrics_recompute_cells([(indicator.pk, PERIOD.isoformat())])
    folded = _all_rows()
    with connection.cursor() as cursor:
        cursor.execute(migration.UNFOLD_SQL)
        cursor.execute("UPDATE outcomes_metric SET also_provisional = false")
        assert Metric.objects.filter(basis="provisional").count() == Metric.objects.filter(basis="approved").count() + 2
        cursor.execute(migration.FOLD_SQL)
    assert _all_rows() == folded
    assert metrics_rebuild_all() == 0
