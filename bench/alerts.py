"""Alerts benchmark: a burst of 1,000 new leads matching 3 rules, delivered by one RQ worker; and follow-up
reminders (``reminders`` child) with the periodic schedule running.

``run(args)`` starts a child process on its own PostgreSQL database and Redis (``ALERTS_BENCH_DATABASE_URL``,
``ALERTS_BENCH_REDIS_URL``), the fake WhatsApp/SMTP servers in a third process and one RQ worker
(``SimpleWorker`` on the alerts queue) in a fourth. It measures:

- lead creation time with alerts off and on (ABBA-interleaved in blocks, wall and CPU time, before the
  worker starts, so only the outbox insert and the after-commit wake-up differ) and its queries;
- for the burst, the time from each lead's commit to its WhatsApp request at the fake Cloud API;
- that every expected message arrived exactly once.

The reminders child (same database, Redis and fake servers, one worker) measures, with ``manage.py rqcron
intralog.schedule`` running as in production, the time from each follow-up's due time to its WhatsApp
request and email (a rule "overdue by 0 minutes", so the reminder is due at the task's due time), the
queries and time of a run with nothing due, and a burst of 5,000 tasks due at once handled by two runs
started together: each reminder added once and sent once per channel.
"""

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.harness import create_database

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "ALERTS_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/intralog_bench_alerts"
)
REDIS_URL = os.environ.get("ALERTS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")


def lead_link_pattern():
    """A regular expression for a lead's admin address in an alert, capturing the lead id."""
    from alerts.messages import lead_link

    sample = 987654321
    return re.compile(re.escape(lead_link(sample)).replace(str(sample), r"(\d+)"))


def run(args):
    """Entry point for ``python -m bench alerts``: runs the benchmark in a child process."""
    quick = getattr(args, "quick", False)
    burst = 200 if quick else 1000
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.alerts", "child", str(burst)],
        cwd=BASE_DIR,
        env=_child_env(),
        check=True,
    )
    tasks, task_burst = (60, 500) if quick else (300, 5000)
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.alerts", "reminders", str(tasks), str(task_burst)],
        cwd=BASE_DIR,
        env=_child_env(),
        check=True,
    )


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _child_env(**extra):
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="intralog.settings.bench",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        **extra,
    )
    return env


def _setup_django():
    import django

    django.setup()
    from django.conf import settings

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = int(os.environ["FAKE_SMTP_PORT"])
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.WHATSAPP_API_BASE_URL = f"http://127.0.0.1:{os.environ['FAKE_WHATSAPP_PORT']}/v21.0"
    settings.WHATSAPP_TOKEN = "bench-token"  # noqa: S105
    settings.WHATSAPP_PHONE_NUMBER_ID = "1000"


def worker():
    """One RQ worker on the alerts queue (no fork per job), until killed."""
    _setup_django()
    from django.conf import settings
    from rq import SimpleWorker

    from core.jobs import get_queue

    queue = get_queue(settings.ALERTS_QUEUE)
    SimpleWorker([queue], connection=queue.connection).work(logging_level="WARNING")


def _fetch(url):
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - local fake server
        return json.loads(response.read())


def _post(url):
    request = urllib.request.Request(url, data=b"{}", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310
        pass


def _wait_for_worker(queue, timeout=60):
    from rq import Worker

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Worker.all(queue=queue):
            time.sleep(0.5)
            return
        time.sleep(0.1)
    raise RuntimeError("The RQ worker did not start")


def _wait_for_port(port, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"Nothing listens on {port}")


def _scenario():
    """A manager and two admins, three rules every new INTRALOG lead matches (5 messages a lead)."""
    from alerts.models import AlertRule, Notification
    from crm.models import Brand, Lead, Role, User

    Notification.objects.all().delete()
    AlertRule.objects.all().delete()
    Lead.objects.filter(contact_name__startswith="Bench alerts").delete()
    brand = Brand.objects.get(code="intralog")
    people = {}
    for username, role, number in (
        ("bench-alerts-manager", Role.MANAGER, "+5491155550101"),
        ("bench-alerts-chosen", Role.ADMIN, "+5491155550102"),
        ("bench-alerts-admin", Role.ADMIN, ""),
    ):
        user, _created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.com", "role": role}
        )
        user.role, user.whatsapp, user.is_active = role, number, True
        user.save()
        user.brands.set([brand])
        people[username] = user
    User.objects.filter(role__in=[Role.ADMIN, Role.MANAGER]).exclude(username__in=list(people)).update(
        is_active=False
    )
    managers = AlertRule.objects.create(
        name="Bench: managers", trigger="new_lead", notify_brand_managers=True, send_whatsapp=True
    )
    managers.brands.set([brand])
    chosen = AlertRule.objects.create(
        name="Bench: chosen", trigger="new_lead", send_email=False, send_whatsapp=True
    )
    chosen.users.set([people["bench-alerts-chosen"]])
    AlertRule.objects.create(name="Bench: admins", trigger="new_lead", role=Role.ADMIN)
    from django.db import connection

    with connection.cursor() as cursor:  # earlier runs' deleted rows must not weigh on this one
        for table in ("alerts_notification", "crm_lead", "crm_leadevent"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return brand, people


def _lead_data(brand, index):
    from crm.intake import LeadData
    from crm.models import Source

    return LeadData(
        brand=brand,
        contact_name=f"Bench alerts {index}",
        company=f"Company {index}",
        email=f"bench-alerts-{index}-{time.time_ns()}@example.com",
        message="Necesitamos cotización de pallets & almacenamiento <urgente>.",
        source=Source.objects.get(key="web_form"),
    )


def _creation_times(brand, pairs, blocks=5, warmup=20):
    """Lead creation time with alerts off and on, interleaved in ABBA order (off, on, on, off, ...).

    Returns ``{enabled: [(wall_ms, cpu_ms), ...]}`` and the overhead of each of ``blocks`` consecutive
    blocks of pairs (so the spread shows how stable the figure is).
    """
    from django.conf import settings

    from crm.intake import create_lead

    for index in range(warmup):
        settings.ALERTS_ENABLED = bool(index % 2)
        create_lead(_lead_data(brand, f"w{index}"))
    timings = {False: [], True: []}
    block_overheads = []
    per_block = max(1, pairs // blocks)
    for block in range(blocks):
        block_timings = {False: [], True: []}
        for pair in range(per_block):
            order = (False, True) if pair % 2 == 0 else (True, False)
            for enabled in order:
                settings.ALERTS_ENABLED = enabled
                data = _lead_data(brand, f"c{block}-{pair}-{int(enabled)}")
                wall, cpu = time.perf_counter(), time.process_time()
                create_lead(data)
                sample = ((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000)
                block_timings[enabled].append(sample)
        block_overheads.append(
            _overhead([w for w, _c in block_timings[False]], [w for w, _c in block_timings[True]])
        )
        for enabled in (False, True):
            timings[enabled] += block_timings[enabled]
    settings.ALERTS_ENABLED = True
    return timings, block_overheads


def _creation_queries(brand):
    """Queries of one lead creation with alerts off and on (after a warm-up creation each)."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from crm.intake import create_lead

    counts = {}
    for enabled in (False, True):
        settings.ALERTS_ENABLED = enabled
        create_lead(_lead_data(brand, f"q{int(enabled)}-warm"))
        with CaptureQueriesContext(connection) as captured:
            create_lead(_lead_data(brand, f"q{int(enabled)}"))
        counts[enabled] = len(captured.captured_queries)
    settings.ALERTS_ENABLED = True
    return counts


def _overhead(off, on, average=statistics.median):
    return (average(on) - average(off)) / average(off) * 100


def _discard_pending():
    from django.conf import settings

    from alerts.models import Notification
    from alerts.wakeup import clear_wake_flag
    from core.jobs import get_queue

    get_queue(settings.ALERTS_QUEUE).empty()
    clear_wake_flag()
    Notification.objects.all().delete()


def child(burst):
    fake_whatsapp_port, fake_smtp_port = _free_port(), _free_port()
    os.environ.update(FAKE_WHATSAPP_PORT=str(fake_whatsapp_port), FAKE_SMTP_PORT=str(fake_smtp_port))
    create_database(DATABASE_URL)
    _setup_django()
    from django.conf import settings
    from django.core.management import call_command

    from alerts import rules
    from alerts.models import Notification
    from bench.harness import machine_line, percentile, write_section
    from core.jobs import get_queue
    from crm.intake import create_lead

    call_command("migrate", verbosity=0, interactive=False)
    get_queue(settings.ALERTS_QUEUE).empty()
    fake = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "alerts.fake",
            "--whatsapp-port",
            str(fake_whatsapp_port),
            "--smtp-port",
            str(fake_smtp_port),
        ],
        cwd=BASE_DIR,
        stdout=subprocess.DEVNULL,
    )
    worker_process = None
    try:
        _wait_for_port(fake_whatsapp_port)
        _wait_for_port(fake_smtp_port)
        fake_url = f"http://127.0.0.1:{fake_whatsapp_port}"
        brand, people = _scenario()
        rules.invalidate()

        load_before = os.getloadavg()
        pairs = max(burst, 100)
        queries = _creation_queries(brand)
        creation, block_overheads = _creation_times(brand, pairs)
        _discard_pending()
        _post(fake_url + "/_fake/clear")

        worker_process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "bench.alerts", "worker"], cwd=BASE_DIR, env=os.environ.copy()
        )
        _wait_for_worker(get_queue(settings.ALERTS_QUEUE))
        created = {}
        burst_start = time.perf_counter()
        for index in range(burst):
            lead = create_lead(_lead_data(brand, index))
            created[lead.pk] = time.time()
        burst_seconds = time.perf_counter() - burst_start

        expected = burst * 5
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            done = Notification.objects.exclude(
                status__in=[Notification.Status.PENDING, Notification.Status.SENDING]
            ).count()
            if done >= expected:
                break
            time.sleep(0.5)
        drained_seconds = time.perf_counter() - burst_start
        load_after = os.getloadavg()
        time.sleep(1)
        statuses = dict(_status_counts(Notification))
        requests = [r for r in _fetch(fake_url + "/_fake/requests") if r["path"].endswith("/messages")]
        emails = _fetch(fake_url + "/_fake/emails")
    finally:
        if worker_process:
            worker_process.terminate()
            worker_process.wait(10)
        fake.terminate()
        fake.wait(10)

    lead_link = lead_link_pattern()
    whatsapp_keys, latencies = [], []
    for request in requests:
        parameters = request["json"]["template"]["components"][0]["parameters"]
        match = next((lead_link.search(p["text"]) for p in parameters if lead_link.search(p["text"])), None)
        lead_pk = int(match.group(1)) if match else None
        whatsapp_keys.append((lead_pk, request["json"]["to"]))
        if lead_pk in created:
            latencies.append((request["time"] - created[lead_pk]) * 1000)
    email_keys, email_latencies = [], []
    for email in emails:
        match = lead_link.search(email["text"])
        lead_pk = int(match.group(1)) if match else None
        email_keys.append((lead_pk, tuple(email["to"])))
        if lead_pk in created:
            email_latencies.append((email["time"] - created[lead_pk]) * 1000)
    duplicates = (len(whatsapp_keys) - len(set(whatsapp_keys))) + (len(email_keys) - len(set(email_keys)))
    delivered = len(set(whatsapp_keys)) + len(set(email_keys))
    off = [wall for wall, _cpu in creation[False]]
    on = [wall for wall, _cpu in creation[True]]
    off_cpu = [cpu for _wall, cpu in creation[False]]
    on_cpu = [cpu for _wall, cpu in creation[True]]
    off_median, on_median = statistics.median(off), statistics.median(on)
    overhead = _overhead(off, on)
    mean_overhead = _overhead(off, on, statistics.mean)
    cpu_overhead = _overhead(off_cpu, on_cpu)
    spread = ", ".join(f"{value:+.1f}" for value in block_overheads)
    p95 = percentile(latencies, 95)
    load = "load average (1, 5, 15 min) {:.2f} {:.2f} {:.2f} before, {:.2f} {:.2f} {:.2f} after the burst".format(
        *load_before, *load_after
    )
    body = f"""
Machine: {machine_line()}; {load}. One RQ `SimpleWorker` on the `{settings.ALERTS_QUEUE}` queue (real Redis),
fake Cloud API and SMTP servers in their own process on 127.0.0.1, PostgreSQL.
Scenario: {burst} new INTRALOG leads created back to back; 3 rules match each (the brand manager by email
and WhatsApp, a chosen admin by WhatsApp, the admin role (2 people) by email) → {expected} notifications.

| measure | value | target |
|---|---|---|
| notifications expected / delivered (unique) | {expected} / {delivered} | all |
| duplicates (same lead, same recipient, same channel) | {duplicates} | 0 |
| outbox statuses | {", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))} | all sent |
| WhatsApp requests / emails received | {len(requests)} / {len(emails)} | {burst * 2} / {burst * 3} |
| lead commit → WhatsApp request, median | {statistics.median(latencies) if latencies else 0:.0f} ms | |
| lead commit → WhatsApp request, p95 | {p95:.0f} ms | ≤ 2000 ms |
| lead commit → WhatsApp request, max | {max(latencies) if latencies else 0:.0f} ms | |
| lead commit → email, median / p95 | {statistics.median(email_latencies) if email_latencies else 0:.0f} ms / {percentile(email_latencies, 95):.0f} ms | |
| burst creation time / until all delivered | {burst_seconds:.1f} s / {drained_seconds:.1f} s | |
| lead creation, alerts off (median, mean, p95; {len(off)} runs) | {off_median:.2f}, {statistics.mean(off):.2f}, {percentile(off, 95):.2f} ms | |
| lead creation, alerts on (median, mean, p95; {len(on)} runs) | {on_median:.2f}, {statistics.mean(on):.2f}, {percentile(on, 95):.2f} ms | |
| creation overhead of alerts (median) | {overhead:+.1f} % | ≤ +10 % |
| creation overhead of alerts (mean) | {mean_overhead:+.1f} % | |
| creation overhead, median of each of {len(block_overheads)} blocks | {spread} % | |
| creation overhead in process CPU time (median) | {cpu_overhead:+.1f} % | |
| queries of one lead creation, alerts off / on | {queries[False]} / {queries[True]} | one `INSERT` more |

Creation times are measured before the worker starts, off and on interleaved in ABBA order
(off, on, on, off, …) so drift and the order of a pair cancel out; the only difference is the receiver
(one plain outbox `INSERT` built from the in-memory rules) and the after-commit wake-up of the worker.
That `INSERT` is the whole overhead: about one round trip to PostgreSQL, so its share grows when the
machine is busy and every round trip waits longer for the server to be scheduled.

Delivery: commits wake one coalesced drain job (a Redis flag); the job claims due rows 200 at a time
with one `UPDATE … RETURNING` (`FOR UPDATE SKIP LOCKED`), WhatsApp rows first, renders each alert once
per lead and language, and sends from kept sender threads over kept HTTP and SMTP connections.
"""
    write_section("alerts", "Alerts: burst of new leads to email and WhatsApp", body)
    print(body)


def _status_counts(model):
    from django.db.models import Count

    return model.objects.values_list("status").annotate(count=Count("pk")).values_list("status", "count")


# ---------------------------------------------------------------------------------------------
# Follow-up reminders

REMINDER_NOTE = re.compile(r"Bench reminder (\d+)")
REMINDER_SPREAD_SECONDS = 120


def _reminder_scenario(lead_count=20):
    """A salesperson with email and WhatsApp and ``lead_count`` leads of theirs; one rule only: a follow-up
    overdue by 0 minutes (its reminder is due at the task's due time) to the task's person, both channels."""
    from alerts.models import AlertRule, Notification
    from crm import services
    from crm.intake import create_lead
    from crm.models import Brand, Lead, Role, User

    Notification.objects.all().delete()
    AlertRule.objects.all().delete()
    Lead.objects.filter(contact_name__startswith="Bench alerts reminders").delete()
    brand = Brand.objects.get(code="intralog")
    seller, _created = User.objects.get_or_create(
        username="bench-reminders-seller", defaults={"email": "bench-reminders-seller@example.com"}
    )
    seller.role, seller.whatsapp, seller.is_active = Role.EMPLOYEE, "+5491155550201", True
    seller.save()
    seller.brands.set([brand])
    AlertRule.objects.create(
        name="Bench: overdue follow-ups",
        trigger="follow_up_overdue",
        threshold=0,
        notify_assignee=True,
        send_whatsapp=True,
    )
    leads = [
        services.assign(create_lead(_lead_data(brand, f"reminders {index}")), seller)
        for index in range(lead_count)
    ]
    return seller, leads


def _bulk_tasks(leads, seller, due_times, first=0):
    """Open tasks due at ``due_times`` (numbered from ``first`` in their notes), bulk-created."""
    from datetime import UTC, datetime

    from crm.models import FollowUp

    FollowUp.objects.bulk_create(
        [
            FollowUp(
                lead=leads[index % len(leads)],
                due_at=datetime.fromtimestamp(due, tz=UTC),
                assignee=seller,
                kind="call",
                note=f"Bench reminder {first + index}",
            )
            for index, due in enumerate(due_times)
        ],
        batch_size=1000,
    )


def _wait_until_done(model, expected, timeout):
    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline:
        done = model.objects.exclude(status__in=[model.Status.PENDING, model.Status.SENDING]).count()
        if done >= expected:
            break
        time.sleep(0.5)
    return done


def _received(fake_url):
    """The task number of every WhatsApp request and email received, with its arrival time."""
    whatsapp, emails = [], []
    for request in _fetch(fake_url + "/_fake/requests"):
        if request["path"].endswith("/messages"):
            texts = " ".join(p["text"] for p in request["json"]["template"]["components"][0]["parameters"])
            match = REMINDER_NOTE.search(texts)
            whatsapp.append((int(match.group(1)) if match else None, request["time"]))
    for email in _fetch(fake_url + "/_fake/emails"):
        match = REMINDER_NOTE.search(email["text"])
        emails.append((int(match.group(1)) if match else None, email["time"]))
    return whatsapp, emails


def _idle_runs(runs=20):
    """Queries of one reminder run with nothing due, and the median time of ``runs`` such runs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from alerts import services

    services.remind_follow_ups()
    with CaptureQueriesContext(connection) as captured:
        services.remind_follow_ups()
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        services.remind_follow_ups()
        timings.append((time.perf_counter() - start) * 1000)
    return len(captured.captured_queries), statistics.median(timings)


def _concurrent_runs():
    """Two reminder runs started together (threads, each with its own connection): rows each added."""
    import threading

    from django.db import connections

    from alerts import services

    barrier, added = threading.Barrier(2), [0, 0]

    def run(slot):
        try:
            barrier.wait(30)
            added[slot] = services.remind_follow_ups()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    return added


def reminders_child(tasks, burst):
    fake_whatsapp_port, fake_smtp_port = _free_port(), _free_port()
    os.environ.update(FAKE_WHATSAPP_PORT=str(fake_whatsapp_port), FAKE_SMTP_PORT=str(fake_smtp_port))
    create_database(DATABASE_URL)
    _setup_django()
    from django.conf import settings
    from django.core.management import call_command

    from alerts import rules
    from alerts.models import Notification
    from bench.harness import machine_line, percentile, write_section
    from core.jobs import get_queue
    from crm.models import FollowUp

    call_command("migrate", verbosity=0, interactive=False)
    for name in settings.JOB_QUEUES:
        get_queue(name).empty()
    fake = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "alerts.fake", "--whatsapp-port", str(fake_whatsapp_port)]
        + ["--smtp-port", str(fake_smtp_port)],
        cwd=BASE_DIR,
        stdout=subprocess.DEVNULL,
    )
    worker_process = cron = None
    try:
        _wait_for_port(fake_whatsapp_port)
        _wait_for_port(fake_smtp_port)
        fake_url = f"http://127.0.0.1:{fake_whatsapp_port}"
        seller, leads = _reminder_scenario()
        rules.invalidate()
        idle_queries, idle_ms = _idle_runs()
        _discard_pending()
        _post(fake_url + "/_fake/clear")
        worker_process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "bench.alerts", "worker"], cwd=BASE_DIR, env=os.environ.copy()
        )
        _wait_for_worker(get_queue(settings.ALERTS_QUEUE))

        # Latency: tasks due one after another over two minutes, the periodic schedule running.
        start = time.time() + 10
        due = [start + REMINDER_SPREAD_SECONDS * index / tasks for index in range(tasks)]
        _bulk_tasks(leads, seller, due)
        cron = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "rqcron", "intralog.schedule"],
            cwd=BASE_DIR,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_until_done(Notification, tasks * 2, REMINDER_SPREAD_SECONDS + 180)
        cron.terminate()
        cron.wait(10)
        cron = None
        time.sleep(1)
        whatsapp, emails = _received(fake_url)
        whatsapp_latency = [(at - due[n]) * 1000 for n, at in whatsapp if n is not None and n < tasks]
        email_latency = [(at - due[n]) * 1000 for n, at in emails if n is not None and n < tasks]
        latency_unique = len({n for n, _at in whatsapp}) + len({n for n, _at in emails})

        # Burst: tasks all due a minute ago, two runs started together (the earlier tasks are done).
        FollowUp.objects.filter(note__startswith="Bench reminder").update(state=FollowUp.State.DONE)
        _discard_pending()
        _post(fake_url + "/_fake/clear")
        _bulk_tasks(leads, seller, [time.time() - 60] * burst, first=tasks)
        burst_start = time.perf_counter()
        added = _concurrent_runs()
        _wait_until_done(Notification, burst * 2, 600)
        burst_seconds = time.perf_counter() - burst_start
        time.sleep(1)
        statuses = dict(_status_counts(Notification))
        burst_whatsapp, burst_emails = _received(fake_url)
    finally:
        for process in (cron, worker_process, fake):
            if process:
                process.terminate()
                process.wait(10)
        for name in settings.JOB_QUEUES:
            get_queue(name).empty()

    whatsapp_numbers = [n for n, _at in burst_whatsapp]
    email_numbers = [n for n, _at in burst_emails]
    duplicates = (len(whatsapp_numbers) - len(set(whatsapp_numbers))) + (
        len(email_numbers) - len(set(email_numbers))
    )

    def spread(values):
        if not values:
            return "-"
        return (
            f"{statistics.median(values) / 1000:.1f} s / {percentile(values, 95) / 1000:.1f} s / "
            f"{max(values) / 1000:.1f} s"
        )

    body = f"""
Machine: {machine_line()}.
PostgreSQL, real Redis, `manage.py rqcron intralog.schedule` (reminders every {settings.ALERTS_REMINDER_SECONDS} s
on the `{settings.ALERTS_QUEUE}` queue) and one RQ `SimpleWorker` on that queue; fake Cloud API and SMTP servers
in their own process. One rule: a follow-up overdue by 0 minutes, to the task's person by email and
WhatsApp, so each reminder is due at its task's due time.

| measure | value | target |
|---|---|---|
| a run with nothing due: queries / median time | {idle_queries} / {idle_ms:.1f} ms | 1 query |
| latency: tasks due one after another over {REMINDER_SPREAD_SECONDS} s | {tasks} | |
| latency: reminders expected / delivered (unique) | {tasks * 2} / {latency_unique} | all |
| due → WhatsApp request, median / p95 / max | {spread(whatsapp_latency)} | p95 ≤ 60 s |
| due → email, median / p95 / max | {spread(email_latency)} | p95 ≤ 60 s |
| burst: tasks due at once, two runs started together | {burst} | |
| burst: rows added by each run | {added[0]} + {added[1]} = {sum(added)} | {burst * 2} |
| burst: WhatsApp requests / emails (unique tasks) | {len(whatsapp_numbers)} ({len(set(whatsapp_numbers))}) / {len(email_numbers)} ({len(set(email_numbers))}) | {burst} / {burst} |
| burst: duplicates (same task, same channel) | {duplicates} | 0 |
| burst: outbox statuses | {", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))} | all sent |
| burst: runs start → every reminder delivered | {burst_seconds:.1f} s | |

A reminder waits at most one schedule interval for the run that finds it, then goes out with the drain
jobs that run wakes after its commit (one per {settings.ALERTS_DRAIN_BATCHES} batches of rows). Two runs at
once read the same tasks; the outbox's unique key (rule, cause = task, lead and due time, recipient,
channel) lets only one insert each row, and the drains claim rows `FOR UPDATE SKIP LOCKED`.
"""
    write_section("alerts_reminders", "Alerts: follow-up reminders (latency and a burst)", body)
    print(body)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "worker":
        worker()
    elif command == "child":
        child(int(sys.argv[2]))
    elif command == "reminders":
        reminders_child(int(sys.argv[2]), int(sys.argv[3]))
