"""Aggregation benchmark: the full metrics rebuild against bare SQL sums, and incremental recomputes.

    .venv/bin/python bench/aggregate.py [--values 5000000] [--groups] [--repeats 3] [--database londonmh_bench_agg]
        [--keep]

With --groups, two thirds of the values are group rows: each provider's all-people value of a
borough, indicator and month comes with its women's and men's values (breakdown "sex"), and the
populations with their groups', so every metric is computed for all people and each group, and
the gap measures (InequalityMetric) with them.

What it does, in one run on a scratch database it creates, migrates and drops:

1. Generates --values outcome values set-based (generate_series): 33 boroughs x 50 indicators
   (counts, proportions, rates and means in turn) x 25 providers x as many months as that
   takes (120 months for 5,000,000), every value approved, plus populations for every area;
   then VACUUM (ANALYZE), as autovacuum would have done before a nightly run.
2. The floor: a bare hand-written `INSERT INTO unlogged_table SELECT indicator, borough,
   period, sum(numerator), sum(denominator) ... GROUP BY` over the same values, as a plain
   statement, and again with the rebuild's own session settings (256 MB work_mem, no JIT), so
   that the rebuild's larger work_mem cannot flatter the ratio.
3. The full rebuild (`outcomes.aggregation.metrics_rebuild_all`, what the nightly job runs:
   METRICS_REBUILD_WORKERS groups of indicators at once, default 2, one a core here) into an
   empty metrics table, and again over a full one (nothing changes, nothing written); every
   value is approved, so each metric row serves both bases (one row per area and cell). The
   bare SQL and the first build run --repeats times in turn (default 3, the metric tables
   emptied between); it prints each run's ratio = rebuild / bare SQL and their median (target
   <= 2), and the ratio to the tuned bare SQL; then the rebuild over a full table against the
   median bare SQL, and the same two rebuilds as one group on one connection (workers=1).
4. Incremental: one provider's 1,000-value submission (one month; its values of the first
   indicators, a cell's 33 boroughs, and with --groups each borough's three rows, so eleven
   cells) is written and committed, then the on-commit recompute of the touched
   (indicator, period) cells runs (`outcomes.tasks.metrics_recompute`, in-process): the time
   from commit to refreshed metrics. Done three times (the latest month, then the one before,
   then the one before that) on the full history and, in the same run, on a second scratch
   database holding a tenth of it (--small-values, default values / 10), so the two can be
   compared (target <= 1 s, and within 1.5x of each other). Each history holds at least nine
   months (the small one fewer indicators where it must: TREND_MONTHS), so that both refreshes
   read the same trend periods and only the history's size differs. Before it, the
   metric tables are vacuumed and analysed and a checkpoint taken, as a night's autovacuum
   would have done before the day's submissions.

A wrong answer cannot pass for a result: the rebuild must produce one metric per (indicator,
area, period, basis) present, and the incremental recompute must move the touched London
numerators by exactly the change.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import _create_database, _django_env, _drop_database, _say, _server_url, _setup_django

BOROUGHS = 33
INDICATORS = 50
PROVIDERS = 25
MEASURES = ("count", "proportion", "rate", "mean")
PER_MONTH = BOROUGHS * INDICATORS * PROVIDERS  # 41,250 values a month


GROUPS = ("", "female", "male")  # --groups: each value's all-people row and its two groups'


def _fixtures(values: int, groups: bool = False, indicators: int = INDICATORS) -> dict[str, object]:
    """Providers, `indicators` indicators, a submission and populations; then the values, set-based."""
    from django.contrib.auth.models import Group
    from django.db import connection

    from outcomes.models import Door, Indicator, Submission
    from stakeholders.models import Area, AreaLevel, Organisation, OrganisationType, User

    user = User.objects.create_user(email="bench@example.org", password=None, display_name="Bench submitter")
    orgs = [
        Organisation.objects.create(
            name=f"Bench Trust {n:02d}",
            slug=f"bench-trust-{n:02d}",
            type=OrganisationType.NHS_MH_PROVIDER,
            group=Group.objects.create(name=f"organisation:bench-trust-{n:02d}"),
        )
        for n in range(1, PROVIDERS + 1)
    ]
    indicator_count = indicators
    indicators = [
        Indicator.objects.create(
            code=f"bench-{MEASURES[(n - 1) % 4]}-{n:02d}",
            name=f"Bench indicator {n:02d}",
            definition="Benchmark indicator.",
            measure=MEASURES[(n - 1) % 4],
            polarity=("higher", "lower", "none")[n % 3],
            period_type="month",
        )
        for n in range(1, indicator_count + 1)
    ]
    submission = Submission.objects.create(
        organisation=orgs[0], submitted_by=user, door=Door.API, status=Submission.Status.COMPLETED
    )
    boroughs = list(Area.objects.filter(level=AreaLevel.BOROUGH).order_by("code").values_list("pk", flat=True))
    assert len(boroughs) == BOROUGHS, boroughs
    rows = len(GROUPS) if groups else 1
    per_month = BOROUGHS * indicator_count * PROVIDERS * rows
    months = max(3, round(values / per_month))  # whole months, so every cell is complete
    values = months * per_month
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO outcomes_population (area_id, year, population, source, updated_at)"
            " SELECT a.id, y, 150000 + (a.id * 7919) % 250000, 'bench', now()"
            " FROM stakeholders_area a, generate_series(2010, 2030) y"
        )
        if groups:
            cursor.execute(
                "INSERT INTO outcomes_population (area_id, year, breakdown, population_group, population, source,"
                " updated_at)"
                " SELECT a.id, y, 'sex', g, 75000 + (a.id * 7919) % 125000, 'bench', now()"
                " FROM stakeholders_area a, generate_series(2010, 2030) y, unnest(ARRAY['female', 'male']) g"
            )
        # numerator/denominator by measure, pseudo-random but deterministic (hash of the key);
        # small counts appear (numerators 0..40 for a twelfth of the rows) so suppression works.
        cursor.execute(
            """
            INSERT INTO outcomes_outcomevalue (organisation_id, indicator_id, borough_id, period_start,
                breakdown, population_group, numerator, denominator, note, status, query_message, submission_id,
                submitted_at)
            SELECT o.id, i.id, b.id, (date_trunc('month', now()) - make_interval(months => m))::date,
                CASE WHEN g.g = '' THEN '' ELSE 'sex' END, g.g,
                CASE WHEN i.measure = 'mean' THEN (h %% 300 + 20) * (10 + (h / 300) %% 20)
                     WHEN h %% 12 = 0 THEN h %% 41
                     ELSE h %% 900 END,
                CASE WHEN i.measure IN ('proportion', 'mean') THEN h %% 300 + 20 + CASE WHEN i.measure = 'proportion'
                     THEN 900 ELSE 0 END END,
                '', 'approved', '', %(submission)s, now()
            FROM generate_series(1, %(months)s) m
            CROSS JOIN unnest(%(orgs)s::bigint[]) o(id)
            CROSS JOIN unnest(%(boroughs)s::bigint[]) b(id)
            CROSS JOIN (SELECT id, measure FROM outcomes_indicator WHERE id = ANY(%(indicators)s)) i
            CROSS JOIN unnest(%(groups)s::text[]) g(g)
            CROSS JOIN LATERAL (SELECT abs(hashint8(o.id * 1000003 + i.id * 10007 + b.id * 101 + m
                                                    + length(g.g) * 7)) AS h) hh
            """,
            {
                "months": months,
                "orgs": [o.pk for o in orgs],
                "boroughs": boroughs,
                "indicators": [i.pk for i in indicators],
                "submission": submission.pk,
                "groups": list(GROUPS if groups else GROUPS[:1]),
            },
        )
        inserted = cursor.rowcount
        cursor.execute("ANALYZE")
    assert inserted == values, (inserted, values)
    return {
        "values": values,
        "months": months,
        "org_id": orgs[1].pk,
        "indicators": [i.pk for i in indicators],
        "boroughs": boroughs,
    }


# A refresh's trend reads the four periods before each changed one and rewrites the four after it,
# and the bench changes each of the latest three months in turn: a history shorter than seven
# months gives its refresh less trend work than a long one's, however many values it holds (the
# 495,000 group values spread over 50 indicators made four months: 5,148 metric rows through the
# trend against 7,722). So the small history keeps at least nine months by holding fewer
# indicators; the refresh changes the same eleven cells, of the same shape, in both.
TREND_MONTHS = 9
CHANGED_INDICATORS = 11  # 1,000 values of one provider: 33 boroughs x 3 rows (with groups) a cell


def _indicators_for(values: int, groups: bool) -> int:
    """As many indicators (up to INDICATORS) as let `values` span TREND_MONTHS months."""
    per_indicator_month = BOROUGHS * PROVIDERS * (len(GROUPS) if groups else 1)
    return max(CHANGED_INDICATORS, min(INDICATORS, values // (TREND_MONTHS * per_indicator_month)))


def _bare_sql(tuned: bool = False, groups: bool = False) -> float:
    """The floor; `tuned` runs it with the rebuild's own session settings (work_mem 256 MB, no JIT)."""
    from django.db import connection, transaction

    key = "indicator_id, borough_id, period_start" + (", breakdown, population_group" if groups else "")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_sums (indicator_id bigint, borough_id bigint, period_start date,"
            + (" breakdown text, population_group text," if groups else "")
            + " numerator numeric, denominator bigint)"
        )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if tuned:
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            f"INSERT INTO bench_sums SELECT {key}, sum(numerator), sum(denominator)"
            f" FROM outcomes_outcomevalue WHERE status = 'approved' GROUP BY {key}"
        )
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_sums")
    return seconds


def _metric_count() -> int:
    """Metric rows; every value is approved, so each must be an approved row that is also the provisional one."""
    from outcomes.models import Metric

    assert not Metric.with_groups.exclude(basis="approved", also_provisional=True).exists()
    return Metric.with_groups.count()


def _expected_metrics() -> int:
    """One metric per (indicator, period) for each borough, ICS and London with values: every value is
    approved, so each approved row is also the provisional one."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT (v.indicator_id, v.period_start, v.population_group, v.borough_id))"
            " + count(DISTINCT (v.indicator_id, v.period_start, v.population_group, b.parent_id))"
            " + count(DISTINCT (v.indicator_id, v.period_start, v.population_group))"
            " FROM outcomes_outcomevalue v JOIN stakeholders_area b ON b.id = v.borough_id"
        )
        return cursor.fetchone()[0]


def _incremental(fixtures: dict[str, object], repeats: int = 3) -> list[float]:
    """A 1,000-value change by one provider in one month, committed; then the recompute of its cells."""
    from django.db import connection, transaction

    from outcomes.models import Metric
    from outcomes.tasks import metrics_recompute
    from stakeholders.models import Area, AreaLevel

    london = Area.objects.get(level=AreaLevel.LONDON)
    indicator_ids: list[int] = fixtures["indicators"][:31]  # type: ignore[index]
    times = []
    for attempt in range(repeats):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT max(period_start) - make_interval(months => %s) FROM outcomes_outcomevalue", [attempt]
            )
            period = cursor.fetchone()[0].date()
        before = dict(
            Metric.objects.filter(
                area=london, period_start=period, basis="approved", indicator_id__in=indicator_ids
            ).values_list("indicator_id", "numerator")
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE outcomes_outcomevalue SET numerator = numerator + 1"
                " WHERE id IN (SELECT id FROM outcomes_outcomevalue WHERE organisation_id = %s AND period_start = %s"
                " AND indicator_id = ANY(%s) ORDER BY indicator_id, borough_id, population_group LIMIT 1000)"
                " RETURNING indicator_id, population_group",
                [fixtures["org_id"], period, indicator_ids],
            )
            rows = cursor.fetchall()
        assert len(rows) == 1000, len(rows)
        cells = sorted({(i, period.isoformat()) for i, _ in rows})
        changed = [i for i, group in rows if group == ""]  # the all-people figures move by these
        started = time.perf_counter()  # committed: this is where the on-commit task starts
        metrics_recompute([[i, p] for i, p in cells])
        times.append(time.perf_counter() - started)
        after = dict(
            Metric.objects.filter(
                area=london, period_start=period, basis="approved", indicator_id__in=indicator_ids
            ).values_list("indicator_id", "numerator")
        )
        for indicator_id in set(changed):
            assert after[indicator_id] - before[indicator_id] == changed.count(indicator_id), indicator_id
    return times


def _run(
    database: str, values: int, full: bool, keep: bool = False, groups: bool = False, repeats: int = 3
) -> dict[str, float]:
    indicators = _indicators_for(values, groups)
    from django.db import connection, connections

    env = _django_env(database)
    _create_database(database)
    try:
        _setup_django(env)
        from django.core.management import call_command

        connections["default"].settings_dict["NAME"] = database
        connection.close()
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        fixtures = _fixtures(values, groups, indicators)
        values = fixtures["values"]  # type: ignore[assignment]
        _say(
            f"[{database}] generated {values:,} values ({indicators} indicators x {fixtures['months']} months)"
            f" in {time.perf_counter() - started:.1f} s"
        )
        with connection.cursor() as cursor:
            # A nightly job meets a table autovacuum has seen: hint bits set, statistics current. A
            # freshly loaded one would have its first reader (the bare SQL) set every hint bit, and
            # autovacuum start on it in the middle of the measured phases.
            cursor.execute("VACUUM (ANALYZE) outcomes_outcomevalue")
        result: dict[str, float] = {}
        if full:
            from outcomes.aggregation import metrics_rebuild_all

            # The floor and the first build, `repeats` times in turn (the metric tables emptied
            # between): one run of each moved by a fifth from one minute to the next on this
            # machine, and each pair's ratio is taken within the pair.
            bares, tuneds, rebuilds = [], [], []
            for attempt in range(repeats):
                with connection.cursor() as cursor:
                    if attempt:
                        cursor.execute("TRUNCATE outcomes_metric, outcomes_inequalitymetric")
                    cursor.execute("CHECKPOINT")
                bares.append(_bare_sql(groups=groups))
                tuneds.append(_bare_sql(tuned=True, groups=groups))
                started = time.perf_counter()
                metrics_rebuild_all()  # settings.METRICS_REBUILD_WORKERS groups at once, as the nightly job
                rebuilds.append(time.perf_counter() - started)
                count, expected = _metric_count(), _expected_metrics()
                assert count == expected, (count, expected)
                _say(
                    f"  run {attempt + 1}: bare SQL {bares[-1]:.2f} s (tuned {tuneds[-1]:.2f} s),"
                    f" first build {rebuilds[-1]:.2f} s, ratio {rebuilds[-1] / bares[-1]:.2f}"
                )
            ratios = [r / b for r, b in zip(rebuilds, bares, strict=True)]
            to_tuned = statistics.median(r / t for r, t in zip(rebuilds, tuneds, strict=True))
            bare, tuned, rebuild = (statistics.median(x) for x in (bares, tuneds, rebuilds))
            _say(f"{'bare SQL sums into an unlogged table:':<46}{bare:8.2f} s   (median of {repeats})")
            _say(f"{'  the same with the rebuild`s work_mem, no JIT:':<46}{tuned:8.2f} s")
            _say(
                f"{'full rebuild into an empty metrics table:':<46}{rebuild:8.2f} s   ratio"
                f" {statistics.median(ratios):5.2f}   (median of the runs' {', '.join(f'{r:.2f}' for r in ratios)};"
                f" to the tuned bare SQL {to_tuned:5.2f})"
            )
            _say(f"  ({count:,} metric rows, each approved and provisional: every borough, ICS and London)")
            started = time.perf_counter()
            written = metrics_rebuild_all()
            again = time.perf_counter() - started
            assert written == 0, written
            _say(
                f"{'rebuild again (nothing changed, 0 rows written):':<46}{again:8.2f} s   ratio {again / bare:5.2f}"
                f"   (to the tuned bare SQL {again / tuned:5.2f})"
            )
            result.update(bare=bare, tuned=tuned, rebuild=rebuild, again=again)
            # The same on one connection, for comparison: what the rebuild costs without the
            # second core (and what it costs inside a caller's transaction).
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE outcomes_metric")
                cursor.execute("CHECKPOINT")
            started = time.perf_counter()
            metrics_rebuild_all(workers=1)
            single = time.perf_counter() - started
            assert _metric_count() == expected
            started = time.perf_counter()
            assert metrics_rebuild_all(workers=1) == 0
            single_again = time.perf_counter() - started
            _say(
                f"{'  one group on one connection (workers=1):':<46}{single:8.2f} s   ratio {single / bare:5.2f};"
                f" again {single_again:.2f} s, ratio {single_again / bare:5.2f}"
            )
            result.update(single=single, single_again=single_again)
        else:
            from outcomes.aggregation import metrics_rebuild_all

            metrics_rebuild_all()
        with connection.cursor() as cursor:
            # As after a night's rebuild, by the time the day's submissions come in: autovacuum has
            # seen the metric tables the rebuilds above rewrote, and their pages are on disk. (This
            # machine's server runs with autovacuum off: nothing else would analyse the gap
            # measures' table, whose statistics would still describe it empty; and a checkpoint
            # could write the rebuilds' pages back during a measured refresh.)
            cursor.execute("VACUUM (ANALYZE) outcomes_metric, outcomes_inequalitymetric")
            cursor.execute("CHECKPOINT")
        times = _incremental(fixtures)
        result["incremental"] = statistics.median(times)
        result["values"] = values
        _say(
            f"{f'1,000-value change -> refreshed metrics ({values:,} stored):':<46}"
            f"{result['incremental']:8.3f} s   (median of {', '.join(f'{t:.3f}' for t in times)})"
        )
        connection.close()
        return result
    finally:
        connections.close_all()
        if keep:
            _say(f"kept database {database}")
        else:
            _drop_database(database)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=int, default=5_000_000)
    parser.add_argument("--small-values", type=int, help="the smaller history for the incremental comparison")
    parser.add_argument("--database", default="londonmh_bench_agg", help="scratch database (created, then dropped)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    parser.add_argument("--groups", action="store_true", help="two thirds of the values are group rows (sex)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the bare SQL and first build (median)")
    args = parser.parse_args(argv)
    small = args.small_values or args.values // 10
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "londonmh.settings")
    from urllib.parse import urlsplit

    _say(f"scratch databases {args.database}, {args.database}_small on {urlsplit(_server_url()).hostname}")
    big = _run(args.database, args.values, full=True, keep=args.keep, groups=args.groups, repeats=args.repeats)
    little = _run(f"{args.database}_small", small, full=False, keep=args.keep, groups=args.groups)
    _say(
        f"incremental: {little['incremental']:.3f} s at {little['values']:,} values, {big['incremental']:.3f} s at"
        f" {big['values']:,}: ratio {big['incremental'] / little['incremental']:.2f} (target <= 1 s, within 1.5x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
