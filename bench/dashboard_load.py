"""Dashboard latency: every dashboard page against a trivial Django view, under locust.

    .venv/bin/python bench/dashboard_load.py [--users 50] [--seconds 20] [--workers 2] [--months 6]

In one run, on a scratch database it creates, migrates and drops:

1. Generates outcome values set-based (bench/aggregate.py's generator: 33 boroughs x 50
   indicators x 25 providers x --months months) and builds the metrics.
2. Starts gunicorn (--workers sync workers) on loopback with the production settings (DEBUG
   off, the real PostgreSQL and Redis, the cache the dashboards use), and waits for it to answer.
3. Runs locust headless with --users concurrent users and no think time, --seconds a phase:
   the trivial view `/health/` (full middleware stack, one `SELECT 1`, a small JSON answer)
   first, then every page of PAGES in turn, then the trivial view again. Prints requests/s,
   median and 95th percentile for each, and each page's p95 against the trivial view's (the
   mean of its two phases, so a machine whose load drifts during the run is seen in the two).
   Target: every page's p95 within 3x the trivial view's.

Each page is fetched once before it is measured (as any first visitor would, filling the
cache); a page answering 404 is skipped with a note, so PAGES can list pages that another
branch adds. Locust runs on the same machine, so it takes CPU from the server: compare the
phases of one run with each other, not with another machine. Throughput goals live here,
never in timed tests.
"""

from __future__ import annotations

import argparse
import csv
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aggregate import PER_MONTH, _fixtures
from ingest import ROOT, _create_database, _django_env, _drop_database, _say, _setup_django


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own loopback server
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


def run_locust(host: str, users: int, seconds: int, prefix: Path, env: dict, locustfile: str, *classes: str) -> list:
    """Run locust headless; the rows of its statistics CSV (every request name, then Aggregated)."""
    done = subprocess.run(  # noqa: S603 - our own locust on our own locustfile
        [
            str(Path(sys.executable).with_name("locust")),
            "-f",
            str(ROOT / "bench" / locustfile),
            *classes,
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{seconds}s",
            "--host",
            host,
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        check=False,  # failures are read from the statistics
        capture_output=True,
    )
    if not Path(f"{prefix}_stats.csv").exists():
        raise RuntimeError(f"locust wrote no statistics:\n{done.stdout.decode()}\n{done.stderr.decode()}")
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _locust(host: str, path: str, users: int, seconds: int, workdir: Path) -> dict[str, float]:
    prefix = workdir / path.strip("/").replace("/", "_").replace("?", "_")
    env = dict(os.environ, LOAD_PATH=path, LOAD_NAME="page")
    rows = run_locust(host, users, seconds, prefix, env, "locustfile.py")
    row = next(r for r in rows if r["Name"] == "page")
    if int(row["Failure Count"]):
        raise RuntimeError(f"{path}: {row['Failure Count']} failed requests")
    return {
        "requests": int(row["Request Count"]),
        "rps": float(row["Requests/s"]),
        "median": float(row["50%"]),
        "p95": float(row["95%"]),
    }


# The pages measured: (label, path). {indicator} is a proportion indicator, {borough} a borough
# (its code) and {subregion} an ICS sub-region. Adding a page is one line; a page answering 404
# (not in this build) is skipped.
PAGES = [
    ("pan-London overview", "/dashboards/?indicator={indicator}"),
    ("indicator dashboard", "/dashboards/indicators/{indicator}/?area={borough}"),
    ("area dashboard", "/dashboards/areas/{borough}/"),
    ("area profile", "/dashboards/areas/{borough}/profile/"),
    ("indicator compare", "/dashboards/indicators/{indicator}/compare/"),
    ("indicator trend", "/dashboards/indicators/{indicator}/trend/"),
    ("inequalities", "/dashboards/indicators/{indicator}/inequalities/"),
]
TRIVIAL = "/health/"
TARGET = 3.0  # a page's p95 within this many times the trivial view's


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 - our own loopback server
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--database", default="londonmh_bench_load")
    args = parser.parse_args(argv)

    env = _django_env(args.database)
    env["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    env["CONN_MAX_AGE"] = "60"  # as in production: a worker keeps its connection
    env["SECURE_SSL_REDIRECT"] = "false"  # plain HTTP on loopback (production sits behind TLS)
    _create_database(args.database)
    server = None
    workdir = Path(tempfile.mkdtemp(prefix="londonmh-load-"))
    try:
        _setup_django(env)
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        call_command("collectstatic", "--noinput", verbosity=0)
        fixtures = _fixtures(args.months * PER_MONTH)
        from outcomes.aggregation import metrics_rebuild_all
        from outcomes.models import Indicator

        started = time.perf_counter()
        metrics_rebuild_all()
        _say(f"{fixtures['values']:,} values, metrics built in {time.perf_counter() - started:.1f} s")
        from stakeholders.models import Area, AreaLevel

        names = {
            "indicator": Indicator.objects.filter(measure="proportion").order_by("code").first().code,
            "borough": Area.objects.filter(level=AreaLevel.BOROUGH).order_by("code").first().code,
            "subregion": Area.objects.filter(level=AreaLevel.SUB_REGION).order_by("code").first().code,
        }
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
        _wait_until_up(host + TRIVIAL)
        pages = []
        for label, pattern in PAGES:
            path = pattern.format(**names)
            status = _status(host + path)  # also fills the cache once, like any first visitor
            if status == 404:
                _say(f"{label}: {path} answers 404 here, skipped")
                continue
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            pages.append((label, path))
        _say(
            f"gunicorn {args.workers} workers on {host}; locust {args.users} users, {args.seconds} s a phase;"
            f" load average {os.getloadavg()[0]:.1f}"
        )

        def measure(label: str, path: str) -> dict[str, float]:
            result = _locust(host, path, args.users, args.seconds, workdir)
            _say(
                f"{label + ':':<28}{result['rps']:8.1f} req/s   median {result['median']:5.0f} ms"
                f"   p95 {result['p95']:5.0f} ms   ({result['requests']:,} requests, 0 failed)"
            )
            return result

        before = measure("trivial view (first)", TRIVIAL)
        results = {label: measure(label, path) for label, path in pages}
        after = measure("trivial view (last)", TRIVIAL)
        trivial_p95 = max((before["p95"] + after["p95"]) / 2, 1)
        trivial_rps = (before["rps"] + after["rps"]) / 2
        _say(f"trivial view p95 {trivial_p95:.0f} ms (mean of both phases); load average {os.getloadavg()[0]:.1f}")
        for label, result in results.items():
            ratio = result["p95"] / trivial_p95
            _say(
                f"{label + ':':<28}p95 {ratio:5.2f}x trivial   throughput {result['rps'] / trivial_rps:.2f}x"
                f"   {'within' if ratio <= TARGET else 'OVER'} {TARGET:g}x"
            )
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
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
