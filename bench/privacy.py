"""Erasing a person (issue 19): 50 leads in both brands with 500 events, erased through
``privacy.services.erase_person`` on the volume dataset; target under 5 s on 1M leads. Also the plans of
the queries that find the person and their rows, which must use indexes.

``python -m bench privacy`` (``make bench``); writes the "privacy" section of RESULTS.md. Each run makes a
new person, erases it, then deletes its anonymised leads and the tombstones, so the dataset holds only its
bench leads again (the loader reloads a database holding any other lead). Run it on a copy of the bench
database (``CREATE DATABASE h_privacy_bench TEMPLATE intralog_bench``).
"""

import time
from datetime import UTC, datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.harness import machine_line, write_section
from bench.loader import ensure_dataset

TARGET_SECONDS = 5.0
LEADS = 50
EVENTS = 500
QUICK_LEADS = 10_000


def make_person(tag):
    """A person with ``LEADS`` leads (both brands, some merged) and about ``EVENTS`` events; returns the
    email."""
    from crm import services
    from crm.intake import LeadData, create_leads
    from crm.models import Brand, LeadEvent, Source, User

    email = f"bench.privacy.{tag}@privado.example"
    phone = f"+54911{int(tag) % 100_000_000:08d}"
    brands = list(Brand.objects.order_by("pk"))
    source = Source.objects.filter(key="phone").first()
    admin = User.objects.get(username="bench-admin")
    drafts = [
        LeadData(
            brand=brands[index % len(brands)],
            contact_name=f"Persona Borrable {tag}",
            email=email,
            phone=phone,
            message=f"Mensaje {index} de la persona {tag}",
            source=source,
        )
        for index in range(LEADS)
    ]
    leads = [lead for lead in create_leads(drafts) if lead is not None]
    events = LeadEvent.objects.filter(lead__in=leads).count()
    index = 0
    while events < EVENTS:
        services.add_note(leads[index % len(leads)], admin, f"Nota {events} sobre {email} ({phone})")
        events += 1
        index += 1
    same_brand = [lead for lead in leads if lead.brand_id == leads[0].brand_id]
    services.merge_leads(same_brand[1], same_brand[0], admin)
    return email, len(leads), LeadEvent.objects.filter(lead__in=leads).count()


def plans(email):
    """``{query: plan}`` of the queries an erasure's cost rests on."""
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import ModelLogEntry

    from crm.models import Brand, Lead, LeadEvent, Tombstone
    from crm.tombstones import digest

    brand_ids = list(Brand.objects.values_list("pk", flat=True))
    ids = list(Lead.objects.filter(email=email, brand_id__in=brand_ids).values_list("pk", flat=True)[:50])
    queries = {
        "leads by email, every brand": Lead.objects.filter(brand_id__in=brand_ids, email=email).values("pk"),
        "leads merged into them": Lead.objects.filter(merged_into_id__in=ids).values("pk"),
        "their duplicates": Lead.objects.filter(duplicate_of_id__in=ids).values("pk"),
        "their events": LeadEvent.objects.filter(lead_id__in=ids).values("pk"),
        "tombstone check": Tombstone.objects.filter(digest__in=[digest("email", email)]).values("pk"),
        "their log entries": ModelLogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Lead), object_id__in=[str(pk) for pk in ids]
        ).values("pk"),
    }
    return {name: query.order_by().explain() for name, query in queries.items()}


def scans(plan):
    """The plan's scan nodes, e.g. ``Index Scan using crm_lead_brand_email on crm_lead``."""
    found = []
    for line in plan.splitlines():
        text = line.strip().removeprefix("->").strip()
        if "Scan" in text:
            found.append(text.split("  (")[0])
    return "; ".join(found)


def _clean_up(lead_ids):
    """Delete the erased person's leads and tombstones: the loader reloads a dataset holding other leads."""
    from crm.models import Lead, Tombstone

    Lead.objects.filter(merged_into_id__in=lead_ids).update(merged_into=None, duplicate_of=None)
    Lead.objects.filter(pk__in=lead_ids).delete()
    Tombstone.objects.all().delete()


def run(args):
    from crm.models import Lead
    from privacy.services import erase_person

    n_leads = QUICK_LEADS if args.quick else args.leads
    report = ensure_dataset(n_leads)
    from crm.models import User

    admin = User.objects.get(username="bench-admin")
    tag = f"{int(time.time()) % 100_000_000}"
    email, leads, events = make_person(tag)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_lead")
    explained = plans(email)
    with CaptureQueriesContext(connection) as captured:
        start = time.perf_counter()
        request = erase_person("email", email, admin)
        seconds = time.perf_counter() - start
    assert not Lead.objects.filter(email=email).exists()
    slow = sorted(captured.captured_queries, key=lambda query: -float(query["time"]))[:5]
    seq_scans = [name for name, plan in explained.items() if "Seq Scan" in plan and "tombstone" not in name]
    verdict = "meets" if seconds < TARGET_SECONDS and not seq_scans else "MISSES"
    lines = [
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {machine_line()}",
        "",
        f"Dataset: {Lead.objects.count():,} leads ({report.leads:,} bench leads, {report.events:,} events).",
        f"Person: {leads} leads in both brands (one merged), {events} events, found by email.",
        "",
        "| case | seconds | queries | target |",
        "|---|---|---|---|",
        f"| erase a person (`privacy.services.erase_person`) | {seconds:.2f} | {len(captured.captured_queries)} "
        f"| < {TARGET_SECONDS:.0f} s: {verdict} |",
        "",
        f"Erased: {request.outcome.get('erased')}.",
        "",
        "Slowest queries (seconds):",
        "",
        *[f"- {query['time']} · `{query['sql'][:160]}`" for query in slow],
        "",
        "Plans (no sequential scan on the big tables: "
        + ("none found" if not seq_scans else "FOUND in " + ", ".join(seq_scans))
        + "):",
        "",
        *[f"- {name}: `{scans(plan)}`" for name, plan in explained.items()],
        "",
        "The tombstone table is small here; its unique digest index answers once it grows.",
    ]
    _clean_up(request.lead_ids)
    body = "\n".join(lines)
    print(body)
    write_section("privacy", "Erasing a person (privacy)", body)
