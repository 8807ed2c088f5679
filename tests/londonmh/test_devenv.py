"""What `make run` (as users see it) and `make dev` (for changing the code) start the portal with."""

from __future__ import annotations

import json
import subprocess
import sys

from londonmh import devenv
from londonmh.devenv import ROOT, portal_environment, web_command

BARE = {"PATH": "/usr/bin:/bin", "HOST": "127.0.0.1", "PORT": "8123"}


def test_make_run_serves_the_portal_with_gunicorn_not_the_development_server():
    command = web_command("127.0.0.1", "8123", develop=False)
    assert command[1:4] == ["-m", "gunicorn", "londonmh.wsgi"]
    assert command[command.index("--bind") + 1] == "127.0.0.1:8123"
    assert "runserver" not in command
    assert command.count("--no-control-socket") == devenv._gunicorn_has_control_socket()


def test_make_dev_keeps_the_auto_reloading_runserver():
    command = web_command("127.0.0.1", "8123", develop=True)
    assert command[1:] == ["manage.py", "runserver", "127.0.0.1:8123"]
    assert "--noreload" not in command


def test_make_run_on_a_fresh_machine_gets_production_settings_that_work_over_plain_http(tmp_path):
    env = portal_environment(BARE, develop=False, local=tmp_path)
    assert env["DEBUG"] == "false"
    assert env["SECURE_SSL_REDIRECT"] == "false" and env["SECURE_COOKIES"] == "false"
    assert env["SECURE_HSTS_SECONDS"] == "0"
    assert set(env["ALLOWED_HOSTS"].split(",")) >= {"127.0.0.1", "localhost"}
    assert env["SITE_URL"] == "http://127.0.0.1:8123"
    assert env["DEMO_DATA_ALLOWED"] == "true"
    assert len(env["SECRET_KEY"]) >= 50


def test_the_secret_key_made_for_make_run_is_kept_so_sign_ins_survive_a_restart(tmp_path):
    first = portal_environment(BARE, develop=False, local=tmp_path)["SECRET_KEY"]
    assert portal_environment(BARE, develop=False, local=tmp_path)["SECRET_KEY"] == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_what_you_set_yourself_wins_over_the_defaults_of_make_run(tmp_path):
    mine = {**BARE, "SECRET_KEY": "mine", "ALLOWED_HOSTS": "portal.test", "DEBUG": "true"}
    env = portal_environment(mine, develop=False, local=tmp_path)
    assert (env["SECRET_KEY"], env["ALLOWED_HOSTS"], env["DEBUG"]) == ("mine", "portal.test", "true")
    assert not (tmp_path / "secret_key").exists()


def test_a_portal_listening_on_every_interface_answers_to_any_host_name(tmp_path):
    env = portal_environment({**BARE, "HOST": "0.0.0.0"}, develop=False, local=tmp_path)  # noqa: S104
    assert "*" in env["ALLOWED_HOSTS"].split(",")


def test_make_dev_runs_with_debug_on(tmp_path):
    env = portal_environment(BARE, develop=True, local=tmp_path)
    assert env["DEBUG"] == "true"
    assert "SECRET_KEY" not in env


def test_the_settings_load_from_the_make_run_environment_as_a_plain_http_production_site(tmp_path):
    # In a fresh interpreter, as gunicorn would import them: no error, and nothing that needs HTTPS.
    env = portal_environment(
        {**BARE, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none", "REDIS_URL": "redis://127.0.0.1:1/0"},
        develop=False,
        local=tmp_path,
    )
    script = (
        "import json, django; from django.conf import settings; django.setup(); print(json.dumps(["
        "settings.DEBUG, settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE,"
        "settings.SECURE_HSTS_SECONDS, settings.STORAGES['staticfiles']['BACKEND'], settings.SITE_URL]))"
    )
    out = subprocess.run(  # noqa: S603  # our own interpreter and script
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "londonmh.settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == [
        False,
        False,
        False,
        False,
        0,
        "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "http://127.0.0.1:8123",
    ]


def test_devenv_knows_the_dev_command(capsys):
    assert devenv.main(["nonsense"]) == 2
    assert "londonmh.devenv dev" in capsys.readouterr().out
