"""docker-compose.yml, the Dockerfile and the web health check.

Docker is not needed: docker-compose.yml is validated against the Compose Specification's
JSON schema, which check-jsonschema ships inside the package, so this works offline.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import yaml

from londonmh import healthcheck

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
APP_SERVICES = ["migrate", "web", "worker", "beat"]


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _command(service: dict) -> str:
    command = service["command"]
    return " ".join(command) if isinstance(command, list) else command


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter with fixed arguments
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_docker_compose_yml_follows_the_compose_specification():
    result = _validate(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_compose_file(tmp_path):
    # Guards the guard: the validator must actually validate.
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  web:\n    image: londonmh\n    depends_on: 7\n    colour: blue\n")
    assert _validate(broken).returncode != 0


def test_it_runs_postgres_redis_web_worker_and_beat_with_a_migrate_step():
    services = _compose()["services"]
    assert {"postgres", "redis", "web", "worker", "beat", "migrate"} <= services.keys()
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert _command(services["migrate"]) == "python manage.py migrate --noinput"
    assert _command(services["web"]).startswith("gunicorn londonmh.wsgi")
    assert _command(services["worker"]).startswith("celery -A londonmh worker")
    assert _command(services["beat"]).startswith("celery -A londonmh beat")


def test_every_app_service_is_the_same_image_with_the_same_env_file():
    services = _compose()["services"]
    builds = {repr(services[name]["build"]) for name in APP_SERVICES}
    env_files = {repr(services[name]["env_file"]) for name in APP_SERVICES}
    images = {services[name]["image"] for name in APP_SERVICES}
    assert builds == {repr(".")}
    assert env_files == {repr(".env")}
    assert len(images) == 1


def test_the_app_waits_for_healthy_services_and_a_finished_migration():
    services = _compose()["services"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ["web", "worker", "beat"]:
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }, name
    for name in ["postgres", "redis", "web"]:
        assert "healthcheck" in services[name], name
    assert services["web"]["healthcheck"]["test"] == ["CMD", "python", "-m", "londonmh.healthcheck"]


def test_every_variable_compose_interpolates_is_in_env_example():
    names = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", COMPOSE.read_text()))
    assert names, "expected ${...} interpolation in docker-compose.yml"
    example = (ROOT / ".env.example").read_text()
    missing = sorted(name for name in names if not re.search(rf"^(# )?{name}=", example, re.MULTILINE))
    assert missing == []


def test_the_dockerfile_builds_one_non_root_image_with_dependencies_and_static_files():
    instructions = [line for line in DOCKERFILE.read_text().splitlines() if line and not line.startswith("#")]
    text = "\n".join(instructions)
    assert instructions[0] == "FROM python:3.11-slim"
    assert text.count("FROM ") == 1
    assert "nodejs npm" in text
    assert "npm ci" in text
    assert "pip install ." in text
    assert "manage.py collectstatic" in text
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}


def test_secrets_and_local_data_stay_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".git", ".venv", "node_modules", ".local", "staticfiles"} <= ignored


# The web health check -----------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    status = 200
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:
        _Recorder.seen.append(dict(self.headers))
        self.send_response(self.status)
        if self.status == 301:
            self.send_header("Location", "https://portal.example.org/health/")
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stub_server():
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_health_check_asks_as_the_tls_proxy_would(stub_server):
    _Recorder.status = 200
    url = f"http://127.0.0.1:{stub_server.server_port}/health/"
    healthy, message = healthcheck.check(url, allowed_hosts="*,.example.org")
    assert healthy, message
    assert _Recorder.seen[0]["Host"] == "example.org"
    assert _Recorder.seen[0]["X-Forwarded-Proto"] == "https"


def test_the_health_check_fails_on_a_redirect_instead_of_following_it(stub_server):
    _Recorder.status = 301
    healthy, message = healthcheck.check(f"http://127.0.0.1:{stub_server.server_port}/health/")
    assert not healthy
    assert "HTTP 301" in message


def test_the_health_check_fails_when_nothing_listens():
    with HTTPServer(("127.0.0.1", 0), _Recorder) as server:
        port = server.server_port  # free again once closed
    assert healthcheck.check(f"http://127.0.0.1:{port}/health/", timeout=2)[0] is False


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_health_check_passes_against_the_running_portal(live_server):
    result = subprocess.run(  # noqa: S603 - our own interpreter with fixed arguments
        [sys.executable, "-m", "londonmh.healthcheck", f"{live_server.url}/health/"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "ALLOWED_HOSTS": "localhost"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"status": "ok"' in result.stdout
