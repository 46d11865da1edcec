"""WhatsApp inbound benchmark: a burst of 1,000 messages from leads through the real signed webhook, with
the webhook's retries, read by RQ workers onto the leads' conversations and timelines.

``run(args)`` starts a child process on its own PostgreSQL database and Redis
(``WHATSAPP_BENCH_DATABASE_URL``, ``WHATSAPP_BENCH_REDIS_URL``). The child starts gunicorn serving the
project (the webhook ``core.whatsapp.webhook``), the fake Cloud API (``python -m alerts.fake``, which the
assignee's WhatsApp alerts reach) and four RQ workers (``SimpleWorker`` on the ``high`` queue, where the
webhook's bodies are read; one also on the alerts' queue), then posts the burst over HTTP from 8 threads, each
body signed with the app secret as the Cloud API signs it. Of the messages, one in ten comes from a number
no lead has (a lead is made through the intake) and one in ten is sent twice more: the same body (a replay,
kept once) and the same message in a new envelope (a new body naming the same message id), close behind
the first so that they are read concurrently. It reports messages lost and duplicated (messages, timeline
events, leads made twice) and the time from the webhook's receipt (the body kept) to the message on the
lead's timeline (the body read and committed).
"""

import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "WHATSAPP_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/intralog_bench_whatsapp"
)
REDIS_URL = os.environ.get("WHATSAPP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
APP_SECRET = "bench-whatsapp-app-secret"  # noqa: S105
NUMBER_ID = "555000111"
SENDERS = 8
PACED, PACED_PER_SECOND = 300, 5
WEBHOOK_WORKERS = 4


def run(args):
    """Entry point for ``python -m bench whatsapp``: runs the benchmark in a child process."""
    total = 200 if getattr(args, "quick", False) else 1000
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.whatsapp", "child", str(total)],
        cwd=BASE_DIR,
        env=_child_env(),
        check=True,
    )


def _child_env():
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="intralog.settings.bench",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        WHATSAPP_APP_SECRET=APP_SECRET,
        WHATSAPP_TOKEN="bench-token",  # noqa: S106
        WHATSAPP_PHONE_NUMBER_ID="1000",
    )
    return env


def worker(*queues):
    """One RQ worker on ``queues`` (no fork per job), until killed."""
    import django

    django.setup()
    from rq import SimpleWorker

    from core.jobs import get_queue

    names = queues or ("high",)
    rq_queues = [get_queue(name) for name in names]
    SimpleWorker(rq_queues, connection=rq_queues[0].connection).work(logging_level="WARNING")


def _scenario(lead_count):
    """The INTRALOG number, a rep with ``lead_count`` leads (mobile numbers) and the rule that alerts the
    assignee of a message on WhatsApp; earlier runs' messages and leads removed."""
    from alerts.models import AlertRule, Notification
    from conversations.models import Conversation, EarlyStatus, Message, WebhookDelivery, WhatsAppNumber
    from crm import services
    from crm.intake import LeadData, create_leads
    from crm.models import Brand, Lead, Role, Source, User

    Notification.objects.all().delete()
    AlertRule.objects.all().delete()
    for model in (Message, Conversation, WebhookDelivery, EarlyStatus):
        model.objects.all().delete()
    Lead.objects.filter(contact_name__startswith="Bench WA").delete()
    Lead.objects.filter(external_source="whatsapp", external_form=NUMBER_ID).delete()
    brand = Brand.objects.get(code="intralog")
    WhatsAppNumber.objects.filter(brand=brand).delete()
    WhatsAppNumber.objects.create(brand=brand, phone_number_id=NUMBER_ID, display_number="+54 9 11 4000-0001")
    rep, _created = User.objects.get_or_create(
        username="bench-wa-rep", defaults={"email": "bench-wa-rep@example.com", "role": Role.EMPLOYEE}
    )
    rep.whatsapp, rep.is_active = "+5491155550199", True
    rep.save()
    rep.brands.set([brand])
    rule = AlertRule.objects.create(
        name="Bench: replies to the assignee",
        trigger="message_received",
        notify_assignee=True,
        send_email=False,
        send_whatsapp=True,
    )
    rule.brands.set([brand])
    source = Source.objects.get(key="phone")
    phones = [f"+54911{6000_0000 + index}" for index in range(lead_count)]
    leads = create_leads(
        [
            LeadData(brand=brand, contact_name=f"Bench WA {index}", phone=phone, source=source)
            for index, phone in enumerate(phones)
        ]
    )
    for lead in leads:
        if lead is not None:
            services.assign(lead, rep)
    return phones


def _body(message_id, sender, text, name):
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA-BENCH",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "5491140000001",
                                "phone_number_id": NUMBER_ID,
                            },
                            "contacts": [{"profile": {"name": name}, "wa_id": sender.lstrip("+")}],
                            "messages": [
                                {
                                    "from": sender.lstrip("+"),
                                    "id": message_id,
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(payload).encode()


def _plan(total, phones, run_id):
    """The posts in order: ``(message id, body)``; replays and re-wrapped retries a few places behind."""
    rng = random.Random(18)
    new_numbers = [f"+549351{456_0000 + index}" for index in range(max(total // 20, 1))]
    posts = []
    for index in range(total):
        sender = rng.choice(new_numbers) if index % 10 == 3 else rng.choice(phones)
        message_id = f"wamid.bench-{run_id}-{index}"
        body = _body(message_id, sender, f"Consulta {index}: ¿tienen lugar para 20 pallets?", "Contacto")
        posts.append((message_id, body))
        if index % 10 == 7:
            posts.append((message_id, body))
            posts.append((message_id, _body(message_id, sender, f"Consulta {index}", "Contacto (reenvío)")))
    for position in range(len(posts) - 1, 0, -1):
        if rng.random() < 0.3:
            swap = max(0, position - rng.randint(1, 3))
            posts[position], posts[swap] = posts[swap], posts[position]
    return posts, set(new_numbers)


def _sender(url):
    from core.whatsapp import sign

    local = threading.local()

    def post(item):
        import http.client

        message_id, body = item
        connection = getattr(local, "connection", None)
        if connection is None:
            host, port = url.split("//")[1].split("/")[0].split(":")
            connection = local.connection = http.client.HTTPConnection(host, int(port), timeout=60)
        path = "/" + url.split("//")[1].split("/", 1)[1]
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(APP_SECRET, body)}
        start = time.time()
        for attempt in range(3):
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                return message_id, response.status, start, time.time()
            except (OSError, http.client.HTTPException):
                connection.close()
                if attempt == 2:  # noqa: PLR2004
                    raise
        return message_id, 0, start, time.time()

    return post


def _paced(url, posts):
    """Post at ``PACED_PER_SECOND`` (each post at its planned time, from 4 threads): a steady stream."""
    post = _sender(url)
    start = time.monotonic()

    def at_its_time(item):
        index, planned = item
        time.sleep(max(0.0, start + index / PACED_PER_SECOND - time.monotonic()))
        return post(planned)

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(at_its_time, enumerate(posts)))


def _drain(timeout=600):
    from conversations.models import WebhookDelivery

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not WebhookDelivery.objects.filter(state=WebhookDelivery.State.PENDING).exists():
            return
        time.sleep(0.5)


def _wait_for_port(port, timeout=30):
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"Nothing listens on {port}")


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _create_database():
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    admin_url = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def _wait_for_workers(count, timeout=60):
    from rq import Worker

    from core.jobs import connection

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(Worker.all(connection=connection("high"))) >= count:
            return
        time.sleep(0.1)
    raise RuntimeError("The RQ workers did not start")


def _figures(answers, unique_ids):
    """Lost and duplicated messages, leads made twice, and each message's receipt → timeline time."""
    from conversations.models import Message, WebhookDelivery
    from crm.models import Lead, LeadEvent

    statuses = {}
    for _message_id, status, _start, _end in answers:
        statuses[status] = statuses.get(status, 0) + 1
    post_ms = [(end - begin) * 1000 for _id, _status, begin, end in answers]
    stored = list(
        Message.objects.filter(provider_id__in=unique_ids).values_list("provider_id", "pk", "lead_id")
    )
    stored_ids = [provider_id for provider_id, _pk, _lead in stored]
    events = {}
    for (message_pk,) in LeadEvent.objects.filter(
        kind=LeadEvent.Kind.MESSAGE_RECEIVED, data__message_id__in=[pk for _id, pk, _lead in stored]
    ).values_list("data__message_id"):
        events[message_pk] = events.get(message_pk, 0) + 1
    lost = len(unique_ids - set(stored_ids))
    duplicated = (len(stored_ids) - len(set(stored_ids))) + sum(count - 1 for count in events.values())
    without_event = sum(1 for _id, pk, _lead in stored if pk not in events)
    made = Lead.objects.filter(external_source="whatsapp", external_form=NUMBER_ID)
    made_numbers = list(made.values_list("phone_e164", flat=True))
    leads_twice = len(made_numbers) - len(set(made_numbers))

    first_receipt, read_at = {}, {}
    for body, received_at, processed_at, result in WebhookDelivery.objects.values_list(
        "body", "received_at", "processed_at", "result"
    ):
        payload = json.loads(bytes(body))
        message_id = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        if message_id not in first_receipt or received_at < first_receipt[message_id]:
            first_receipt[message_id] = received_at
        if (result or {}).get("messages"):
            read_at[message_id] = processed_at
    latencies = [
        (read_at[message_id] - first_receipt[message_id]).total_seconds() * 1000
        for message_id in unique_ids
        if message_id in read_at and message_id in first_receipt
    ]
    return {
        "lost": lost,
        "duplicated": duplicated,
        "without_event": without_event,
        "made": made_numbers,
        "leads_twice": leads_twice,
        "latencies": latencies,
        "statuses": statuses,
        "post_ms": post_ms,
        "stored_ids": stored_ids,
    }


def child(total):  # noqa: PLR0915 - one scenario, start to report
    fake_port, fake_smtp, web_port = _free_port(), _free_port(), _free_port()
    os.environ["WHATSAPP_API_BASE_URL"] = f"http://127.0.0.1:{fake_port}/v21.0"
    _create_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.urls import reverse

    from bench.harness import machine_line, percentile, write_section
    from conversations.models import WebhookDelivery
    from core.jobs import get_queue

    call_command("migrate", verbosity=0, interactive=False)
    for name in ("high", "default", "low", settings.ALERTS_QUEUE):
        get_queue(name).empty()
    phones = _scenario(lead_count=200)
    with connection.cursor() as cursor:
        for table in ("conversations_message", "conversations_webhookdelivery", "crm_lead", "crm_leadevent"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    run_id = str(int(time.time()))
    posts, new_numbers = _plan(total, phones, run_id)
    unique_ids = {message_id for message_id, _body in posts}
    paced_posts, _paced_numbers = _plan(PACED, phones, run_id + "p")
    paced_ids = {message_id for message_id, _body in paced_posts}
    url = f"http://127.0.0.1:{web_port}{reverse('whatsapp_webhook')}"

    env = os.environ.copy()
    processes = []
    try:
        processes.append(
            subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "alerts.fake", "--whatsapp-port", str(fake_port)]
                + ["--smtp-port", str(fake_smtp)],
                cwd=BASE_DIR,
                stdout=subprocess.DEVNULL,
            )
        )
        processes.append(
            subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "gunicorn", "intralog.wsgi", "--workers", "3"]
                + ["--bind", f"127.0.0.1:{web_port}", "--log-level", "warning", "--graceful-timeout", "5"],
                cwd=BASE_DIR,
                env=env,
            )
        )
        for queues in [["high"]] * (WEBHOOK_WORKERS - 1) + [["high", settings.ALERTS_QUEUE]]:
            processes.append(
                subprocess.Popen(  # noqa: S603
                    [sys.executable, "-m", "bench.whatsapp", "worker", *queues], cwd=BASE_DIR, env=env
                )
            )
        _wait_for_port(fake_port)
        _wait_for_port(web_port)
        _wait_for_workers(WEBHOOK_WORKERS)
        load_before = os.getloadavg()
        start = time.perf_counter()
        with ThreadPoolExecutor(SENDERS) as pool:
            answers = list(pool.map(_sender(url), posts))
        burst_seconds = time.perf_counter() - start
        _drain()
        drained_seconds = time.perf_counter() - start
        burst_bodies = WebhookDelivery.objects.count()
        load_after = os.getloadavg()
        paced_answers = _paced(url, paced_posts)
        _drain()
        time.sleep(3)
        sent_alerts = json.loads(
            urllib.request.urlopen(f"http://127.0.0.1:{fake_port}/_fake/requests", timeout=30).read()  # noqa: S310
        )
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)

    figures = _figures(answers, unique_ids)
    paced = _figures(paced_answers, paced_ids)
    paced_p95 = percentile(paced["latencies"], 95)
    lost, duplicated, without_event = figures["lost"], figures["duplicated"], figures["without_event"]
    made_numbers, leads_twice, latencies = figures["made"], figures["leads_twice"], figures["latencies"]
    statuses, post_ms, stored_ids = figures["statuses"], figures["post_ms"], figures["stored_ids"]
    replays = WebhookDelivery.objects.count()
    alert_requests = [r for r in sent_alerts if r["path"].endswith("/messages")]
    load = "load average (1, 5, 15 min) {:.2f} {:.2f} {:.2f} before, {:.2f} {:.2f} {:.2f} after".format(
        *load_before, *load_after
    )
    p95 = percentile(latencies, 95)
    body = f"""
Machine: {machine_line()}; {load}. gunicorn (3 sync workers) serving the signed webhook, {WEBHOOK_WORKERS} RQ
`SimpleWorker`s (the `high` queue, where webhook bodies are read; one also takes the alerts' queue), real
Redis, PostgreSQL; the fake Cloud API in its own process receives the assignee's WhatsApp alerts.
Scenario: {total} inbound text messages posted from {SENDERS} threads as fast as the server answers, to 200
leads of one rep and {len(new_numbers)} numbers no lead has; one in ten posted twice more close behind (the
same body, and the same message in a new envelope): {len(posts)} signed POSTs.

| measure | value | target |
|---|---|---|
| POSTs answered (status: count) | {", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))} | all 200 |
| bodies kept, burst and stream (identical replays kept once) | {replays} | |
| messages sent / stored | {len(unique_ids)} / {len(set(stored_ids))} | all |
| lost | {lost} (stored without a timeline event: {without_event}) | 0 |
| duplicated (messages or timeline events twice) | {duplicated} | 0 |
| leads made from new numbers / made twice | {len(made_numbers)} / {leads_twice} | ≤ {len(new_numbers)} / 0 |
| assignee alerts at the fake Cloud API | {len(alert_requests)} | |
| webhook receipt → on the timeline, median | {statistics.median(latencies) if latencies else 0:.0f} ms | |
| webhook receipt → on the timeline, p95 | {p95:.0f} ms | ≤ 5000 ms |
| webhook receipt → on the timeline, max | {max(latencies) if latencies else 0:.0f} ms | |
| POST answered, median / p95 | {statistics.median(post_ms):.0f} ms / {percentile(post_ms, 95):.0f} ms | |
| burst posted in / all read after | {burst_seconds:.1f} s / {drained_seconds:.1f} s | |
| rate posted / rate read (bodies a second) | {len(posts) / burst_seconds:.1f} / {burst_bodies / drained_seconds:.1f} | |

In the burst the time to the timeline is the queue's wait: bodies come faster than the workers read them,
so the last ones wait for all before them. The steady stream below shows one message's own time.

Then a steady stream on the same setup: {PACED} more messages (same mix: new numbers, replays, re-wrapped
retries; {len(paced_answers)} POSTs) at {PACED_PER_SECOND} messages a second.

| measure (steady stream) | value | target |
|---|---|---|
| messages sent / stored / lost / duplicated | {len(paced_ids)} / {len(set(paced["stored_ids"]))} / {paced["lost"]} / {paced["duplicated"]} | all / 0 / 0 |
| webhook receipt → on the timeline, median | {statistics.median(paced["latencies"]) if paced["latencies"] else 0:.0f} ms | |
| webhook receipt → on the timeline, p95 | {paced_p95:.0f} ms | ≤ 5000 ms |
| webhook receipt → on the timeline, max | {max(paced["latencies"]) if paced["latencies"] else 0:.0f} ms | |

Receipt is when the webhook kept the body (`WebhookDelivery.received_at`, the first of a message's
copies); on the timeline is when the job that stored the message committed it with its `message_received`
event (`processed_at`, set just before the commit).
"""
    write_section("whatsapp", "WhatsApp: burst of inbound messages through the signed webhook", body)
    print(body)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "child":
        child(int(sys.argv[2]))
    elif command == "worker":
        worker(*sys.argv[2:])
