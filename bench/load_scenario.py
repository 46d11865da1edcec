"""The load benchmark's team and data (``prepare``) and what it checks after a run (``check``).

``prepare`` leaves the load database as a team finds it on a working day: the volume dataset
(``bench.loader``), 30 reps and 5 managers signing in with one known password (the 20 employees and
3 managers of the bench team, plus 10 reps and 2 managers of its own, each new rep given open leads
of their brand), the lead form of ``bench.forms``, a WordPress source that both receives the sites'
signed webhooks and is pulled from the fake site (``wordpress.fake``) on its schedule, and an alert
rule that tells the brand's managers of every new lead by email. Leads, notifications and webhook
bodies of earlier runs are removed first, so the dataset is not reloaded. It returns the plan the
Locust users read (``bench/locustfile.py``).

``check`` counts, for everything the users sent (the marks file) and everything the fake site holds,
what became of it in the database: every acknowledged form and webhook exactly one lead, every
acknowledged status change and note exactly one event, one ``created`` event per new lead, each new
lead's alerts once per manager, and the dashboards' rollup equal to a recount from the events.
"""

import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.core.management import call_command
from django.db import connection, transaction
from django.urls import reverse

from bench.loader import BENCH_SOURCE, BENCH_TEAM, PASSWORD, ensure_dataset, ensure_team

LOAD_DOMAIN = "@load.example"
SOURCE_SLUG = "carga-sitio"
RULE_NAME = "Carga: lead nuevo → gerentes de la marca"
EXTRA_REPS = [(f"carga.ventas{n:02d}", "intralog") for n in range(1, 6)] + [
    (f"carga.pallets{n:02d}", "intrapal") for n in range(1, 6)
]
EXTRA_MANAGERS = [("carga.gerente.intralog", "intralog"), ("carga.gerente.intrapal", "intrapal")]
LEADS_PER_REP = 150
WEBHOOK_FORMS = {"3": "intralog", "7": "intrapal"}
FORM_THANKS = "Thank you (bench)"


def reset_previous_runs():
    """Remove what earlier runs added (their leads, notifications, webhook bodies, submissions), so the
    volume dataset is found as loaded and not loaded again."""
    from alerts.models import Notification
    from crm.models import Lead
    from forms_builder.models import LeadFormSubmission
    from wordpress.models import Submission, WebhookDelivery

    Notification.objects.all().delete()
    WebhookDelivery.objects.all().delete()
    Submission.objects.all().delete()
    LeadFormSubmission.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM crm_lead WHERE external_source <> %s", [BENCH_SOURCE])
        stale = [row[0] for row in cursor.fetchall()]
    for start in range(0, len(stale), 2000):
        Lead.objects.filter(pk__in=stale[start : start + 2000]).delete()


def _ensure_people():
    """The 30 reps and 5 managers with the known password; new reps get open leads of their brand."""
    from crm.models import Brand, Lead, Role, Stage, User

    ensure_team()
    brands = {brand.code: brand for brand in Brand.objects.all()}
    reps = [username for username, role, *_rest in BENCH_TEAM if role == "employee"]
    managers = [username for username, role, *_rest in BENCH_TEAM if role == "manager"]
    for username, brand, role, people in [
        *((name, brand, Role.EMPLOYEE, reps) for name, brand in EXTRA_REPS),
        *((name, brand, Role.MANAGER, managers) for name, brand in EXTRA_MANAGERS),
    ]:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "role": role,
                "email": f"{username}@bench.example",
                "first_name": "Carga",
                "last_name": username,
            },
        )
        if created:
            user.set_password(PASSWORD)
            user.save()
            user.brands.set([brands[brand]])
        people.append(username)
        if role == Role.EMPLOYEE and not Lead.objects.filter(assignee=user).exists():
            open_leads = Lead.objects.filter(
                brand=brands[brand], status__stage__in=[Stage.NEW, Stage.OPEN], assignee__isnull=False
            ).order_by("-submitted_at")
            chosen = list(
                open_leads.exclude(assignee__username__startswith="carga.").values_list("pk", flat=True)[
                    :LEADS_PER_REP
                ]
            )
            Lead.objects.filter(pk__in=chosen).update(assignee=user)
    return reps, managers


def _rep_leads(reps):
    from crm.models import Lead, Stage

    leads = {}
    for username in reps:
        ids = Lead.objects.filter(assignee__username=username, status__stage__in=[Stage.NEW, Stage.OPEN])
        leads[username] = list(ids.order_by("-submitted_at").values_list("pk", flat=True)[:LEADS_PER_REP])
    return leads


def _source():
    from crm.models import Brand
    from wordpress.models import SourceForm, WordPressSource

    source = WordPressSource.objects.filter(slug=SOURCE_SLUG).first() or WordPressSource.objects.create(
        name="Sitio (carga)", slug=SOURCE_SLUG, shape="collection", url="http://127.0.0.1:9/none"
    )
    for form_id, brand in WEBHOOK_FORMS.items():
        SourceForm.objects.get_or_create(
            source=source, form_id=form_id, defaults={"brand": Brand.objects.get(code=brand)}
        )
    return source


def _alert_rule():
    from alerts.models import AlertRule, Trigger

    AlertRule.objects.filter(name=RULE_NAME).delete()
    AlertRule.objects.create(
        name=RULE_NAME, trigger=Trigger.NEW_LEAD, notify_brand_managers=True, send_email=True
    )


def _urls(form_page, source):
    from crm.models import Lead

    viewset = Lead.snippet_viewset
    placeholder = 987654321

    def lead_url(name):
        return reverse(name, args=[placeholder]).replace(str(placeholder), "{id}")

    return {
        "login": reverse("wagtailadmin_login"),
        "home": reverse("wagtailadmin_home"),
        "listing": reverse(viewset.get_url_name("list")),
        "lead": lead_url(viewset.get_url_name("inspect")),
        "status": lead_url(viewset.get_url_name("change_status")),
        "note": lead_url(viewset.get_url_name("note")),
        "form": form_page.url,
        "webhook": reverse("wordpress:webhook", args=[source.slug]),
    }


def prepare(n_leads, fake_site, plan_path, *, stdout=None):
    """Set the load database up (see the module's docstring); writes and returns the plan."""
    from bench.forms import VALUES, _form_page
    from crm.models import PipelineStatus, Stage
    from dashboards.rollup import rebuild

    call_command("migrate", verbosity=0, interactive=False)
    reset_previous_runs()
    report = ensure_dataset(n_leads, stdout=stdout) if stdout else ensure_dataset(n_leads)
    reps, managers = _ensure_people()
    source = _source()
    source.url = fake_site.url_for(source.shape)
    source.username, source.app_password = fake_site.username, fake_site.password
    source.enabled = True
    source.interval_minutes = 1
    source.next_sync_at = None
    source.health = type(source).Health.UNKNOWN
    source.consecutive_failures = 0
    source.save()
    source.forms.update(cursor=0, rescanned_at=None, fully_rescanned_at=None)
    _alert_rule()
    form_page = _form_page()
    rebuild()
    statuses = [
        {"pk": status.pk, "key": status.key, "requires_follow_up": status.requires_follow_up}
        for status in PipelineStatus.objects.filter(stage__in=[Stage.NEW, Stage.OPEN]).order_by("order")
    ]
    plan = {
        "run_id": uuid.uuid4().hex[:8],
        "password": PASSWORD,
        "reps": reps,
        "managers": managers,
        "rep_leads": _rep_leads(reps),
        "statuses": statuses,
        "dashboards": {
            page: reverse(f"dashboards:{page}") for page in ("overview", "pipeline", "team", "campaigns")
        },
        "urls": _urls(form_page, source),
        "form_values": {key: value for key, value in VALUES.items() if key != "email"},
        "form_thanks": FORM_THANKS,
        "webhook_forms": list(WEBHOOK_FORMS),
        "webhook_secret": source.webhook_secret,
        "dataset": str(report),
    }
    Path(plan_path).write_text(json.dumps(plan, indent=1))
    return plan


def settled(timeout):
    """Wait until webhook bodies are read and alerts sent (or ``timeout`` seconds); True when settled."""
    from alerts.models import Notification
    from wordpress.models import WebhookDelivery

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending_bodies = WebhookDelivery.objects.filter(state=WebhookDelivery.State.PENDING).exists()
        pending_alerts = Notification.objects.filter(
            status__in=[Notification.Status.PENDING, Notification.Status.SENDING]
        ).exists()
        if not pending_bodies and not pending_alerts:
            return True
        time.sleep(2)
    return False


@dataclass
class Check:
    name: str
    sent: int
    found: int
    lost: int
    doubled: int
    note: str = ""

    @property
    def ok(self):
        return self.lost == 0 and self.doubled == 0


@dataclass
class Checks:
    rows: list[Check] = field(default_factory=list)

    @property
    def ok(self):
        return all(row.ok for row in self.rows)

    def table(self):
        lines = ["| check | acknowledged | found once | lost | doubled | note |", "|---|---|---|---|---|---|"]
        for row in self.rows:
            verdict = "" if row.ok else " ❌"
            lines.append(
                f"| {row.name}{verdict} | {row.sent} | {row.found} | {row.lost} | {row.doubled} | {row.note} |"
            )
        return "\n".join(lines)


def read_marks(path):
    marks = []
    if Path(path).exists():
        for line in Path(path).read_text().splitlines():
            if line.strip():
                marks.append(json.loads(line))
    return marks


def _count_by_marker(kind, marks, counts):
    """A check row: acknowledged markers found exactly once; lost = acknowledged, not found; doubled =
    found more than once (acknowledged or not). Unacknowledged ones found once are named in the note."""
    sent = [m for m in marks if m["kind"] == kind]
    acknowledged = {m["marker"] for m in sent if m["ok"]}
    unacknowledged = {m["marker"] for m in sent if not m["ok"]} - acknowledged
    found_once = sum(1 for marker in acknowledged if counts.get(marker, 0) == 1)
    lost = sum(1 for marker in acknowledged if counts.get(marker, 0) == 0)
    doubled = sum(1 for count in counts.values() if count > 1)
    stored_anyway = sum(1 for marker in unacknowledged if counts.get(marker, 0) == 1)
    note = f"{len(unacknowledged)} not acknowledged (an error reached the sender), {stored_anyway} of them stored"
    return acknowledged, found_once, lost, doubled, note


def _lead_check(kind, label, marks):
    from crm.models import Lead

    emails = Lead.objects.filter(email__endswith=LOAD_DOMAIN).values_list("email", flat=True)
    counts = Counter(email.removesuffix(LOAD_DOMAIN) for email in emails)
    prefix = f"-{kind[0]}"
    counts = Counter({marker: count for marker, count in counts.items() if prefix in marker})
    acknowledged, found_once, lost, doubled, note = _count_by_marker(kind, marks, counts)
    return Check(label, len(acknowledged), found_once, lost, doubled, note)


def _webhook_check(marks):
    """The webhooks' lead check; its note also says how many kept bodies no worker had read yet (a backlog,
    not a loss: they are read when a worker gets to them, and counted as lost here until then)."""
    from wordpress.models import WebhookDelivery

    row = _lead_check("webhook", "signed webhooks → one lead each", marks)
    waiting = WebhookDelivery.objects.filter(state=WebhookDelivery.State.PENDING).count()
    if waiting:
        row.note += f"; {waiting} bodies kept and still waiting for a worker when the checks ran"
    return row


def _event_check(kind, event_kind, label, marks, since):
    from crm.models import LeadEvent

    notes = LeadEvent.objects.filter(kind=event_kind, created_at__gte=since, note__startswith="Carga ")
    counts = Counter(
        note.removeprefix("Carga ").split(":")[0] for note in notes.values_list("note", flat=True)
    )
    acknowledged, found_once, lost, doubled, note = _count_by_marker(kind, marks, counts)
    return Check(label, len(acknowledged), found_once, lost, doubled, note)


def _sync_check(fake_site):
    from crm.models import Lead
    from wordpress.models import Submission, WordPressSource

    source = WordPressSource.objects.get(slug=SOURCE_SLUG)
    on_site = {
        (form_id, str(item["id"])) for form_id, items in fake_site.submissions.items() for item in items
    }
    pulled = Counter(
        Submission.objects.filter(source=source, origin=Submission.Origin.PULL).values_list(
            "form_id", "external_id"
        )
    )
    leads = Counter(
        Lead.objects.filter(external_source=source.external_key)
        .exclude(external_id__startswith="wh-")
        .values_list("external_form", "external_id")
    )
    found_once = sum(1 for key in on_site if pulled.get(key) == 1)
    lost = sum(1 for key in on_site if not pulled.get(key))
    doubled = sum(1 for count in pulled.values() if count > 1) + sum(
        1 for count in leads.values() if count > 1
    )
    return Check(
        "WordPress pull (scheduled syncs): submissions on the site → one submission each",
        len(on_site),
        found_once,
        lost,
        doubled,
        f"{sum(leads.values())} leads from the pull",
    )


def _created_events_check():
    from crm.models import Lead, LeadEvent

    new_leads = Lead.objects.exclude(external_source=BENCH_SOURCE)
    created = Counter(
        LeadEvent.objects.filter(kind=LeadEvent.Kind.CREATED, lead__in=new_leads).values_list(
            "lead_id", flat=True
        )
    )
    total = new_leads.count()
    lost = total - len(created)
    doubled = sum(1 for count in created.values() if count > 1)
    return Check("new leads → one `created` event each", total, len(created) - doubled, lost, doubled)


def _alerts_check():
    """Each new lead of the run that the rule covers (not junk, not past demand pulled late): one email per
    manager of its brand."""
    from alerts.models import AlertRule, Notification
    from crm.models import Lead, Role, Stage, User

    rule = AlertRule.objects.get(name=RULE_NAME)
    managers = Counter()
    for brand_id in User.objects.filter(role=Role.MANAGER, is_active=True).values_list("brands", flat=True):
        managers[brand_id] += 1
    arrived = Lead.objects.exclude(external_source=BENCH_SOURCE).exclude(status__stage=Stage.JUNK)
    leads, quiet = {}, 0
    for lead in arrived:
        if lead.is_backfill or lead.skip_alerts:
            quiet += 1
        else:
            leads[lead.pk] = lead.brand_id
    per_lead = Counter(
        Notification.objects.filter(rule=rule, lead_id__in=list(leads)).values_list("lead_id", flat=True)
    )
    once = Counter(Notification.objects.filter(rule=rule).values_list("cause", "recipient_id", "channel"))
    lost = sum(1 for pk, brand in leads.items() if per_lead.get(pk, 0) < managers[brand])
    doubled = sum(1 for pk, brand in leads.items() if per_lead.get(pk, 0) > managers[brand]) + sum(
        1 for count in once.values() if count > 1
    )
    statuses = Counter(Notification.objects.filter(rule=rule).values_list("status", flat=True))
    note = f"{quiet} past submissions pulled late (no alert by design); outbox: " + ", ".join(
        f"{status} {count}" for status, count in sorted(statuses.items())
    )
    return Check(
        "new-lead alerts → once per manager of the brand",
        len(leads),
        len(leads) - lost - doubled,
        lost,
        doubled,
        note,
    )


def _rollup_rows():
    from dashboards.rollup import COUNTERS, KEY, TABLE

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(KEY)}, {', '.join(COUNTERS)} FROM {TABLE}")  # noqa: S608
        width = len(KEY)
        return {tuple(row[:width]): tuple(row[width:]) for row in cursor.fetchall() if any(row[width:])}


class _Rollback(Exception):
    pass


def _rollup_check():
    """The rollup the receivers kept during the run against a rebuild from the events (rolled back)."""
    from dashboards.rollup import rebuild_person_days

    kept = _rollup_rows()
    recount = {}
    try:
        with transaction.atomic():
            rebuild_person_days()
            recount.update(_rollup_rows())
            raise _Rollback
    except _Rollback:
        pass
    missing = sum(1 for key, values in recount.items() if kept.get(key) != values)
    extra = sum(1 for key in kept if key not in recount)
    return Check(
        "dashboards rollup (per person and day) = recount from the events",
        len(recount),
        len(recount) - missing,
        missing,
        extra,
        "rows that differ from the recount: lost = short or missing, doubled = rows the recount has not",
    )


def check(marks_path, since, fake_site=None):
    """Every post-run check, in the order of the table."""
    from crm.models import LeadEvent

    marks = read_marks(marks_path)
    checks = Checks()
    checks.rows.append(_lead_check("form", "lead form POSTs → one lead each", marks))
    checks.rows.append(_webhook_check(marks))
    if fake_site is not None:
        checks.rows.append(_sync_check(fake_site))
    checks.rows.append(_created_events_check())
    checks.rows.append(
        _event_check("status", LeadEvent.Kind.STATUS_CHANGED, "status changes → one event each", marks, since)
    )
    checks.rows.append(_event_check("note", LeadEvent.Kind.NOTE, "notes → one event each", marks, since))
    checks.rows.append(_alerts_check())
    checks.rows.append(_rollup_check())
    return checks
