"""Lead listing and lead page at volume (issue 3, item 8; issue 16): server time and queries through
Django's test client.

``run(args)`` loads the dataset (``bench.loader``, with its follow-ups), signs in as an admin, a manager
and an employee and times the listing (default view; filtered by assignee and status; searched by an
email fragment; sorted by submission date; page 1 and page 500), the lead page (the inspect view) of the
employee's newest lead and of their lead with the most follow-ups and events, and "my overdue" (the
listing with ``next_action=overdue``) for the employee with the most open follow-ups and for a manager of
both brands, and the searches as people type them (``search_cases``, issue 17). The query counts are then
compared with the same requests on a 10k-lead database and with a larger page size: they must not change.
``python -m bench.leads --search`` times the searches alone, in their own section.
"""

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Count, Q
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.harness import (
    DETAILED_HEADER,
    create_database,
    machine_line,
    measure,
    sibling_url,
    signed_in_client,
    write_section,
)
from bench.loader import ensure_dataset

QUICK_LEADS = 10_000
COMPARISON_LEADS = 10_000
PAGE_SIZES = (50, 100)
TARGET_LIST_MS = 200
TARGET_LEAD_PAGE_MS = 60
TARGET_OVERDUE_MS = 150
TARGET_SEARCH_MS = 150
OVERDUE = {"next_action": "overdue"}


def listing_url():
    from crm.viewsets.leads import lead_viewset

    return reverse(lead_viewset.get_url_name("list"))


def inspect_url(pk):
    from crm.viewsets.leads import lead_viewset

    return reverse(lead_viewset.get_url_name("inspect"), args=[pk])


def people():
    from crm.models import User

    return {
        "admin": User.objects.get(username="bench-admin"),
        "manager": User.objects.get(username="gerente"),
        "employee": User.objects.get(username="ventas01"),
        "busiest employee": busiest_with_follow_ups(),
    }


def busiest_with_follow_ups():
    """The employee with the most open follow-ups."""
    from crm.models import FollowUp, Role, User

    top = (
        FollowUp.objects.filter(state=FollowUp.State.OPEN, assignee__role=Role.EMPLOYEE)
        .values("assignee")
        .annotate(n=Count("pk"))
        .order_by("-n", "assignee")
        .first()
    )
    return User.objects.get(pk=top["assignee"]) if top else User.objects.get(username="ventas01")


def worked_lead(employee):
    """The employee's lead with open follow-ups that has the most follow-ups, then the most events."""
    from crm.models import Lead

    return (
        Lead.objects.filter(assignee=employee, next_action_at__isnull=False)
        .annotate(n_follow_ups=Count("follow_ups", distinct=True), n_events=Count("events", distinct=True))
        .order_by("-n_follow_ups", "-n_events", "pk")
        .first()
    )


def overdue_filter_present(user):
    """Whether the listing's filters know ``next_action`` (else the listing ignores the parameter)."""
    from crm.views.listing import LeadFilterSet

    request = RequestFactory().get(listing_url(), OVERDUE)
    request.user = user
    return "next_action" in LeadFilterSet(request.GET, request=request).filters


def cases():
    """(name, role, path, query, target ms) of every measured request; the values are read from the dataset."""
    from django.utils import timezone

    from crm.models import FollowUp, Lead, PipelineStatus

    users = people()
    quoted = PipelineStatus.objects.get(key="quoted")
    employee = users["employee"]
    sample = Lead.objects.filter(email__contains="@", assignee=employee).order_by("pk").first()
    fragment = sample.email.split("@")[0][-8:] if sample else "gonzalez"
    inspected = Lead.objects.filter(assignee=employee).order_by("-submitted_at", "-pk").first()
    worked = worked_lead(employee)
    if worked is None:
        worked, worked_text = inspected, "no lead with follow-ups"
    else:
        plural = "" if worked.n_follow_ups == 1 else "s"
        worked_text = f"{worked.n_events} events, {worked.n_follow_ups} follow-up{plural}"
    listing = listing_url()
    list_ms, page_ms = TARGET_LIST_MS, TARGET_LEAD_PAGE_MS
    rows = []
    for role in ("admin", "manager", "employee"):
        rows += [
            (f"listing, default ({role})", role, listing, {}, list_ms),
            (
                f"listing, assignee + status ({role})",
                role,
                listing,
                {"assignee": employee.pk, "status": quoted.pk},
                list_ms,
            ),
            (f"listing, email search “{fragment}” ({role})", role, listing, {"q": fragment}, list_ms),
            (f"listing, sorted by submission ({role})", role, listing, {"ordering": "submitted_at"}, list_ms),
            (f"listing, page 500 ({role})", role, listing, {"p": 500}, list_ms),
            (f"lead page, newest lead ({role})", role, inspect_url(inspected.pk), {}, page_ms),
            (
                f"lead page, most follow-ups “{worked_text}” ({role})",
                role,
                inspect_url(worked.pk),
                {},
                page_ms,
            ),
        ]
    busiest = users["busiest employee"]
    now = timezone.now()
    mine = FollowUp.objects.filter(assignee=busiest, state=FollowUp.State.OPEN).aggregate(
        open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now))
    )
    overdue_leads = Lead.objects.filter(
        next_action_at__lt=now, brand__in=users["manager"].brands.all()
    ).count()
    mine_text = f"{busiest.username}: {mine['open']:,} open follow-ups, {mine['overdue']:,} overdue"
    rows += [
        (f"my overdue “{mine_text}” (employee)", "busiest employee", listing, OVERDUE, TARGET_OVERDUE_MS),
        (
            f"overdue, both brands “{overdue_leads:,} leads” (manager)",
            "manager",
            listing,
            OVERDUE,
            TARGET_OVERDUE_MS,
        ),
    ]
    return rows + search_cases(users), users


def search_cases(users):
    """(name, role, path, query, target ms) of the searches as people type them (issue 17): a surname
    and a first name without their accents, a name's two words in the other order, a phone number's last
    eight digits as written, part of an email, for each role; and the header search that opens the
    employee's one matching lead (answered by a redirect)."""
    from crm.models import Lead
    from crm.normalise import fold

    employee = users["employee"]
    sample = (
        Lead.objects.filter(assignee=employee, phone__regex=r"[0-9]{4}$", email__contains=".")
        .exclude(contact_name__regex=r"^[ -~]*$")
        .order_by("pk")
        .first()
    )
    first, *_middle, last = fold(sample.contact_name).split()
    phone_digits = "".join(ch for ch in sample.phone if ch.isdigit())[-8:]
    local, domain = sample.email.split("@", 1)
    searches = [
        ("surname without accents", "gonzalez"),
        ("first name without accents", "nunez"),
        ("two words, other order", f"{last} {first}"),
        ("phone digits", f"{phone_digits[:4]}-{phone_digits[4:]}"),
        ("email part", f"{local[-6:]}@{domain.split('.')[0]}"),
    ]
    listing = listing_url()
    rows = [
        (f"search, {what} “{text}” ({role})", role, listing, {"q": text}, TARGET_SEARCH_MS)
        for role in ("admin", "manager", "employee")
        for what, text in searches
    ]
    quick = reverse("crm_leads:search")
    whole_name = fold(sample.contact_name)
    rows.append(
        (
            f"header search, one lead “{whole_name}” (employee)",
            "employee",
            quick,
            {"q": whole_name},
            TARGET_SEARCH_MS,
        )
    )
    return rows


def _request(client, path, query):
    expected = 302 if path == reverse("crm_leads:search") else 200

    def call():
        response = client.get(path, query)
        if response.status_code != expected:
            raise RuntimeError(f"GET {path} {query} answered {response.status_code}")
        return response

    return call


def query_counts(page_size=None):
    """Queries of each case (one request each), optionally with another listing page size."""
    rows, users = cases()
    clients = {role: _client(user) for role, user in users.items()}
    restore = _set_page_size(page_size)
    try:
        counts = {}
        for name, role, path, query, _target in rows:
            call = _request(clients[role], path, query)
            call()
            with CaptureQueriesContext(connection) as captured:
                call()
            counts[_case_key(name)] = len(captured.captured_queries)
        return counts
    finally:
        restore()


def _case_key(name):
    """The case name without the search fragment, which differs between datasets."""
    return name.split("“")[0] + name.split("”")[-1] if "“" in name else name


def _client(user):
    return signed_in_client(user)


def _set_page_size(page_size):
    """Change the listing's page size for this process; returns the function that restores it."""
    from django.urls import resolve

    view = resolve(listing_url()).func
    initkwargs = getattr(view, "view_initkwargs", {})
    if page_size is None or "paginate_by" not in initkwargs:
        return lambda: None
    previous = initkwargs["paginate_by"]
    initkwargs["paginate_by"] = page_size
    return lambda: initkwargs.__setitem__("paginate_by", previous)


def comparison_counts(leads):
    """Query counts measured in a child process on a database holding ``leads`` leads."""
    url = sibling_url(f"{connection.settings_dict['NAME']}_{leads // 1000}k")
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "intralog.settings.bench"}
    create_database(url)
    result = subprocess.run(
        [sys.executable, "-m", "bench.leads", "--counts", str(leads)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(args):
    leads = QUICK_LEADS if args.quick else args.leads
    report = ensure_dataset(leads)
    print(report, flush=True)
    rows, users = cases()
    clients = {role: _client(user) for role, user in users.items()}
    overdue_filter = overdue_filter_present(users["busiest employee"])
    if not overdue_filter:
        print(
            "the listing has no next_action filter yet: the overdue cases time the default listing",
            flush=True,
        )
    runs = 10 if args.quick else 20
    load_before = os.getloadavg()[0]
    measurements = []
    for name, role, path, query, limit in rows:
        measurement = measure(name, _request(clients[role], path, query), runs=runs, warmup=3)
        measurement.note = "ok" if measurement.p95_ms <= limit else f"MISSES p95 ≤ {limit} ms"
        measurements.append(measurement)
        print(measurement.detailed_row(), flush=True)

    load_after = os.getloadavg()[0]
    counts = {_case_key(m.name): m.queries for m in measurements}
    bigger_pages = query_counts(page_size=PAGE_SIZES[1])
    small = comparison_counts(COMPARISON_LEADS) if leads != COMPARISON_LEADS else counts
    lines = [
        f"Machine: {machine_line()}  ",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · dataset: {leads:,} leads · {report}  ",
        f"Each case: 3 warm-up requests, then {runs} timed requests through Django's test client "
        "(server time, including template rendering), signed in with `force_login` and the second factor.  ",
        f"Machine load (1-minute average) before / after the timed cases: {load_before:.1f} / {load_after:.1f} "
        f"on {os.cpu_count()} cores; wall times include waiting for a CPU, the Python CPU column does not.  ",
        f"Targets (p95): listing ≤ {TARGET_LIST_MS} ms (issue 3); lead page ≤ {TARGET_LEAD_PAGE_MS} ms and "
        f"“my overdue” ≤ {TARGET_OVERDUE_MS} ms (issue 16; My day is in the homes section). Lead page: the "
        "inspect view of the employee's newest lead and of their lead with open follow-ups that has the most "
        "follow-ups, then events. My overdue: the listing with `next_action=overdue` for the employee with "
        "the most open follow-ups (who sees only their own leads) and for a manager of both brands"
        + (
            "."
            if overdue_filter
            else " — NOT FILTERED: the listing has no `next_action` filter yet and ignores "
            "the parameter, so these rows time the default listing."
        ),
        "",
        DETAILED_HEADER,
        *[m.detailed_row() for m in measurements],
        "",
        f"### Query counts: {COMPARISON_LEADS:,} vs {leads:,} leads, page size {PAGE_SIZES[0]} vs {PAGE_SIZES[1]}",
        "",
        f"| case | {COMPARISON_LEADS // 1000}k leads | {leads:,} leads | {leads:,} leads, {PAGE_SIZES[1]} per page | same |",
        "|---|---|---|---|---|",
    ]
    for key, count in counts.items():
        same = small.get(key) == count == bigger_pages.get(key)
        lines.append(
            f"| {key} | {small.get(key)} | {count} | {bigger_pages.get(key)} | {'yes' if same else 'NO'} |"
        )
    write_section("leads", f"Leads at {leads:,}", "\n".join(lines))


def run_search(leads=1_000_000, runs=20):
    """Only the search cases (``python -m bench.leads --search``), in the section ``leads-search``."""
    report = ensure_dataset(leads)
    print(report, flush=True)
    users = people()
    clients = {role: _client(user) for role, user in users.items()}
    load_before = os.getloadavg()[0]
    measurements = []
    for name, role, path, query, limit in search_cases(users):
        measurement = measure(name, _request(clients[role], path, query), runs=runs, warmup=3)
        measurement.note = "ok" if measurement.p95_ms <= limit else f"MISSES p95 ≤ {limit} ms"
        measurements.append(measurement)
        print(measurement.detailed_row(), flush=True)
    load_after = os.getloadavg()[0]
    lines = [
        f"Machine: {machine_line()}  ",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · dataset: {leads:,} leads · {report}  ",
        f"Each case: 3 warm-up requests, then {runs} timed requests through Django's test client, signed in "
        "with `force_login`; the same cases are rows of the leads section when the whole benchmark runs.  ",
        f"Machine load (1-minute average) before / after the timed cases: {load_before:.1f} / {load_after:.1f} "
        f"on {os.cpu_count()} cores; wall times include waiting for a CPU, the Python CPU column does not.  ",
        f"Target (p95): ≤ {TARGET_SEARCH_MS} ms (issue 17).",
        "",
        DETAILED_HEADER,
        *[m.detailed_row() for m in measurements],
    ]
    write_section("leads-search", f"Lead search at {leads:,}", "\n".join(lines))


def _counts_main():
    """Child process entry: load ``n`` leads here and print the query counts as JSON."""
    import django

    django.setup()
    n = int(sys.argv[2])
    started = time.perf_counter()
    ensure_dataset(n, stdout=sys.stderr)
    print(f"10k dataset ready in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    print(json.dumps(query_counts()))


if __name__ == "__main__" and sys.argv[1:2] == ["--counts"]:
    _counts_main()
elif __name__ == "__main__" and sys.argv[1:2] == ["--search"]:
    import django

    django.setup()
    run_search()
