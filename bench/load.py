"""Load test of the portal's real mix, against its ceiling, at 10 and 50 concurrent users.

    .venv/bin/python bench/load.py [--users 10 50] [--seconds 30] [--workers 2]

In one run, on a scratch database it creates, migrates, fills with the demo data and drops:

1. Starts gunicorn (--workers sync workers) on loopback with DEBUG off and the real PostgreSQL
   and Redis (API throttles raised so the load measures the portal, not the throttle).
2. Runs locust headless (bench/locust_mix.py) first with only the trivial view `/health/`
   (the ceiling: the full middleware stack and one `SELECT 1`), then, for each --users, the
   mix: anonymous dashboards, key steps, a public plan and the metrics API; a commissioner
   reading a plan and editing actions with If-Match; API list reads; a provider submitting
   values.
3. Prints p50 / p95 / p99, requests/s and failures for every phase and kind of request. Any
   failure (an error status, a 5xx, a refused connection) makes the run exit 1. A 412 from two
   concurrent edits of one action is the portal refusing a stale write, so it is not a failure.

Locust shares the machine with the server: compare phases with each other, not machines.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard_load import _free_port, _wait_until_up, run_locust
from ingest import ROOT, _create_database, _django_env, _drop_database, _say, _setup_django


def _locust(host: str, users: int, seconds: int, prefix: Path, env: dict, classes: list[str]) -> list[dict]:
    return run_locust(host, users, seconds, prefix, env, "locust_mix.py", *classes)


def _world() -> dict[str, str]:
    """Demo data plus what the locust users need: tokens, a plan they may edit, an indicator."""
    from django.conf import settings
    from django.core.management import call_command

    from actionplan.models import Plan
    from actionplan.permissions import can_change_plan
    from outcomes.models import Indicator
    from stakeholders import services
    from stakeholders.demo import DEMO_EMAIL_DOMAIN
    from stakeholders.models import User

    settings.DEMO_DATA_ALLOWED = True
    call_command("seed_demo", quiet=True)
    commissioner = User.objects.get(email=f"commissioner@{DEMO_EMAIL_DOMAIN}")
    provider = User.objects.get(email=f"provider@{DEMO_EMAIL_DOMAIN}")
    plan = next(
        p
        for p in Plan.objects.filter(visibility="public", status="active").order_by("pk")
        if can_change_plan(commissioner, p)
    )
    org = provider.memberships.get(role="data_submitter").organisation
    indicator = Indicator.objects.filter(measure="proportion", period_type="month").order_by("code").first()
    return {
        "LOAD_INDICATOR": indicator.code,
        "LOAD_SUBMIT_INDICATOR": indicator.code,
        "LOAD_BOROUGHS": ",".join(org.boroughs.order_by("code").values_list("code", flat=True)),
        "LOAD_PLAN": plan.slug,
        "LOAD_ACTIONS": ",".join(str(pk) for pk in plan.actions.order_by("pk").values_list("pk", flat=True)[:20]),
        "LOAD_COMMISSIONER_TOKEN": services.api_token_create(actor=commissioner, name="load", days=1)[1],
        "LOAD_PROVIDER_TOKEN": services.api_token_create(actor=provider, name="load", days=1)[1],
    }


def _report(label: str, rows: list[dict]) -> int:
    failures = 0
    _say(label)
    for row in rows:
        failures += int(row["Failure Count"]) if row["Name"] != "Aggregated" else 0
        _say(
            f"  {row['Name']:<34}{float(row['Requests/s']):8.1f} req/s  p50 {float(row['50%']):6.0f} ms"
            f"  p95 {float(row['95%']):6.0f} ms  p99 {float(row['99%']):6.0f} ms"
            f"  {int(row['Request Count']):7,} requests  {int(row['Failure Count'])} failed"
        )
    return failures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--database", default="londonmh_bench_mix")
    args = parser.parse_args(argv)

    env = _django_env(args.database)
    env.update(
        ALLOWED_HOSTS="127.0.0.1,localhost",
        CONN_MAX_AGE="60",
        SECURE_SSL_REDIRECT="false",
        API_ANON_RATE="1000000/minute",
        API_USER_RATE="1000000/minute",
        OUTCOMES_ASYNC_ROWS="5000",
    )
    _create_database(args.database)
    server = None
    workdir = Path(tempfile.mkdtemp(prefix="londonmh-mix-"))
    failures = 0
    try:
        _setup_django(env)
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        call_command("collectstatic", "--noinput", verbosity=0)
        world = _world()
        connections.close_all()

        port = _free_port()
        host = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(  # noqa: S603 - gunicorn from our own environment
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "londonmh.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--access-logfile",
                "/dev/null",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "gunicorn.log").open("w"),
        )
        _wait_until_up(host + "/health/")
        _wait_until_up(f"{host}/plans/{world['LOAD_PLAN']}/")
        locust_env = {**os.environ, **world}
        _say(f"gunicorn {args.workers} workers on {host}; {args.seconds} s a phase")
        for users in args.users:
            rows = _locust(host, users, args.seconds, workdir / f"trivial{users}", locust_env, ["Trivial"])
            failures += _report(f"ceiling, {users} users: the trivial view only", rows)
            rows = _locust(
                host, users, args.seconds, workdir / f"mix{users}", locust_env,
                ["Visitor", "Commissioner", "Reader", "Provider"],
            )  # fmt: skip
            failures += _report(f"mix, {users} users", rows)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        from django.db import connections

        connections.close_all()
        _drop_database(args.database)
    _say(f"{failures} failed requests in all")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
