"""Lead forms on PostgreSQL: page render and submission through the test client, then a burst of
200 submissions from 20 concurrent clients against gunicorn.

Targets: render p95 <= 60 ms, submit p95 <= 120 ms; the burst ends with 0 errors and 200 leads.
"""

import os
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings

from bench.harness import TABLE_HEADER, machine_line, measure, write_section

ROOT = Path(__file__).resolve().parent.parent
FORM_SLUG = "bench-lead-form"
RENDER_TARGET_MS, SUBMIT_TARGET_MS = 60, 120
BURST_SUBMISSIONS, BURST_CLIENTS = 200, 20
VALUES = {
    "nombre_y_apellido": "Cliente de prueba",
    "razon_social": "Bench S.A.",
    "email": "bench@example.com",
    "telefono": "011 4444-5555",
    "ubicacion": "Buenos Aires",
    "me_interesa_el_servicio": "Transporte",
    "mensaje": "Necesito cotizar un servicio.",
    "cantidad_de_pallets": "12",
}


def _form_page():
    from crm.models import Brand, Source
    from forms_builder.models import LeadFormField, LeadFormPage
    from home.models import HomePage

    page = LeadFormPage.objects.filter(slug=FORM_SLUG).first()
    if page:
        return page
    fields = [
        ("Nombre y apellido", "singleline", "name", True, ""),
        ("Razón social", "singleline", "company", False, ""),
        ("Email", "email", "email", True, ""),
        ("Teléfono", "singleline", "phone", True, ""),
        ("Ubicación", "singleline", "location", False, ""),
        ("Me interesa el servicio", "dropdown", "service", True, "Transporte\nComercio exterior"),
        ("Mensaje", "multiline", "message", False, ""),
        ("Cantidad de pallets", "number", "extra", False, ""),
    ]
    page = LeadFormPage(
        title="Bench lead form",
        slug=FORM_SLUG,
        intro="<p>Benchmark form.</p>",
        thank_you_text="<p>Thank you (bench).</p>",
        brand=Brand.objects.get(code="intralog"),
        source=Source.objects.get(key="web_form"),
        to_address="ventas@example.com",
        form_fields=[
            LeadFormField(
                sort_order=i, label=label, field_type=kind, lead_field=lead, required=req, choices=ch
            )
            for i, (label, kind, lead, req, ch) in enumerate(fields)
        ],
    )
    HomePage.objects.order_by("depth", "pk").first().add_child(instance=page)
    return page


def _post_data(page):
    from forms_builder.guards import make_render_token

    # A visitor who took ten seconds to fill the form in (the minimum fill time guard stays on).
    return {**VALUES, "render_token": make_render_token(page.pk, time.time() - 10), "website": ""}


def _client_measurements(page, runs):
    from crm.models import Lead

    client = Client()
    url = page.url
    render = measure("form page render (GET)", lambda: client.get(url), runs=runs, warmup=3)

    from core.jobs import get_queue, is_embedded

    queue = get_queue("default")
    before_leads = Lead.objects.filter(external_form=str(page.pk)).count()
    before_mail = len(getattr(mail, "outbox", []))
    before_jobs = 0 if is_embedded() else queue.count

    def submit():
        response = client.post(url, _post_data(page))
        assert b"Thank you (bench)" in response.content, response.content[:500]

    submitted = measure("form submission (POST → lead + job)", submit, runs=runs, warmup=3)
    created = Lead.objects.filter(external_form=str(page.pk)).count() - before_leads
    expected = runs + 3 + 1
    submitted.note = f"{created}/{expected} leads"
    if is_embedded():
        mailed = len(getattr(mail, "outbox", [])) - before_mail
        submitted.note += f", {mailed} notification jobs ran in-process (no REDIS_URL)"
    else:
        submitted.note += f", {queue.count - before_jobs} notification jobs queued in Redis"
    return render, submitted, created == expected


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_gunicorn(port):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "intralog.settings.bench",
        "DATABASE_URL": os.environ["DATABASE_URL"],
        # The burst comes from one address: raise the per-IP limit instead of turning the guard off.
        "LEAD_FORM_RATE_LIMIT": "100000",
    }
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "intralog.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(max(2, (os.cpu_count() or 2) * 2)),
        "--timeout",
        "120",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode()[-2000:]) from None
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("gunicorn did not start in 30 s")


def _burst(page):
    import requests

    from crm.models import Lead

    port = _free_port()
    server = _start_gunicorn(port)
    base = f"http://127.0.0.1:{port}"
    token_pattern = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

    def one_submission(index):
        try:
            return _visit_and_submit(index)
        except requests.RequestException:
            return False, 0.0

    def _visit_and_submit(_index):
        with requests.Session() as session:
            started = time.perf_counter()
            landing = session.get(f"{base}{page.url}?utm_source=bench&utm_medium=burst", timeout=120)
            match = token_pattern.search(landing.text)
            if landing.status_code != 200 or not match:
                return False, time.perf_counter() - started
            response = session.post(
                f"{base}{page.url}",
                data={**_post_data(page), "csrfmiddlewaretoken": match.group(1)},
                headers={"Referer": f"{base}{page.url}"},
                timeout=120,
            )
            ok = response.status_code == 200 and "Thank you (bench)" in response.text
            return ok, time.perf_counter() - started

    try:
        before = Lead.objects.filter(external_form=str(page.pk)).count()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=BURST_CLIENTS) as pool:
            results = list(pool.map(one_submission, range(BURST_SUBMISSIONS)))
        elapsed = time.perf_counter() - started
        leads = Lead.objects.filter(external_form=str(page.pk)).count() - before
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    errors = sum(1 for ok, _seconds in results if not ok)
    timings = sorted(seconds * 1000 for _ok, seconds in results)
    return {
        "errors": errors,
        "leads": leads,
        "elapsed": elapsed,
        "median_ms": timings[len(timings) // 2],
        "p95_ms": timings[int(len(timings) * 0.95) - 1],
    }


def run(args):
    call_command("migrate", verbosity=0, interactive=False)
    runs = 20 if args.quick else 60
    with override_settings(LEAD_FORM_RATE_LIMIT=0):
        page = _form_page()
        connection.close()
        render, submitted, all_created = _client_measurements(page, runs)
    burst = _burst(page)

    def verdict(ok):
        return "✅ met" if ok else "❌ missed"

    render_ok = render.p95_ms <= RENDER_TARGET_MS
    submit_ok = submitted.p95_ms <= SUBMIT_TARGET_MS and all_created
    burst_ok = burst["errors"] == 0 and burst["leads"] == BURST_SUBMISSIONS
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    body = f"""
{machine_line()} · load average during the run {load} (1/5/15 min)

Server-side time through Django's test client (all middleware, templates and the lead service layer;
each submission creates a lead with its events, classification, duplicate check and assignment, the
Wagtail submission, the behaviour log, and queues the notification email).

{TABLE_HEADER}
{render.row()}
{submitted.row()}

| target | value | verdict |
|---|---|---|
| render p95 ≤ {RENDER_TARGET_MS} ms | {render.p95_ms:.1f} ms | {verdict(render_ok)} |
| submit p95 ≤ {SUBMIT_TARGET_MS} ms | {submitted.p95_ms:.1f} ms | {verdict(submit_ok)} |
| burst: 0 errors, {BURST_SUBMISSIONS} leads | {burst["errors"]} errors, {burst["leads"]} leads | {verdict(burst_ok)} |

Burst: {BURST_SUBMISSIONS} visitors (GET the page, then POST the form) from {BURST_CLIENTS} concurrent
`requests` clients against gunicorn (`intralog.settings.bench`, {max(2, (os.cpu_count() or 2) * 2)} sync
workers) on 127.0.0.1: {burst["elapsed"]:.1f} s in all, per visitor median {burst["median_ms"]:.0f} ms,
p95 {burst["p95_ms"]:.0f} ms (GET + POST, wall clock, including queueing behind the other clients).
The per-IP rate limit stays on, raised to 100000 through `LEAD_FORM_RATE_LIMIT`; the minimum fill time
guard stays on (the bench posts a render token signed ten seconds earlier).
"""
    if os.environ.get("REDIS_URL"):
        from core.jobs import get_queue

        get_queue("default").empty()  # no worker runs in the bench: drop the queued notification emails
    write_section("forms", "Lead forms", body)
    print(body)
