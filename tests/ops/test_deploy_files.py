"""What ships for running it: systemd units, the container image, ``make upgrade`` and the probe."""

import configparser
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command, get_commands

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
SERVICES = ("intralog-web", "intralog-worker", "intralog-scheduler")


def unit(name):
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    parser.read(UNITS / name)
    return parser


@pytest.mark.parametrize("name", SERVICES)
def test_services_restart_read_the_environment_file_and_belong_to_the_target(name):
    service = unit(f"{name}.service")
    assert service["Service"]["Restart"] == "always"
    assert service["Service"]["EnvironmentFile"] == "/etc/intralog/intralog.env"
    assert service["Service"]["User"] == "intralog"
    assert service["Unit"]["PartOf"] == "intralog.target"
    assert service["Install"]["WantedBy"] == "intralog.target"
    command = service["Service"]["ExecStart"].split()
    if command[1] == "manage.py":
        assert command[2] in get_commands()
    assert f"{name}.service" in unit("intralog.target")["Unit"]["Wants"].split()


def test_web_unit_waits_for_the_health_endpoint():
    web = unit("intralog-web.service")["Service"]
    assert "gunicorn intralog.wsgi" in web["ExecStart"]
    assert "manage.py probe http://${WEB_BIND}/healthz" in web["ExecStartPost"]
    assert "WEB_BIND=" in (UNITS / "intralog.env.example").read_text()
    assert "backup" in get_commands() and "probe" in get_commands()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units(tmp_path):
    """``systemd-analyze verify`` on the units, with the paths of this checkout in place of /opt/intralog."""
    (tmp_path / "env").write_text("")
    replacements = {
        "/opt/intralog/.venv/bin/python": sys.executable,
        "/opt/intralog/.venv/bin/gunicorn": str(Path(sys.executable).with_name("gunicorn")),
        "/etc/intralog/intralog.env": str(tmp_path / "env"),
        "/opt/intralog": str(ROOT),
        "User=intralog": "User=root",
        "Group=intralog": "Group=root",
    }
    copies = []
    for path in sorted(UNITS.glob("intralog*.*")):
        if path.suffix not in {".service", ".target", ".timer"}:
            continue
        text = path.read_text()
        for old, new in replacements.items():
            text = text.replace(old, new)
        (tmp_path / path.name).write_text(text)
        copies.append(str(tmp_path / path.name))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *copies],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr and "ignoring" not in result.stderr, result.stderr


def test_container_image_runs_as_a_user_on_python_slim():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    instructions = [line.split()[0] for line in lines if line and not line.startswith("#")]
    assert lines[[i for i, line in enumerate(lines) if line.startswith("FROM")][0]] == "FROM python:3.11-slim"
    user_at = next(i for i, line in enumerate(lines) if line.startswith("USER "))
    assert lines[user_at] == "USER intralog"
    assert user_at > max(i for i, line in enumerate(lines) if line.startswith(("RUN", "COPY")))
    assert "HEALTHCHECK" in instructions and "CMD" in instructions
    assert any("manage.py" in line and "probe" in line and "/healthz" in line for line in lines)
    assert "postgresql-client" in (ROOT / "Dockerfile").read_text()
    assert ".git" in (ROOT / ".dockerignore").read_text().split()


class _Health(BaseHTTPRequestHandler):
    answers = {"/up": 200, "/down": 503}

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(self.answers.get(self.path, 404))
        self.end_headers()

    def log_message(self, *args):
        """Quiet."""


@pytest.fixture
def health_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_probe_succeeds_only_on_200(health_server, capsys):
    call_command("probe", f"{health_server}/up")
    assert "answered 200" in capsys.readouterr().out
    with pytest.raises(CommandError, match="answered 503"):
        call_command("probe", f"{health_server}/down", "--wait", "1")
    with pytest.raises(CommandError, match="answered nothing"):
        call_command("probe", "http://127.0.0.1:1/healthz")
    with pytest.raises(CommandError, match="Not an http"):
        call_command("probe", "file:///etc/passwd")


def git(*args, cwd):
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ops test",
        "GIT_AUTHOR_EMAIL": "ops@example.com",
        "GIT_COMMITTER_NAME": "Ops test",
        "GIT_COMMITTER_EMAIL": "ops@example.com",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True)


def test_make_upgrade_pulls_backs_up_migrates_collects_and_restarts(tmp_path):
    """A clone behind its origin by one commit: ``make upgrade`` pulls it, backs up, migrates a database,
    collects static files and restarts the target through systemctl (a recording stand-in here)."""
    origin = tmp_path / "origin.git"
    git("clone", "--quiet", "--bare", "--no-local", str(ROOT), str(origin), cwd=tmp_path)
    git(
        "--git-dir",
        str(origin),
        "update-ref",
        "refs/heads/release",
        git("rev-parse", "HEAD", cwd=ROOT).stdout.strip(),
        cwd=tmp_path,
    )
    git("--git-dir", str(origin), "symbolic-ref", "HEAD", "refs/heads/release", cwd=tmp_path)
    app, other = tmp_path / "app", tmp_path / "other"
    git("clone", "--quiet", str(origin), str(app), cwd=tmp_path)
    git("clone", "--quiet", str(origin), str(other), cwd=tmp_path)
    (other / "RELEASE_NOTE.txt").write_text("next release\n")
    git("add", "RELEASE_NOTE.txt", cwd=other)
    git("commit", "--quiet", "-m", "Next release", cwd=other)
    git("push", "--quiet", "origin", "release", cwd=other)

    calls = tmp_path / "systemctl.calls"
    systemctl = tmp_path / "systemctl"
    systemctl.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    systemctl.chmod(0o755)
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'upgrade.sqlite3'}",
        "SECRET_KEY": "upgrade-test-" + "x" * 50,
        "BACKUP_DIR": str(tmp_path / "backups"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "CONVERSATIONS_MEDIA_ROOT": str(tmp_path / "private"),
    }
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "upgrade",
            f"PY={sys.executable}",
            "PIP=true",
            f"SYSTEMCTL={systemctl}",
        ],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (app / "RELEASE_NOTE.txt").read_text() == "next release\n"
    assert len(list((tmp_path / "backups").glob("intralog-*.tar.gz"))) == 1
    assert (app / "staticfiles").is_dir()
    assert calls.read_text().splitlines() == ["cat intralog.target", "restart intralog.target"]
    check = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--check"],
        cwd=app,
        env={**env, "DJANGO_SETTINGS_MODULE": "intralog.settings.production"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stdout + check.stderr
