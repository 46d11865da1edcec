"""Site history (Wagtail's audit report) at 1M leads, with one log entry per lead event, per role.

``run(args)`` loads the volume dataset (``bench.loader``), writes the log entries the service layer
would have written for its events (one per event, in SQL; the loader writes none), then requests the
site history as an admin, a manager of one brand and the employee with the most leads: the first page,
a filtered page, a deeper page and the results fragment. Every lead entry a manager or employee sees is
checked against their leads in the same SQL statement (``crm.models.audit``).
"""

import os
from datetime import UTC, datetime

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.urls import reverse

from bench.harness import DETAILED_HEADER, machine_line, measure, signed_in_client, write_section
from bench.loader import ensure_dataset

QUICK_LEADS = 10_000
TARGET_MS = 300


def ensure_log_entries():
    """One lead log entry per lead event, as ``crm.services`` writes them; returns how many there are."""
    from crm.events import LOG_ACTIONS
    from crm.models import Lead, LeadEvent, LeadLogEntry

    lead_type = ContentType.objects.get_for_model(Lead).pk
    events = LeadEvent.objects.count()
    if LeadLogEntry.objects.filter(content_type_id=lead_type).count() == events:
        return events
    actions = " ".join(f"WHEN '{kind}' THEN '{action}'" for kind, action in LOG_ACTIONS.items())
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM wagtailcore_modellogentry WHERE content_type_id = %s", [lead_type])
        cursor.execute(
            f"""
            INSERT INTO wagtailcore_modellogentry
                (content_type_id, label, action, data, "timestamp", uuid, user_id, revision_id,
                 content_changed, deleted, object_id)
            SELECT %s, COALESCE(NULLIF(l.contact_name, ''), NULLIF(l.company, ''), l.email),
                   CASE e.kind {actions} END, '{{}}'::jsonb, e.created_at, NULL, e.actor_id, NULL,
                   false, false, e.lead_id::text
            FROM crm_leadevent e JOIN crm_lead l ON l.id = e.lead_id
            """,  # noqa: S608 - the CASE is built from the code's own constants
            [lead_type],
        )
        cursor.execute("VACUUM (ANALYZE) wagtailcore_modellogentry")
    return events


def _users():
    """An admin, the manager of INTRALOG alone and the INTRALOG employee with the most leads."""
    from django.db.models import Count

    from crm.models import Lead, Role, User

    busiest = (
        Lead.objects.filter(assignee__role=Role.EMPLOYEE, brand__code="intralog")
        .values("assignee")
        .annotate(leads=Count("pk"))
        .order_by("-leads")
        .values_list("assignee", flat=True)
        .first()
    )
    return {
        "admin": User.objects.get(username="bench-admin"),
        "manager": User.objects.get(username="gerente.intralog"),
        "employee": User.objects.get(pk=busiest),
    }


def _request(client, path):
    def call():
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
        return response

    return call


def run(args):
    leads = QUICK_LEADS if args.quick else args.leads
    report = ensure_dataset(leads)
    entries = ensure_log_entries()
    print(report, f"· {entries:,} lead log entries", flush=True)
    page = reverse("wagtailadmin_reports:site_history")
    results = reverse("wagtailadmin_reports:site_history_results")
    cases = [
        ("first page", page),
        ("results fragment", results),
        ("filtered: notes", f"{results}?action=crm.lead.note"),
        ("page 20", f"{results}?p=20"),
    ]
    runs = 5 if args.quick else 10
    load_before = os.getloadavg()[0]
    rows = []
    for role, user in _users().items():
        client = signed_in_client(user)
        for name, path in cases:
            measurement = measure(f"{name} ({role})", _request(client, path), runs=runs, warmup=2)
            measurement.note = "ok" if measurement.p95_ms <= TARGET_MS else f"over {TARGET_MS} ms"
            rows.append(measurement)
            print(measurement.detailed_row(), flush=True)
    load_after = os.getloadavg()[0]
    lines = [
        f"Machine: {machine_line()}  ",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · dataset: {leads:,} leads, {entries:,} lead log "
        f"entries (one per event) · {report}  ",
        f"Each case: 2 warm-up requests, then {runs} timed requests through Django's test client. Machine load "
        f"(1-minute average) before / after: {load_before:.1f} / {load_after:.1f} on {os.cpu_count()} cores.",
        "",
        DETAILED_HEADER,
        *[measurement.detailed_row() for measurement in rows],
    ]
    write_section("site-history", f"Site history at {leads:,} leads", "\n".join(lines))
