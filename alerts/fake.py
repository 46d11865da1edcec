"""Fake WhatsApp Cloud API and SMTP servers on 127.0.0.1 for development, tests and the benchmark.

Both record what they receive and can be told to answer the next requests with given errors. The
WhatsApp server also refuses templates it is told are not approved (``reject_template``) and serves
files people sent (``add_media``: ``GET /{media-id}`` describes one, its ``url`` gives the bytes).
``python -m alerts.fake`` runs both in their own process; the WhatsApp server then also answers
``GET /_fake/requests`` and ``GET /_fake/emails`` with what was recorded.
"""

import argparse
import contextlib
import itertools
import json
import socketserver
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: list[dict[str, Any]] = []
        self.scripted: list[tuple[Any, Any]] = []

    def record(self, item: dict[str, Any]) -> None:
        with self.lock:
            self.records.append(item)

    def next_scripted(self) -> tuple[Any, Any] | None:
        with self.lock:
            return self.scripted.pop(0) if self.scripted else None

    def clear(self) -> None:
        with self.lock:
            self.records.clear()
            self.scripted.clear()


class FakeWhatsAppServer:
    """A threaded HTTP server speaking enough of the WhatsApp Cloud API ``/{phone-id}/messages``."""

    def __init__(self, port: int = 0, smtp: "FakeSMTPServer | None" = None):
        self.recorder = _Recorder()
        self.smtp = smtp
        self.rejected_templates: set[str] = set()
        self.media: dict[str, tuple[bytes, str, int | None]] = {}
        self.ids = itertools.count(1)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self.httpd.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self.recorder.lock:
            return list(self.recorder.records)

    def fail_next(self, *errors: tuple[int, Any]) -> None:
        """Answer the next requests with ``(http_status, error_code)`` pairs, in order."""
        with self.recorder.lock:
            self.recorder.scripted.extend(errors)

    @property
    def sent_messages(self) -> list[dict[str, Any]]:
        """The messages sent (``/{phone-id}/messages`` bodies), each with the ``phone_number_id`` it went from."""
        return [
            {**record["json"], "phone_number_id": record["path"].rstrip("/").split("/")[-2]}
            for record in self.requests
            if record["path"].endswith("/messages") and isinstance(record["json"], dict)
        ]

    def reject_template(self, name: str) -> None:
        """Answer templates of this name as WhatsApp answers a template it has not approved."""
        with self.recorder.lock:
            self.rejected_templates.add(name)

    def add_media(
        self, media_id: str, content: bytes, mime_type: str, declared_size: int | None = None
    ) -> None:
        """Serve a file people sent; ``declared_size`` is what ``GET /{media-id}`` says (default: its size)."""
        with self.recorder.lock:
            self.media[media_id] = (content, mime_type, declared_size)

    def refusal(self, path: str, payload: Any) -> tuple[int, dict[str, Any]] | None:
        """``(status, error)`` for a POST that is no message, or a template not approved; else None."""
        if not path.endswith("/messages") or not isinstance(payload, dict):
            return 400, {"error": {"code": 100, "message": "Invalid parameter"}}
        template = payload.get("template") or {}
        name = template.get("name") if payload.get("type") == "template" else None
        with self.recorder.lock:
            if name is None or name not in self.rejected_templates:
                return None
        return 404, {
            "error": {
                "code": 132001,
                "message": "(#132001) Template name does not exist in the translation",
                "error_data": {"details": f"template name ({name}) does not exist"},
            }
        }

    def get_answer(self, path: str, authorization: str) -> tuple[int, Any]:
        """A GET's ``(status, JSON)``: what was recorded, or ``GET /{media-id}`` (a file's description) or
        its ``url`` (then ``(bytes, type)``) as the Cloud API answers."""
        if path == "/_fake/requests":
            return 200, self.requests
        if path == "/_fake/emails" and self.smtp:
            return 200, self.smtp.summary()
        media_id = path.rstrip("/").split("/")[-1]
        with self.recorder.lock:
            media = self.media.get(media_id)
        if media is None:
            return 404, {"error": {"code": 100, "message": "Unknown path"}}
        if not authorization.startswith("Bearer "):
            return 401, {"error": {"code": 190, "message": "Invalid OAuth access token"}}
        content, mime_type, declared = media
        if path.startswith("/_fake/media/"):
            return 200, (content, mime_type)
        return 200, {
            "messaging_product": "whatsapp",
            "id": media_id,
            "url": f"{self.url}/_fake/media/{media_id}",
            "mime_type": mime_type,
            "file_size": len(content) if declared is None else declared,
        }

    def clear(self) -> None:
        self.recorder.clear()
        with self.recorder.lock:
            self.rejected_templates.clear()
            self.media.clear()

    def start(self) -> "FakeWhatsAppServer":
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are separate writes: without TCP_NODELAY each reply on a kept-alive
            # connection waits for the client's delayed ACK (40 ms), which no real API does.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(self, status: int, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                status, answer = server.get_answer(self.path, self.headers.get("Authorization", ""))
                if isinstance(answer, tuple):
                    return self._bytes(*answer)
                return self._reply(status, answer)

            def _bytes(self, content: bytes, mime_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", mime_type)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def do_POST(self) -> None:
                received = time.time()
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    payload = json.loads(raw or b"{}")
                except ValueError:
                    payload = None
                server.recorder.record(
                    {
                        "time": received,
                        "path": self.path,
                        "authorization": self.headers.get("Authorization", ""),
                        "json": payload,
                    }
                )
                if self.path == "/_fake/clear":
                    server.clear()
                    if server.smtp:
                        server.smtp.clear()
                    return self._reply(200, {})
                scripted = server.recorder.next_scripted()
                if scripted:
                    status, code = scripted
                    return self._reply(
                        status,
                        {"error": {"code": code, "message": f"Fake error {code}", "type": "OAuthException"}},
                    )
                refusal = server.refusal(self.path, payload)
                if refusal:
                    return self._reply(*refusal)
                return self._reply(
                    200,
                    {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": payload.get("to"), "wa_id": payload.get("to")}],
                        "messages": [{"id": f"wamid.fake{next(server.ids)}"}],
                    },
                )

        return Handler


class FakeSMTPServer:
    """A tiny threaded SMTP server that records every message and can refuse the next ones."""

    def __init__(self, port: int = 0):
        self.recorder = _Recorder()
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", port), self._handler_class())
        self.server.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """What was received, each with its parsed ``message`` (parsed here, not while receiving)."""
        with self.recorder.lock:
            records = list(self.recorder.records)
        for record in records:
            if "message" not in record:
                record["message"] = message_from_bytes(record["raw"], policy=policy.default)
        return records

    def refuse_next(self, *replies: tuple[int, str]) -> None:
        """Answer the next ``RCPT TO`` commands with these ``(code, text)`` replies, in order."""
        with self.recorder.lock:
            self.recorder.scripted.extend(replies)

    def clear(self) -> None:
        self.recorder.clear()

    def summary(self) -> list[dict[str, Any]]:
        return [
            {
                "time": item["time"],
                "to": item["to"],
                "subject": item["message"]["Subject"],
                "text": item["message"].get_body(("plain",)).get_content(),
            }
            for item in self.messages
        ]

    def start(self) -> "FakeSMTPServer":
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler_class(self) -> type[socketserver.StreamRequestHandler]:  # noqa: C901 - known debt (ARCHITECTURE.md, Habits)
        server = self

        class Handler(socketserver.StreamRequestHandler):
            disable_nagle_algorithm = True

            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 fake-smtp ready")
                sender = ""
                recipients: list[str] = []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    command = line.decode("utf-8", "replace").strip()
                    verb = command[:4].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250-fake-smtp" if verb == "EHLO" else "250 fake-smtp")
                        if verb == "EHLO":
                            self.reply("250-8BITMIME")
                            self.reply("250 SMTPUTF8")
                    elif verb == "MAIL":
                        sender, recipients = command[10:].strip("<> "), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        scripted = server.recorder.next_scripted()
                        if scripted:
                            self.reply(f"{scripted[0]} {scripted[1]}")
                        else:
                            recipients.append(command[8:].split(">")[0].strip("<> "))
                            self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        data = self._read_data()
                        server.recorder.record(
                            {"time": time.time(), "from": sender, "to": recipients, "raw": data}
                        )
                        self.reply("250 OK queued")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:
                        self.reply("250 OK")

            def _read_data(self) -> bytes:
                lines: list[bytes] = []
                while True:
                    line = self.rfile.readline()
                    if not line or line in (b".\r\n", b".\n"):
                        return b"".join(lines)
                    lines.append(line[1:] if line.startswith(b"..") else line)

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m alerts.fake")
    parser.add_argument("--whatsapp-port", type=int, default=8025)
    parser.add_argument("--smtp-port", type=int, default=8026)
    args = parser.parse_args()
    smtp = FakeSMTPServer(args.smtp_port).start()
    whatsapp = FakeWhatsAppServer(args.whatsapp_port, smtp=smtp)
    print(f"WhatsApp {whatsapp.url} · SMTP 127.0.0.1:{smtp.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        whatsapp.httpd.serve_forever()


if __name__ == "__main__":
    main()
