"""Outbound webhooks benchmark: 10,000 lead events in a burst, delivered to a receiver on 127.0.0.1.

``run(args)`` starts a child process on its own PostgreSQL database (``WEBHOOKS_BENCH_DATABASE_URL``) and the
receiver in a third process (``receiver``: a threaded HTTP server that answers 200 and notes when each
delivery id arrived). The child creates the leads in batches of 1,000 through ``crm.intake.create_leads``
(one subscription to ``lead.created``), then runs the delivery loop in ``WORKERS`` threads side by side
(``SKIP LOCKED``) and reports deliveries per second, the p50/p95 time from each event to its arrival at the
receiver, and that every delivery id arrived exactly once.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.harness import create_database

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "WEBHOOKS_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/intralog_bench_webhooks"
)
WORKERS = 3


def run(args):
    """Entry point for ``python -m bench webhooks``."""
    total = 1000 if getattr(args, "quick", False) else 10_000
    port = _free_port()
    receiver = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "bench.webhooks", "receiver", str(port)], cwd=BASE_DIR
    )
    try:
        _wait_for_port(port)
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="intralog.settings.bench", DATABASE_URL=DATABASE_URL)
        env.update(REDIS_URL="", WEBHOOKS_WAKE_UP="0", RECEIVER_PORT=str(port))
        subprocess.run(  # noqa: S603
            [sys.executable, "-m", "bench.webhooks", "child", str(total)], cwd=BASE_DIR, env=env, check=True
        )
    finally:
        receiver.terminate()
        receiver.wait()


def receiver(port):
    """Answer 200 to every POST and note each delivery id's arrival times; ``GET /stats`` returns them."""
    arrivals: dict[str, list[float]] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # header and body leave at once, not 40 ms apart

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                arrivals.setdefault(self.headers.get("X-Intralog-Delivery", ""), []).append(time.time())
            self._answer(b"ok")

        def do_GET(self):
            with lock:
                self._answer(json.dumps(arrivals).encode())

        def _answer(self, body):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    server.daemon_threads = True
    server.serve_forever()


def child(total):
    create_database(DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from bench.harness import machine_line, percentile, write_section
    from crm.intake import LeadData, create_leads
    from crm.models import Brand, Lead, Source
    from webhooks.models import Delivery, OutboxEvent, Subscription
    from webhooks.services import deliver_due

    call_command("migrate", verbosity=0, interactive=False)
    Delivery.objects.all().delete()
    OutboxEvent.objects.all().delete()
    Subscription.objects.all().delete()
    Lead.objects.filter(external_source="bench-webhooks").delete()
    port = os.environ["RECEIVER_PORT"]
    Subscription.objects.create(name="Bench", url=f"http://127.0.0.1:{port}/hook", events=["lead.created"])
    brand, source = Brand.objects.get(code="intralog"), Source.objects.get(key="web_form")
    run_id = str(int(time.time()))
    started = time.monotonic()
    for start in range(0, total, 1000):
        drafts = [
            LeadData(
                brand=brand,
                contact_name=f"Bench {index}",
                email=f"bench{run_id}.{index}@example.com",
                source=source,
                external_source="bench-webhooks",
                external_id=f"{run_id}-{index}",
            )
            for index in range(start, min(start + 1000, total))
        ]
        create_leads(drafts)
    created_seconds = time.monotonic() - started
    occurred = {
        str(uid): at.timestamp() for uid, at in Delivery.objects.values_list("uid", "event__occurred_at")
    }

    def work():
        try:
            while deliver_due():
                pass
        finally:
            connections.close_all()

    started = time.monotonic()
    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    delivery_seconds = time.monotonic() - started
    arrivals = _arrivals(port)
    counts = Counter({uid: len(times) for uid, times in arrivals.items() if uid in occurred})
    lost = len(set(occurred) - set(counts))
    duplicated = sum(count - 1 for count in counts.values() if count > 1)
    latencies = [(arrivals[uid][0] - occurred[uid]) * 1000 for uid in counts]
    steady = _steady(port, brand, source, run_id, total // 20)
    body = "\n".join(
        [
            machine_line(),
            "",
            "| figure | value |",
            "|---|---|",
            f"| events (lead.created, batches of 1,000) | {total} |",
            f"| leads and outbox written | {created_seconds:.1f} s |",
            f"| delivery workers (threads, SKIP LOCKED) | {WORKERS} |",
            f"| deliveries per second | {len(counts) / delivery_seconds:.0f} |",
            f"| event to arrival, p50 | {percentile(latencies, 50):.0f} ms |",
            f"| event to arrival, p95 | {percentile(latencies, 95):.0f} ms |",
            f"| lost / duplicated | {lost} / {duplicated} |",
            f"| steady: {steady['events']} leads one by one while the workers poll, event to arrival p50 | "
            f"{steady['p50']:.0f} ms |",
            f"| steady: event to arrival p95 | {steady['p95']:.0f} ms |",
            f"| steady: lost / duplicated | {steady['lost']} / {steady['duplicated']} |",
            "",
            "In the burst, event to arrival counts from the event's time, so it includes the wait for the rest of the "
            "burst to be written before the workers start: the delivery rate is its figure to compare. The steady "
            "rows are the latency of one lead at a time with the workers already running (polling every 50 ms here; "
            "in production the commit wakes a run and the periodic run comes every 15 s).",
        ]
    )
    print(body)
    write_section("webhooks", "Outbound webhooks: a burst of 10,000 events to a local receiver", body)


def _arrivals(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def _steady(port, brand, source, run_id, count):
    """Leads created one at a time while ``WORKERS`` delivery loops poll; event-to-arrival figures."""
    from django.db import connections

    from bench.harness import percentile
    from crm.intake import LeadData, create_lead
    from webhooks.models import Delivery
    from webhooks.services import deliver_due

    stop = threading.Event()

    def work():
        try:
            while not stop.is_set():
                if not deliver_due():
                    time.sleep(0.05)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    first = Delivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    for index in range(count):
        create_lead(
            LeadData(
                brand=brand,
                contact_name=f"Steady {index}",
                email=f"steady{run_id}.{index}@example.com",
                source=source,
                external_source="bench-webhooks",
                external_id=f"{run_id}-s{index}",
            )
        )
        time.sleep(0.02)
    deadline = time.monotonic() + 120
    waiting = Delivery.objects.filter(pk__gt=first).exclude(status=Delivery.Status.DELIVERED)
    while waiting.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join()
    occurred = {
        str(uid): at.timestamp()
        for uid, at in Delivery.objects.filter(pk__gt=first).values_list("uid", "event__occurred_at")
    }
    arrivals = _arrivals(port)
    seen = {uid: arrivals[uid] for uid in occurred if uid in arrivals}
    latencies = [(times[0] - occurred[uid]) * 1000 for uid, times in seen.items()]
    return {
        "events": count,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "lost": len(occurred) - len(seen),
        "duplicated": sum(len(times) - 1 for times in seen.values()),
    }


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "receiver":
        receiver(*rest)
    elif command == "child":
        child(int(rest[0]))
