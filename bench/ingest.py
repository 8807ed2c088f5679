"""Import benchmark: a 1,000,000-row CSV through the real import service, against a keyed COPY.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--naive-rows 10000] [--database londonmh_bench]

What it does, all in one run on a scratch database it creates, migrates and drops:

1. Sets up 25 providers serving all 33 boroughs, 20 monthly indicators (counts, proportions,
   rates, means) and a data submitter for all 25; generates a valid CSV of --rows rows
   (providers x boroughs x indicators x months) to a temporary file, streamed, never in memory.
2. The floor: COPYs the same file into a logged table of text columns with a unique index on
   the natural key (organisation, indicator_code, borough_code, period): the least any correct
   import must do (read every byte, write every row durably, check every key is unique).
3. The import: `services.submission_create(door=Door.API, stream=open(path, "rb"),
   run_inline=True)`, the same service the API and the upload page call, in a child process
   that does nothing else, so its peak RSS (ru_maxrss) is the import's own.
4. The same again for re-importing the unchanged file (every row unchanged, nothing written).
5. For reference, --naive-rows rows through a naive per-row `OutcomeValue(...).save()`.

It prints each time, ratio = import / keyed COPY (target <= 2.5, aim 1.5) and peak RSS
(target <= 300 MB). DATABASE_URL names the server (any database on it); without it the
machine's PostgreSQL on 127.0.0.1:5432 is used. REDIS_URL likewise (progress is published
to the cache). Speed goals live here, never in timed tests.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PROVIDERS = 25
INDICATORS = 20
MEASURES = ("count", "proportion", "rate", "mean")  # cycled over the indicators
HEADER = ("indicator_code", "borough_code", "period", "numerator", "denominator", "note", "organisation")


def _say(message: str) -> None:
    print(message, flush=True)


# Database and Django set-up ----------------------------------------------------------------


def _server_url() -> str:
    return os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _admin_connection():  # type: ignore[no-untyped-def]
    import psycopg2

    conn = psycopg2.connect(_with_database(_server_url(), "postgres"))
    conn.autocommit = True
    return conn


def _create_database(name: str) -> None:
    conn = _admin_connection()
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def _drop_database(name: str) -> None:
    conn = _admin_connection()
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def _django_env(database: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = _with_database(_server_url(), database)
    env["DEBUG"] = "false"  # DEBUG would keep every SQL statement in memory
    env.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
    env.setdefault("ALLOWED_HOSTS", "localhost")
    env["CACHE_KEY_PREFIX"] = f"bench:{database}"
    env["CONN_MAX_AGE"] = "0"
    return env


def _setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "londonmh.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _checkpoint() -> None:
    """Flush dirty buffers so no measured phase pays for the previous one's writes."""
    from django.db import connection

    with connection.cursor() as cursor:
        try:
            cursor.execute("CHECKPOINT")
        except Exception:  # needs superuser (or pg_checkpoint): fairness only, not correctness
            _say("  (CHECKPOINT not allowed for this user; phases may share write-back costs)")


# Fixtures and the file ----------------------------------------------------------------------


def _fixtures() -> dict[str, object]:
    """Providers, indicators and a submitter; returns what the file generator needs."""
    from django.contrib.auth.models import Group

    from outcomes.models import Indicator
    from stakeholders.models import Area, AreaLevel, Membership, Organisation, OrganisationType, Role, User

    boroughs = list(Area.objects.filter(level=AreaLevel.BOROUGH).order_by("code").values_list("code", flat=True))
    user = User.objects.create_user(email="bench@example.org", password=None, display_name="Bench submitter")
    orgs = []
    for n in range(1, PROVIDERS + 1):
        slug = f"bench-trust-{n:02d}"
        org = Organisation.objects.create(
            name=f"Bench Trust {n:02d}",
            slug=slug,
            type=OrganisationType.NHS_MH_PROVIDER,
            group=Group.objects.create(name=f"organisation:{slug}"),
        )
        org.boroughs.set(Area.objects.filter(level=AreaLevel.BOROUGH))
        Membership.objects.create(user=user, organisation=org, role=Role.DATA_SUBMITTER)
        orgs.append(org)
    indicators = []
    for n in range(1, INDICATORS + 1):
        measure = MEASURES[(n - 1) % len(MEASURES)]
        indicators.append(
            Indicator.objects.create(
                code=f"bench-{measure}-{n:02d}",
                name=f"Bench indicator {n:02d} ({measure})",
                definition="Benchmark indicator.",
                measure=measure,
                period_type="month",
            )
        )
    return {
        "user_id": user.pk,
        "org_id": orgs[0].pk,
        "org_slugs": [o.slug for o in orgs],
        "indicators": [(i.code, i.measure) for i in indicators],
        "boroughs": boroughs,
    }


def _months_back(count: int) -> list[str]:
    """`count` consecutive months ending with the last full month."""
    today = dt.datetime.now(tz=dt.UTC).date()
    total = today.year * 12 + today.month - 2  # last full month, as months since year 0
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(total - count + 1, total + 1)]


def _per_month(fixtures: dict[str, object]) -> int:
    return len(fixtures["org_slugs"]) * len(fixtures["boroughs"]) * len(fixtures["indicators"])  # type: ignore[arg-type]


def _write_csv(path: Path, rows: int, fixtures: dict[str, object], months: list[str] | None = None) -> int:
    """Write `rows` valid rows: months x providers x boroughs x indicators. Streams to disk."""
    rng = random.Random(20260401 + len(months or []))
    orgs: list[str] = fixtures["org_slugs"]  # type: ignore[assignment]
    indicators: list[tuple[str, str]] = fixtures["indicators"]  # type: ignore[assignment]
    boroughs: list[str] = fixtures["boroughs"]  # type: ignore[assignment]

    def values() -> Iterator[tuple[str, ...]]:
        for month in months or _months_back(-(-rows // _per_month(fixtures))):
            for org in orgs:
                for borough in boroughs:
                    for code, measure in indicators:
                        if measure == "proportion":
                            den = rng.randint(20, 900)
                            yield (code, borough, month, str(rng.randint(0, den)), str(den), "", org)
                        elif measure == "mean":
                            den = rng.randint(20, 300)
                            yield (code, borough, month, f"{den * rng.uniform(10, 30):.2f}", str(den), "", org)
                        else:
                            yield (code, borough, month, str(rng.randint(0, 5000)), "", "", org)

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(itertools.islice(values(), rows))
    return path.stat().st_size


# Measurements -------------------------------------------------------------------------------


def _keyed_copy(path: Path) -> float:
    """COPY the file into a logged, text-typed table with a unique natural-key index."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_keyed")
        cursor.execute(
            "CREATE TABLE bench_keyed (indicator_code text, borough_code text, period text, numerator text,"
            " denominator text, note text, organisation text)"
        )
        cursor.execute(
            "CREATE UNIQUE INDEX bench_keyed_key ON bench_keyed (organisation, indicator_code, borough_code, period)"
        )
    _checkpoint()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor, path.open("rb") as handle:
        cursor.copy_expert(
            f"COPY bench_keyed ({', '.join(HEADER)}) FROM STDIN WITH (FORMAT csv, HEADER true)", handle, 1 << 16
        )
    return time.perf_counter() - started


def _child_import(env: dict[str, str], path: Path, fixtures: dict[str, object], verbose: bool) -> dict[str, object]:
    """Run one import in a fresh process that does only that; returns its JSON report."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child-import",
        str(path),
        "--user-id",
        str(fixtures["user_id"]),
        "--org-id",
        str(fixtures["org_id"]),
    ]
    if verbose:
        command.append("--verbose")
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603 - our own interpreter and script
    if verbose and result.stderr:
        sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise SystemExit(f"the import child failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _run_child_import(path: str, user_id: int, org_id: int, verbose: bool) -> None:
    """The child: set up Django, import the file once, print a JSON line."""
    _setup_django(dict(os.environ))
    import logging

    from django.db import connection

    from outcomes import services
    from outcomes.models import Door
    from stakeholders.models import Organisation, User

    if verbose:
        logging.getLogger("outcomes").setLevel(logging.DEBUG)  # the import's phases, to stderr
    user = User.objects.get(pk=user_id)
    organisation = Organisation.objects.get(pk=org_id)
    stack = contextlib.ExitStack()
    if verbose:
        stack.enter_context(connection.execute_wrapper(_timed_statement))
    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _checkpoint()
    started = time.perf_counter()
    with stack, open(path, "rb") as stream:  # a plain binary file, as the API's upload handler passes on
        submission = services.submission_create(
            actor=user,
            organisation=organisation,
            door=Door.API,
            stream=stream,
            filename=Path(path).name,
            run_inline=True,
        )
    seconds = time.perf_counter() - started
    report = {
        "seconds": seconds,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "setup_maxrss_kb": before_kb,
        "status": submission.status,
        "message": submission.message,
        "total": submission.total_rows,
        "created": submission.created_count,
        "updated": submission.updated_count,
        "unchanged": submission.unchanged_count,
        "rejected": submission.rejected_count,
        "warnings": submission.warning_count,
    }
    print(json.dumps(report), flush=True)


def _timed_statement(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
    """--verbose: log every statement slower than 50 ms (the COPY into staging is not one)."""
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        seconds = time.perf_counter() - started
        if seconds > 0.05:
            text = " ".join(str(sql).split())
            sys.stderr.write(f"  {seconds:6.2f} s  {text[:150]}\n")


def _naive(rows: int, fixtures: dict[str, object]) -> float:
    """`rows` values saved one by one through the ORM (new keys, periods before the file's)."""
    from django.utils import timezone

    from outcomes.models import Door, Indicator, OutcomeValue, Submission
    from stakeholders.models import Area, AreaLevel, Organisation, User

    user = User.objects.get(pk=fixtures["user_id"])
    orgs = list(Organisation.objects.filter(slug__in=fixtures["org_slugs"]).order_by("slug"))  # type: ignore[misc]
    indicators = list(Indicator.objects.order_by("code"))
    boroughs = list(Area.objects.filter(level=AreaLevel.BOROUGH).order_by("code"))
    submission = Submission.objects.create(organisation=orgs[0], submitted_by=user, door=Door.API)
    rng = random.Random(7)
    keys = (
        (org, borough, indicator, dt.date(1990 + m // 12, m % 12 + 1, 1))
        for m in range(10_000)
        for org in orgs
        for borough in boroughs
        for indicator in indicators
    )
    _checkpoint()
    started = time.perf_counter()
    now = timezone.now()
    for _, (org, borough, indicator, period) in zip(range(rows), keys, strict=False):
        den = rng.randint(20, 900) if indicator.measure in ("proportion", "mean") else None
        OutcomeValue(
            organisation=org,
            indicator=indicator,
            borough=borough,
            period_start=period,
            numerator=rng.randint(0, den or 5000),
            denominator=den,
            submission=submission,
            submitted_at=now,
        ).save()
    return time.perf_counter() - started


# The run ------------------------------------------------------------------------------------


def _mb(kb: int) -> float:
    return kb / 1024  # Linux reports ru_maxrss in KiB


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--naive-rows", type=int, default=10_000)
    parser.add_argument("--database", default="londonmh_bench", help="scratch database (created, then dropped)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database and the CSV")
    parser.add_argument("--verbose", action="store_true", help="log the import's phases (from the child)")
    parser.add_argument("--child-import", help=argparse.SUPPRESS)
    parser.add_argument("--user-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--org-id", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_import:
        _run_child_import(args.child_import, args.user_id, args.org_id, args.verbose)
        return 0

    env = _django_env(args.database)
    _say(f"scratch database {args.database} on {urlsplit(_server_url()).hostname or 'local socket'}")
    _create_database(args.database)
    workdir = Path(tempfile.mkdtemp(prefix="londonmh-bench-"))
    path = workdir / "values.csv"
    month_path = workdir / "month.csv"
    try:
        _setup_django(env)
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        fixtures = _fixtures()
        started = time.perf_counter()
        size = _write_csv(path, args.rows, fixtures)
        _say(f"generated {args.rows:,} rows, {size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s ({path})")
        # The upload cap (default 50 MB) is a policy, not a limit of the pipeline: lift it for the file.
        env["OUTCOMES_MAX_UPLOAD_BYTES"] = str(max(settings.OUTCOMES_MAX_UPLOAD_BYTES, size + 1))
        env["OUTCOMES_MAX_ROWS"] = str(max(settings.OUTCOMES_MAX_ROWS, args.rows))
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            _say(f"server: {cursor.fetchone()[0].split(' on ')[0]}")
        connection.close()

        copy_seconds = _keyed_copy(path)
        _say(f"{'keyed COPY (logged, unique natural key):':<44}{copy_seconds:7.2f} s")
        connection.close()

        first = _child_import(env, path, fixtures, args.verbose)
        _check(first, created=args.rows)
        _line("import (new values)", first["seconds"], copy_seconds, f"peak RSS {_mb(first['maxrss_kb']):.0f} MB")
        _say(f"  (of which Django loaded before the import: {_mb(first['setup_maxrss_kb']):.0f} MB)")
        again = _child_import(env, path, fixtures, args.verbose)
        _check(again, unchanged=args.rows)
        _line("re-import (all unchanged)", again["seconds"], copy_seconds, f"peak RSS {_mb(again['maxrss_kb']):.0f} MB")
        _say(f"import: {args.rows / first['seconds']:,.0f} rows/s")
        # A month's upload on top of that history: what a provider does every month, and
        # where the outlier checks against each provider-borough's history do their work.
        month = _months_back(-(-args.rows // _per_month(fixtures)) + 1)[0]
        month_rows = min(_per_month(fixtures), args.rows)
        _write_csv(month_path, month_rows, fixtures, months=[month])
        monthly = _child_import(env, month_path, fixtures, args.verbose)
        _check(monthly, created=month_rows)
        _say(
            f"{f'one more month ({month_rows:,} values, {month}):':<44}{monthly['seconds']:7.2f} s"
            f"   onto {args.rows:,} stored; {monthly['warnings']:,} outlier warnings"
        )
        if args.naive_rows:
            naive_seconds = _naive(args.naive_rows, fixtures)
            per_row = naive_seconds / args.naive_rows
            _say(
                f"naive per-row save(), {args.naive_rows:,} rows: {naive_seconds:.2f} s,"
                f" {args.naive_rows / naive_seconds:,.0f} rows/s; at {args.rows:,} rows that would be"
                f" ~{per_row * args.rows:,.0f} s, ratio ~{per_row * args.rows / copy_seconds:.0f}"
            )
        connection.close()
    finally:
        if args.keep:
            _say(f"kept database {args.database} and {path}")
        else:
            from django.db import connections

            connections.close_all()
            _drop_database(args.database)
            path.unlink(missing_ok=True)
            month_path.unlink(missing_ok=True)
            workdir.rmdir()
    return 0


def _line(label: str, seconds: float, copy_seconds: float, extra: str) -> None:
    _say(f"{label + ':':<44}{seconds:7.2f} s   ratio {seconds / copy_seconds:5.2f}   {extra}")


def _check(report: dict[str, object], **expected: int) -> None:
    """The import must have done the right thing, or its time means nothing."""
    counts = {k: report[k] for k in ("created", "updated", "unchanged", "rejected")}
    wanted = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0, **expected}
    if report["status"] != "completed" or counts != wanted:
        raise SystemExit(f"the import did not do what was expected: {report} (wanted {wanted})")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
