"""Settings come from the environment: every variable is documented, and production fails loudly.

The import and `check --deploy` tests run Python in a subprocess with a cleaned environment,
because settings are read once per process.
"""

from __future__ import annotations

import ast
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "londonmh" / "settings.py"
DEVENV = ROOT / "londonmh" / "devenv.py"
ENV_EXAMPLE = ROOT / ".env.example"
CONFIGURATION_DOC = ROOT / "docs" / "configuration.md"

# django-environ's readers, as in `env.str("NAME", default=...)`.
ENV_READERS = {"str", "bool", "int", "float", "list", "tuple", "dict", "json", "url", "db", "cache_url", "email_url"}


def variables_read_by_settings() -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(SETTINGS.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "env"
            and node.func.attr in ENV_READERS
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(node.args[0].value)
    return names


def variables_read_by_devenv() -> set[str]:
    """`os.environ.get("X")`, `os.environ["X"]` and `env.get("X")` (its copy of the environment)."""
    names = set()
    for node in ast.walk(ast.parse(DEVENV.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and ast.unparse(node.func.value) in {"os.environ", "env"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(node.args[0].value)
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and ast.unparse(node.value) in {"os.environ", "env"}
            and isinstance(node.slice, ast.Constant)
        ):
            names.add(node.slice.value)
    return names


def documented_variables() -> dict[str, str]:
    """NAME -> the comment line above it, for `NAME=` and optional `# NAME=` lines of .env.example."""
    documented = {}
    lines = ENV_EXAMPLE.read_text().splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"^(?:# )?([A-Z][A-Z0-9_]*)=", line)
        if match:
            documented[match.group(1)] = lines[index - 1] if index else ""
    return documented


def example_environment() -> dict[str, str]:
    """The assignments .env.example makes (its uncommented lines), unquoted."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            values[match.group(1)] = match.group(2).strip().strip('"')
    return values


def test_the_parsers_find_the_variables_they_should():
    # Guards the guard: if the parsing broke, the tests below would pass on an empty set.
    assert {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "EMAIL_URL", "STATICFILES_BACKEND"} <= (
        variables_read_by_settings()
    )
    assert {"HOST", "PORT", "DATABASE_URL", "REDIS_URL"} <= variables_read_by_devenv()


def test_every_variable_settings_and_devenv_read_is_in_env_example_with_a_comment():
    documented = documented_variables()
    missing = sorted((variables_read_by_settings() | variables_read_by_devenv()) - documented.keys())
    assert missing == [], f"add these to .env.example: {missing}"
    uncommented = sorted(name for name, above in documented.items() if not above.startswith("# ") or "=" in above)
    assert uncommented == [], f"give these a one-line comment above them in .env.example: {uncommented}"


def test_every_variable_settings_read_is_explained_in_docs_configuration():
    text = CONFIGURATION_DOC.read_text()
    missing = sorted(name for name in variables_read_by_settings() if f"`{name}`" not in text)
    assert missing == [], f"explain these in docs/configuration.md: {missing}"


def _clean_env(**values: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DJANGO_SETTINGS_MODULE": "londonmh.settings", **values}


def _import_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


# Empty rather than unset, so a .env beside manage.py cannot fill the value in.
@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ({"SECRET_KEY": "", "ALLOWED_HOSTS": "portal.example.org"}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must be set"),
    ],
)
def test_with_debug_off_settings_refuse_to_load_without_a_secret_key_or_allowed_hosts(missing, message):
    result = _import_settings(_clean_env(DEBUG="false", **missing))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_with_debug_off_and_both_set_settings_load():
    result = _import_settings(_clean_env(DEBUG="false", SECRET_KEY="x" * 60, ALLOWED_HOSTS="portal.example.org"))
    assert result.returncode == 0, result.stderr


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_production_like_environment_passes_check_deploy_without_warnings():
    env = _clean_env(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="portal.example.org",
        SECURE_SSL_REDIRECT="true",
        SECURE_COOKIES="true",
    )
    result = _check_deploy(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_env_example_with_its_blanks_filled_in_passes_check_deploy_without_warnings():
    env = _clean_env(**example_environment())
    assert env["SECRET_KEY"] == "", "the example must not ship a usable secret key"
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    result = _check_deploy(env)
    assert result.returncode == 0, result.stdout + result.stderr
