"""The lead board at volume (issue 17): the board of a manager, an admin and an employee, and a drop (the
move endpoint), through Django's test client; then the same on a 10k-lead database, to show the board
stays flat from 10k to 1M leads.

``python -m bench board`` (``make bench``); writes the "board" section of RESULTS.md. A drop moves a
different lead on every request (the employee: their assigned leads to Contacted, the manager: their
brand's contacted leads to Quoted, both legal moves) and puts every moved lead back afterwards, as a
manager through ``crm.services.change_status``, so the next run finds the same leads to move.
"""

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime

from django.db import connection
from django.urls import reverse

from bench.dashboards import _load
from bench.harness import (
    DETAILED_HEADER,
    RESULTS,
    combine_rounds,
    create_database,
    machine_line,
    measure,
    sibling_url,
    signed_in_client,
    write_section,
)
from bench.homes import busiest_employee
from bench.loader import ensure_dataset

QUICK_LEADS = 10_000
COMPARISON_LEADS = 10_000
TARGET_BOARD_MS = 300
TARGET_BOARD_QUERIES = 20
TARGET_DROP_MS = 150
WARMUP = 3
REFERENCE = "yardstick · lead listing, default (manager, both brands)"
TARGET_LISTING_MS = 200
# A drop: who moves, from which status to which, and the manager who puts the leads back.
DROPS = {
    "employee": ("contacted", "assigned"),
    "manager": ("quoted", "contacted"),
}


def board_url():
    return reverse("crm_leads:board")


def _client(user):
    return signed_in_client(user)


def board_cases():
    """(key, detail, user, path) of every page measured; the key stays the same between datasets. The
    last is the lead listing, measured alongside as a yardstick: the leads section has its figures on a
    quiet machine, so the ratio tells what a busy machine adds."""
    from crm.models import User
    from crm.viewsets.leads import lead_viewset

    employee = busiest_employee()
    manager = User.objects.get(username="gerente")
    return [
        ("board · manager, both brands (default)", "", manager, board_url()),
        (
            "board · manager, one brand (default)",
            "",
            User.objects.get(username="gerente.intralog"),
            board_url(),
        ),
        ("board · admin (default)", "", User.objects.get(username="bench-admin"), board_url()),
        (
            "board · employee (default)",
            f"{employee.username}, {employee.open_leads:,} open leads",
            employee,
            board_url(),
        ),
        (REFERENCE, "", manager, reverse(lead_viewset.get_url_name("list"))),
    ]


def _get(client, path):
    def call():
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")

    return call


class Drops:
    """Posts drops of ``user``'s leads in ``source`` onto ``target``, a different lead each time; ``revert``
    puts the moved ones back (as ``manager``)."""

    def __init__(self, user, source, target, manager, needed):
        from crm.access import leads_for
        from crm.models import PipelineStatus

        self.user, self.manager = user, manager
        self.source = PipelineStatus.objects.get(key=source)
        self.target = PipelineStatus.objects.get(key=target)
        leads = leads_for(user).filter(status=self.source)
        self.ids = list(leads.order_by("-submitted_at", "-pk").values_list("pk", flat=True)[:needed])
        self.moved = []
        self.client = _client(user)

    def __call__(self):
        pk = self.ids[len(self.moved)]
        response = self.client.post(
            reverse("crm_leads:board_move", args=[pk]),
            {"status": self.target.pk, "from_status": self.source.pk},
            HTTP_ACCEPT="application/json",
        )
        if response.status_code != 200:
            raise RuntimeError(f"drop of lead {pk} answered {response.status_code}: {response.content[:200]}")
        self.moved.append(pk)

    def revert(self):
        from crm.models import Lead
        from crm.services import change_status

        for lead in Lead.objects.filter(pk__in=self.moved).select_related("status"):
            change_status(lead, self.source, self.manager, "bench: put back after the drop benchmark")
        self.moved = []


def drop_cases():
    """(key, detail, user, source status, target status, manager) of every drop measured."""
    from crm.models import User

    employee = busiest_employee()
    manager = User.objects.get(username="gerente.intralog")
    return [
        (
            "drop · employee, Assigned → Contacted",
            employee.username,
            employee,
            *DROPS["employee"][::-1],
            manager,
        ),
        ("drop · manager, Contacted → Quoted", manager.username, manager, *DROPS["manager"][::-1], manager),
    ]


def measure_all(runs, rounds):
    """Every board case ``rounds`` times (interleaved), then every drop case; ``{key: Measurement}`` and
    the details."""
    pages, details = board_cases(), {}
    clients = {key: _client(user) for key, _detail, user, _path in pages}
    measured = {}
    for _round in range(rounds):
        for key, detail, _user, path in pages:
            details[key] = detail
            measured.setdefault(key, []).append(
                measure(key, _get(clients[key], path), runs=runs, warmup=WARMUP)
            )
    for key, detail, user, source, target, manager in drop_cases():
        details[key] = detail
        for _round in range(rounds):
            drops = Drops(user, source, target, manager, needed=WARMUP + 1 + runs)
            timed = min(runs, len(drops.ids) - WARMUP - 1)  # a small dataset may have fewer leads to move
            if timed < 1:
                raise RuntimeError(f"{user.username} has too few leads in {source} to drop")
            try:
                measured.setdefault(key, []).append(measure(key, drops, runs=timed, warmup=WARMUP))
            finally:
                drops.revert()
    return {key: combine_rounds(rounds_) for key, rounds_ in measured.items()}, details


def verdict(key, measurement):
    if key == REFERENCE:
        return f"listing target p95 ≤ {TARGET_LISTING_MS} ms"
    target_ms = TARGET_DROP_MS if key.startswith("drop") else TARGET_BOARD_MS
    misses = []
    if measurement.p95_ms > target_ms:
        misses.append(f"MISSES p95 ≤ {target_ms} ms")
    if key.startswith("board") and measurement.queries > TARGET_BOARD_QUERIES:
        misses.append(f"MISSES ≤ {TARGET_BOARD_QUERIES} queries")
    return "; ".join(misses) or "ok"


def comparison(leads, runs):
    """The same cases measured in a child process on a database holding ``leads`` leads."""
    url = sibling_url(f"{connection.settings_dict['NAME']}_{leads // 1000}k")
    create_database(url)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "intralog.settings.bench"}
    result = subprocess.run(
        [sys.executable, "-m", "bench.board", "--at", str(leads), "--runs", str(runs)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the {leads:,}-lead comparison failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(args):
    leads = QUICK_LEADS if args.quick else args.leads
    report = ensure_dataset(leads)
    print(report, flush=True)
    runs = 10 if args.quick else 30
    rounds = max(1, getattr(args, "rounds", 1))
    load_before = os.getloadavg()
    measurements, details = measure_all(runs, rounds)
    load_after = os.getloadavg()
    for key, measurement in measurements.items():
        measurement.name = f"{key} ({details[key]})" if details[key] else key
        measurement.note = f"{verdict(key, measurement)}; {measurement.note}".rstrip("; ")
        print(measurement.detailed_row(), flush=True)
    small = comparison(COMPARISON_LEADS, runs) if leads != COMPARISON_LEADS else None
    lines = [
        f"Machine: {machine_line()}  ",
        f"Load average (1/5/15 min) before / after the timed cases: {_load(load_before)} / {_load(load_after)} "
        f"on {os.cpu_count()} cores; wall times include waiting for a CPU.  ",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · dataset: {leads:,} leads · {report}  ",
        f"Each case: {WARMUP} warm-up requests, then {runs} timed requests through Django's test client "
        f"(server time: the Wagtail admin frame, the board's filters and every column's cards), signed in "
        f"with `force_login` and the second factor{_rounds_text(rounds)}. Targets: the board p95 ≤ {TARGET_BOARD_MS} ms with ≤ "
        f"{TARGET_BOARD_QUERIES} queries, flat from 10k to 1M leads; a drop p95 ≤ {TARGET_DROP_MS} ms. "
        "The board is each person's default one (the Board button of the listing: what they may see, no filter): "
        "a column per open status with its count (up to 500) and its 20 newest cards. A drop is "
        "`POST /admin/leads/board/move/<id>/` answered with the moved card, a different lead each time "
        "(the employee with the most open leads moves their assigned leads to Contacted; the manager of "
        "INTRALOG their brand's contacted leads to Quoted); the moved leads are put back afterwards.",
        "",
        "How: the board reads its counts in one query (a `UNION ALL` of one count per status, each stopping "
        "after 501 index entries) and its cards in two (the ids of each open column's 20 newest, a "
        "`UNION ALL` of one limited index scan per status, then those leads with what a card shows). Whoever "
        "sees every brand reads them from `crm_lead_status_submitted`, a salesperson from "
        "`crm_lead_assignee_submitted`, and a manager of some brands from `crm_lead_brand_status_submitted` "
        "(brand, status, submission time and id; `crm` migration 0062): without it that manager's counts "
        "walked the status's leads of every brand and dropped the others', 56 ms of SQL for INTRALOG's "
        "manager at 1M leads instead of under 2 ms. The rest of a board request is Python: the Wagtail "
        "admin frame and the filters, as on the listing, and 140 cards drawn by a template (about 45% of "
        "the request's Python CPU).",
        "",
        _yardstick_text(measurements.get(REFERENCE)),
        "",
        DETAILED_HEADER,
        *[m.detailed_row() for m in measurements.values()],
    ]
    if small is not None:
        lines += [
            "",
            f"### {COMPARISON_LEADS:,} vs {leads:,} leads",
            "",
            f"The same cases in a child process on `{connection.settings_dict['NAME']}_"
            f"{COMPARISON_LEADS // 1000}k` ({small['report']}).",
            "",
            f"| case | {COMPARISON_LEADS // 1000}k median / p95 ms (Python CPU, SQL wait) "
            f"| {leads:,} median / p95 ms (Python CPU, SQL wait) "
            f"| {COMPARISON_LEADS // 1000}k queries | {leads:,} queries | same queries |",
            "|---|---|---|---|---|---|",
        ]
        for key, m in measurements.items():
            other = small["cases"].get(key, {})
            lines.append(
                f"| {key} | {_figures(other)} "
                f"| {m.median_ms:.1f} / {m.p95_ms:.1f} ({m.cpu_median_ms:.1f}, {m.sql_median_ms:.1f}) "
                f"| {other.get('queries')} | {m.queries} | {'yes' if other.get('queries') == m.queries else 'NO'} |"
            )
    write_section("board", f"Lead board at {leads:,} leads", "\n".join(lines))


def _figures(case):
    if not case:
        return "—"
    return f"{case['median_ms']:.1f} / {case['p95_ms']:.1f} ({case.get('cpu_ms', 0):.1f}, {case.get('sql_ms', 0):.1f})"


def quiet_listing():
    """The leads section's row for the manager's default listing (median, p95, its date), if RESULTS.md has it."""
    text = RESULTS.read_text() if RESULTS.exists() else ""
    section = re.search(r"<!-- bench:leads -->(.*?)<!-- /bench:leads -->", text, re.S)
    if not section:
        return None
    date = re.search(r"Date: (\S+ \S+) UTC", section.group(1))
    row = re.search(
        r"^\| listing, default \(manager\) \| \d+ \| ([\d.]+) \| ([\d.]+) \|", section.group(1), re.M
    )
    if not (row and date):
        return None
    return float(row.group(1)), float(row.group(2)), date.group(1)


def _yardstick_text(reference):
    """How much slower than on a quiet machine this run was, read from the listing measured alongside."""
    quiet = quiet_listing()
    if reference is None or quiet is None:
        return "Yardstick: the lead listing, measured alongside (its quiet-machine figures are in the leads section)."
    median, p95, date = quiet
    return (
        f"Yardstick: the lead listing of the same manager, measured in this run, took {reference.median_ms:.0f} ms "
        f"median / {reference.p95_ms:.0f} ms p95; the leads section measured it at {median:.0f} / {p95:.0f} ms "
        f"({date} UTC), so this run's wall times are about {reference.median_ms / median:.1f}× a quieter "
        "machine's."
    )


def _rounds_text(rounds):
    if rounds == 1:
        return ""
    return (
        f"; every case measured in {rounds} rounds and reported as the median of the rounds' medians "
        "and p95s, each round's p95 in the note"
    )


def _comparison_main():
    """Child process entry: load ``n`` leads here, measure every case and print the figures as JSON."""
    import django

    django.setup()
    n, runs = int(sys.argv[2]), int(sys.argv[4])
    started = time.perf_counter()
    report = ensure_dataset(n, stdout=sys.stderr)
    print(f"{n:,}-lead dataset ready in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    measurements, _details = measure_all(runs, 1)
    cases = {
        key: {
            "median_ms": m.median_ms,
            "p95_ms": m.p95_ms,
            "cpu_ms": m.cpu_median_ms,
            "sql_ms": m.sql_median_ms,
            "queries": m.queries,
        }
        for key, m in measurements.items()
    }
    print(json.dumps({"report": str(report), "cases": cases}))


if __name__ == "__main__" and sys.argv[1:2] == ["--at"]:
    _comparison_main()
