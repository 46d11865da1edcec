"""Development email: one file per message under .mail/ and one log line saying where, not the whole email."""

import email
import importlib
import logging
from email import policy

from django.core.mail import EmailMultiAlternatives, get_connection, send_mail

LONG_BODY = "Hola,\nllegó un lead nuevo.\n" * 40


def test_each_email_becomes_a_file_and_one_log_line(tmp_path, settings, caplog):
    settings.EMAIL_BACKEND = "core.mail.FileEmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / ".mail")
    with caplog.at_level(logging.INFO):
        send_mail("Nuevo lead: Zoë Pérez", LONG_BODY, None, ["ana@example.com"])
        message = EmailMultiAlternatives(
            "Resumen diario", "texto", to=["beto@example.com"], cc=["caro@example.com"]
        )
        message.attach_alternative("<p>texto</p>", "text/html")
        connection = get_connection()
        assert connection.send_messages([message, EmailMultiAlternatives("Sin destinatario", "x")]) == 1

    files = sorted((tmp_path / ".mail").glob("*.eml"), key=lambda path: path.stat().st_mtime_ns)
    assert len(files) == 2
    lines = [record.getMessage() for record in caplog.records if record.name == "core.mail"]
    assert lines == [
        f"Email to ana@example.com: Nuevo lead: Zoë Pérez -> {files[0]}",
        f"Email to beto@example.com, caro@example.com: Resumen diario -> {files[1]}",
    ]
    assert all("\n" not in line and "llegó" not in line for line in lines)
    assert all(record.levelno == logging.INFO for record in caplog.records if record.name == "core.mail")

    first = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert first["Subject"] == "Nuevo lead: Zoë Pérez" and first["To"] == "ana@example.com"
    assert first.get_content() == LONG_BODY
    second = email.message_from_bytes(files[1].read_bytes(), policy=policy.default)
    assert second.get_body(("html",)).get_content().strip() == "<p>texto</p>"


def test_make_run_uses_the_file_backend_under_dot_mail(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "dev-settings-test-key")
    monkeypatch.delenv("EMAIL_BACKEND", raising=False)
    monkeypatch.delenv("EMAIL_FILE_PATH", raising=False)
    dev = importlib.reload(importlib.import_module("intralog.settings.dev"))
    assert dev.EMAIL_BACKEND == "core.mail.FileEmailBackend"
    assert str(dev.BASE_DIR / ".mail") == dev.EMAIL_FILE_PATH
    gitignore = (dev.BASE_DIR / ".gitignore").read_text().splitlines()
    assert "/.mail/" in gitignore
