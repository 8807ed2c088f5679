"""Real Celery worker processes for tests: start one on the test database, wait on it, kill it.

Used by the `worker_process` fixture (tests/conftest.py) and by the fault tests that SIGKILL
a worker's pool process half way through a task (acks_late + reject_on_worker_lost must
hand the task to a fresh process).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url(settings_dict) -> str:
    """A DATABASE_URL for another process to reach the same (test) database."""
    from urllib.parse import quote

    host = settings_dict.get("HOST") or ""
    port = settings_dict.get("PORT") or ""
    options = settings_dict.get("OPTIONS") or {}
    if not host and options.get("host"):
        # An embedded server on a unix socket (see londonmh/devenv.py).
        user = settings_dict.get("USER") or "postgres"
        socket = quote(options["host"])
        return f"postgres://{user}@/{settings_dict['NAME']}?host={socket}&port={options.get('port', '')}"
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    netloc = quote(host, safe="") + (f":{port}" if port else "")
    return f"postgres://{auth}{netloc}/{settings_dict['NAME']}"


class Worker:
    """One `celery worker` process on this test's database, queue and cache namespace."""

    def __init__(self, tmp_path: Path, *, pool: str = "solo", env: dict[str, str] | None = None) -> None:
        self.mail_dir = tmp_path / "mail"
        self.log_path = tmp_path / "worker.log"
        full_env = dict(os.environ)
        full_env["DATABASE_URL"] = database_url(connection.settings_dict)
        full_env["EMAIL_BACKEND"] = "django.core.mail.backends.filebased.EmailBackend"
        full_env["EMAIL_FILE_PATH"] = str(self.mail_dir)
        full_env["CACHE_KEY_PREFIX"] = settings.CACHES["default"]["KEY_PREFIX"]  # this test's cache namespace
        full_env.update(env or {})
        self._log = self.log_path.open("w")
        command = [sys.executable, "-m", "celery", "-A", "londonmh", "worker", f"--pool={pool}"]
        if pool == "prefork":
            command.append("--concurrency=1")
        command += ["--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            command, cwd=ROOT, env=full_env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_for(self, condition, timeout: float = 60.0, interval: float = 0.2, what: str = "a condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            if self.process.poll() is not None:
                raise AssertionError("worker exited:\n" + self.log())
            time.sleep(interval)
        raise AssertionError(f"timed out waiting for {what}; worker log:\n" + self.log())

    def pool_processes(self) -> list[int]:
        """The pids of the prefork pool's child processes (they run the tasks)."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    found.append(int(entry.name))
        return found

    def kill_the_running_task(self) -> int:
        """SIGKILL the one pool process (running the task); wait for the worker to notice."""
        [child] = self.wait_for(self.pool_processes, what="the pool process")
        os.kill(child, signal.SIGKILL)
        self.wait_for(lambda: "SIGKILL" in self.log(), what="the worker to notice its lost process")
        return child

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


class Gunicorn:
    """The portal under gunicorn (one sync worker, persistent connections) on the test database."""

    def __init__(self, tmp_path: Path, *, env: dict[str, str] | None = None) -> None:
        import socket
        import urllib.request

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        full_env = {
            **os.environ,
            "DATABASE_URL": database_url(connection.settings_dict),
            "CONN_MAX_AGE": "600",
            "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
            **(env or {}),
        }
        self.log_path = tmp_path / "gunicorn.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            [sys.executable, "-m", "gunicorn", "londonmh.wsgi", "--workers", "1", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/health/", timeout=2).close()  # noqa: S310 - our server
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError("gunicorn did not start:\n" + self.log_path.read_text())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


class PrivateRedis:
    """A redis-server of this test's own on a free port, so it can be stopped and restarted
    without disturbing anything else using the machine's Redis."""

    def __init__(self, tmp_path: Path) -> None:
        import shutil
        import socket

        self.binary = shutil.which("redis-server")
        if self.binary is None:
            import pytest

            pytest.fail("this test needs redis-server on the PATH (the machine's Redis package)")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.dir = tmp_path
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(  # noqa: S603 - the machine's redis-server, fixed arguments
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
