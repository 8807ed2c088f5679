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
