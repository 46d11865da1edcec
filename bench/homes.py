"""The Wagtail admin home of every role at volume: whatever panels the home shows that role.

``python -m bench homes`` (``make bench``); writes the "homes" section of RESULTS.md. The employee's
home is their "My day" (issue 16: p95 ≤ 100 ms); the employee is the salesperson holding the most open
leads, the worst case of the personal panels (their open and overdue follow-ups are shown alongside).
"""

import html
import os
import re
from datetime import UTC, datetime

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from bench.dashboards import QUICK_LEADS, _load, _rounds_text, measure_cases
from bench.harness import DETAILED_HEADER, machine_line, signed_in_client, write_section
from bench.loader import ensure_dataset

TARGET_MS = 100
TARGET_QUERIES = 20
HEADING = re.compile(r"<h2[^>]*>(.*?)</h2>", re.S)


def busiest_employee():
    """The employee with the most open leads (new or open stage) assigned to them."""
    from crm.models import Role, Stage, User

    return (
        User.objects.filter(role=Role.EMPLOYEE, is_active=True)
        .annotate(
            open_leads=Count(
                "assigned_leads", filter=Q(assigned_leads__status__stage__in=[Stage.NEW, Stage.OPEN])
            )
        )
        .order_by("-open_leads", "username")
        .first()
    )


def cases():
    from crm.models import FollowUp, User

    employee = busiest_employee()
    follow_ups = FollowUp.objects.filter(assignee=employee, state=FollowUp.State.OPEN).aggregate(
        open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=timezone.now()))
    )
    my_day = (
        f"My day · employee ({employee.open_leads:,} open leads, {follow_ups['open']:,} open follow-ups, "
        f"{follow_ups['overdue']:,} overdue)"
    )
    home = reverse("wagtailadmin_home")
    return [
        ("home · admin", User.objects.get(username="bench-admin"), home),
        ("home · manager (one brand)", User.objects.get(username="gerente.intralog"), home),
        ("home · manager (both brands)", User.objects.get(username="gerente"), home),
        (my_day, employee, home),
        ("home · marketing", User.objects.get(username="marketing"), home),
    ]


def panels_shown(user, path):
    """The headings of the panels the home shows ``user``."""
    client = signed_in_client(user)
    page = client.get(path).content.decode()
    main = page[page.find("<main") :]
    headings = [
        " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split()) for text in HEADING.findall(main)
    ]
    return [heading for heading in headings if heading != user.get_full_name()]


def run(args):
    leads = QUICK_LEADS if args.quick else args.leads
    report = ensure_dataset(leads)
    print(report, flush=True)
    runs = 10 if args.quick else 30
    rounds = max(1, getattr(args, "rounds", 1))
    home_cases = cases()
    shown = {name: panels_shown(user, path) for name, user, path in home_cases}
    load_before = os.getloadavg()
    measurements = measure_cases(home_cases, runs, rounds, TARGET_MS, TARGET_QUERIES)
    load_after = os.getloadavg()
    lines = [
        f"Machine: {machine_line()}  ",
        f"Load average (1/5/15 min) before / after the timed cases: {_load(load_before)} / {_load(load_after)} "
        f"on {os.cpu_count()} cores; wall times include waiting for a CPU.  ",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · dataset: {leads:,} leads · {report}  ",
        f"Each case: `GET /admin/` as that person, 3 warm-up requests, then {runs} timed requests through "
        "Django's test client (server time: the Wagtail admin frame and every home panel the role sees), "
        f"signed in with `force_login` and the second factor{_rounds_text(rounds)}. Targets: p95 ≤ {TARGET_MS} ms and ≤ "
        f"{TARGET_QUERIES} queries (for the employee's home, My day, p95 ≤ {TARGET_MS} ms is also issue 16's "
        "target). Python CPU: the benchmark process's CPU time per request; SQL wait: wall time spent "
        "waiting on PostgreSQL (including waiting for a CPU on a busy machine).",
        "",
        "How: a salesperson's panels read only their own leads from one index, "
        "`dashboards_lead_assignee_cover` (assignee, assignment time; status, contact and activity times "
        "carried): open leads by status and their overdue count, the first ten overdue (oldest assignment "
        "first) and the figures of the last 30 days, each from one stretch of it without visiting a lead row; "
        "the statuses are picked from their small table first instead of being joined. A manager's day "
        "(`dashboards.team.team_day`) counts unassigned leads, SLA breaches and overdue follow-ups per person "
        "in one query, three `UNION ALL` branches each reading one index with the open statuses given as ids "
        "(the unassigned count by brand and status from `dashboards_lead_open_unassigned`). The homes' lists "
        "of leads read only the columns their rows show (name, brand, status badge, one time).",
        "",
        DETAILED_HEADER,
        *[m.detailed_row() for m in measurements],
        "",
        "What each home shows (its panels' headings):",
        "",
        *[f"- {name}: {', '.join(headings) or '(no panel headings)'}" for name, headings in shown.items()],
    ]
    write_section("homes", f"Admin homes at {leads:,} leads", "\n".join(lines))
