"""The volume dataset for the benchmarks: a million generated leads with their event history and
follow-ups in PostgreSQL.

``ensure_dataset(n_leads)`` is idempotent: it does nothing when exactly ``n_leads`` bench leads of this
``DATASET_VERSION`` are there. Otherwise, in ONE transaction, it empties the lead tables, drops their
secondary indexes and foreign keys, streams leads, events, tags and follow-ups with ``COPY ... FREEZE``
(psycopg 3 ``cursor.copy()``), rebuilds the indexes and constraints, marks the version and the
generation time, then runs ``VACUUM ANALYZE``. A failure rolls everything back. The rows are the
ones ``crm.demo.generator`` describes (follow-ups: ``bench.follow_up_history``) and
``crm.demo.leads.Catalogue`` converts, so they match what the service layer writes (Wagtail log
entries are not written).
"""

import json
import multiprocessing
import os
import resource
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.management import call_command
from django.db import connection, transaction

BENCH_SOURCE = "bench"
BENCH_SEED = 1_000_003
PASSWORD = "bench-password"  # noqa: S105 (local benchmark logins)
# username, role, first name, last name, brands
BENCH_TEAM = [
    ("bench-admin", "admin", "Ana", "Admin", ["intralog", "intrapal"]),
    ("gerente", "manager", "Marta", "Gerente", ["intralog", "intrapal"]),
    ("gerente.intralog", "manager", "Mario", "Logística", ["intralog"]),
    ("gerente.intrapal", "manager", "Paula", "Pallets", ["intrapal"]),
    ("marketing", "marketing", "Mara", "Marketing", ["intralog", "intrapal"]),
    *[(f"ventas{n:02d}", "employee", "Vendedor", f"INTRALOG {n}", ["intralog"]) for n in range(1, 13)],
    *[(f"pallets{n:02d}", "employee", "Vendedora", f"INTRAPAL {n}", ["intrapal"]) for n in range(1, 9)],
]
LEAD_TABLES = ("crm_lead", "crm_leadevent", "crm_taggedlead", "crm_followup")
DATASET_VERSION = 3
"""Bump when the generated rows change: a database loaded by another version is reloaded.
1: leads, events, tags. 2: follow-ups and ``Lead.next_action_at``. 3: an open follow-up whose day falls on the
weekend at the start of its window moves to Monday, not out of the window."""
VERSION_MARK = f"intralog bench dataset, version {DATASET_VERSION}, generated at "
"""Left on ``crm_lead`` as its comment, followed by the generator's ``now`` (times in the dataset, follow-up
due times among them, are relative to it)."""
CHUNK = 20_000
WORKERS = max(2, os.cpu_count() or 2)


@dataclass
class LoadReport:
    leads: int
    events: int
    loaded: bool
    seconds: float
    steps: dict
    cpu: dict = None
    follow_ups: int = 0
    open_follow_ups: int = 0
    generated_at: str = ""

    def __str__(self):
        rows = (
            f"{self.leads:,} leads, {self.events:,} events, {self.follow_ups:,} follow-ups "
            f"({self.open_follow_ups:,} open)"
        )
        if not self.loaded:
            return f"dataset present (generated at {self.generated_at}): {rows}"
        steps = ", ".join(f"{name} {seconds:.0f}s" for name, seconds in self.steps.items())
        cpu = ", ".join(f"{name} {seconds:.0f}s" for name, seconds in (self.cpu or {}).items())
        return f"loaded {rows} in {self.seconds:.0f}s wall ({steps}; {cpu})"


def ensure_team():
    """The people the dataset references: employees of each brand, managers, an admin, marketing."""
    from crm.models import Brand, User

    brands = {brand.code: brand for brand in Brand.objects.all()}
    users = {}
    for username, role, first_name, last_name, brand_codes in BENCH_TEAM:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(
                username=username,
                password=PASSWORD,
                role=role,
                first_name=first_name,
                last_name=last_name,
                email=f"{username}@bench.example",
            )
            user.brands.set([brands[code] for code in brand_codes])
        users[username] = user
    return users


def bench_generator(now=None):
    from crm.demo.leads import team_generator

    employees = {brand: [u[0] for u in BENCH_TEAM if u[1] == "employee" and brand in u[4]] for brand in ("intralog", "intrapal")}  # fmt: skip
    managers = {brand: [u[0] for u in BENCH_TEAM if u[1] == "manager" and brand in u[4]] for brand in ("intralog", "intrapal")}  # fmt: skip
    return team_generator(
        now=now or datetime.now(UTC),
        external_source=BENCH_SOURCE,
        seed=BENCH_SEED,
        employees=employees,
        managers=managers,
    )


def dataset_size():
    """(bench leads, all leads, events, follow-ups, open follow-ups) now in the database."""
    from crm.models import FollowUp, Lead, LeadEvent

    return (
        Lead.objects.filter(external_source=BENCH_SOURCE).count(),
        Lead.objects.count(),
        LeadEvent.objects.count(),
        FollowUp.objects.count(),
        FollowUp.objects.filter(state=FollowUp.State.OPEN).count(),
    )


def dataset_mark():
    """The mark the loader left on the lead table ("" when none: not loaded, or loaded before the mark
    existed)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description('crm_lead'::regclass, 'pg_class')")
        return cursor.fetchone()[0] or ""


def ensure_dataset(n_leads=1_000_000, *, stdout=sys.stdout, now=None):
    """Make sure exactly ``n_leads`` bench leads (and nothing else) are loaded; returns a ``LoadReport``."""
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    ensure_team()
    generator = bench_generator(now)
    from crm.demo.leads import ensure_campaigns

    ensure_campaigns(generator)
    bench_leads, all_leads, events, follow_ups, open_follow_ups = dataset_size()
    found = dataset_mark()
    if bench_leads == n_leads == all_leads and found.startswith(VERSION_MARK):
        seconds = time.perf_counter() - started
        generated_at = found.removeprefix(VERSION_MARK)
        return LoadReport(
            n_leads, events, False, seconds, {}, None, follow_ups, open_follow_ups, generated_at
        )
    stdout.write(f"loading {n_leads:,} leads into {connection.settings_dict['NAME']} …\n")
    stdout.flush()
    steps = {}
    events, follow_ups, open_follow_ups = _Loader(generator, steps).load(n_leads, stdout)
    mark = time.perf_counter()
    from dashboards.rollup import rebuild

    rebuild()
    steps["dashboards rollup"] = time.perf_counter() - mark
    mark = time.perf_counter()
    with connection.cursor() as cursor:
        for table in (*LEAD_TABLES, "dashboards_personday", "dashboards_personbrandday"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    steps["vacuum analyze"] = time.perf_counter() - mark
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = {
        "Python CPU (loader)": own.ru_utime + own.ru_stime,
        "Python CPU (workers)": workers.ru_utime + workers.ru_stime,
    }
    seconds = time.perf_counter() - started
    generated_at = dataset_mark().removeprefix(VERSION_MARK)
    return LoadReport(n_leads, events, True, seconds, steps, cpu, follow_ups, open_follow_ups, generated_at)


class _LeadIds:
    """Lead ids are the generator index + 1."""

    def __getitem__(self, index):
        return index + 1


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value):
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False).translate(_ESCAPES)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class _Renderer:
    """Turns a range of generator indexes into COPY text for leads, events, tags and follow-ups (runs in
    worker processes)."""

    def __init__(self, generator, catalogue, tag_ids, closing_notes):
        from bench.follow_up_history import FollowUpHistory
        from crm.models import FollowUp, Lead, LeadEvent

        self.generator, self.catalogue, self.tag_ids = generator, catalogue, tag_ids
        self.follow_up_history = FollowUpHistory(generator, catalogue.users, closing_notes)
        self.lead_names, self.lead_columns, self.lead_defaults = _columns(Lead, skip=())
        self.event_names, self.event_columns, self.event_defaults = _columns(LeadEvent, skip=("id",))
        self.follow_up_names, self.follow_up_columns, _defaults = _columns(FollowUp, skip=())

    def __call__(self, bounds):
        start, stop = bounds
        generator, catalogue, lead_ids = self.generator, self.catalogue, _LeadIds()
        lead_names, lead_defaults = self.lead_names, self.lead_defaults
        event_names, event_defaults = self.event_names, self.event_defaults
        follow_up_names = self.follow_up_names
        leads, events, tags, follow_ups = [], [], [], []
        open_follow_ups = 0
        for index in range(start, stop):
            lead = generator.lead(index)
            lead_id = index + 1
            rows, next_action_at = self.follow_up_history.add(lead, lead_id)
            for row in rows:
                follow_ups.append("\t".join([_text(row[name]) for name in follow_up_names]))
                open_follow_ups += row["state"] == "open"
            values = catalogue.lead_values(lead)
            values["id"] = lead_id
            values["updated_at"] = values["last_activity_at"]
            values["next_action_at"] = next_action_at
            if lead.duplicate_of is not None:
                values["duplicate_of_id"] = lead.duplicate_of + 1
            leads.append("\t".join([_text(values.get(name, lead_defaults[name])) for name in lead_names]))
            for event in lead.events:
                values = catalogue.event_values(event, lead_id, lead_ids)
                events.append(
                    "\t".join([_text(values.get(name, event_defaults[name])) for name in event_names])
                )
            for name in lead.tags:
                tags.append(f"{self.tag_ids[name]}\t{lead_id}")
        return (
            "\n".join(leads) + "\n",
            "\n".join(events) + "\n",
            "\n".join(tags) + "\n" if tags else "",
            "\n".join(follow_ups) + "\n" if follow_ups else "",
            len(events),
            len(follow_ups),
            open_follow_ups,
        )


def _closing_notes():
    """The note ``crm.services`` gives the follow-ups it cancels when a lead closes, per closed status."""
    from django.utils.translation import gettext

    from crm.models import PipelineStatus

    message = gettext("Cancelled: the lead was closed as %(status)s.")
    closed = PipelineStatus.objects.filter(stage__in=["won", "lost", "junk"])
    return {status.key: message % {"status": status.display_label} for status in closed}


def _columns(model, skip):
    """(attribute names, column names, default per attribute) of a model's concrete fields."""
    fields = [field for field in model._meta.concrete_fields if field.attname not in skip]
    defaults = {}
    for field in fields:
        if field.has_default():
            defaults[field.attname] = field.get_default()
        else:
            defaults[field.attname] = None if field.null else ""
    return [field.attname for field in fields], [field.column for field in fields], defaults


_RENDERER = None


def _default_signals():
    """Pool workers die on SIGTERM whatever handlers the forking process had (an RQ worker's ask twice)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _render(bounds):
    return _RENDERER(bounds)


class _Loader:
    def __init__(self, generator, steps):
        from crm.demo.leads import Catalogue

        self.generator = generator
        self.catalogue = Catalogue()
        self.steps = steps

    def step(self, name, started):
        self.steps[name] = self.steps.get(name, 0.0) + time.perf_counter() - started

    def load(self, n_leads, stdout):
        """Load in one transaction; rows are rendered by a pool of forked processes, one per core."""
        global _RENDERER
        from taggit.models import Tag

        tag_ids = {name: Tag.objects.get_or_create(name=name)[0].pk for name in ("duplicate", "job_seeker_or_vendor", "spam")}  # fmt: skip
        _RENDERER = _Renderer(self.generator, self.catalogue, tag_ids, _closing_notes())
        connection.close()
        chunks = [(start, min(start + CHUNK, n_leads)) for start in range(0, n_leads, CHUNK)]
        context = multiprocessing.get_context("fork")
        with (
            context.Pool(WORKERS, initializer=_default_signals) as pool,
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            cursor.execute("SET LOCAL synchronous_commit = off")
            mark = time.perf_counter()
            cursor.execute(f"TRUNCATE {', '.join(LEAD_TABLES)} RESTART IDENTITY CASCADE")
            saved = self._drop_secondary(cursor)
            self.step("truncate + drop indexes", mark)
            mark = time.perf_counter()
            counts = self._copy(cursor.cursor, pool.imap(_render, chunks), stdout)
            pool.close()
            pool.join()
            self.step("generate + COPY", mark)
            mark = time.perf_counter()
            for statement in saved:
                cursor.execute(statement)
            self.step("rebuild indexes + constraints", mark)
            for table in LEAD_TABLES:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1)) FROM {table}"
                )
            cursor.execute(
                f"COMMENT ON TABLE crm_lead IS '{VERSION_MARK}{self.generator.now:%Y-%m-%d %H:%M} UTC'"
            )
        return counts

    def _copy(self, raw, rendered, stdout):
        lead_sql = f"COPY crm_lead ({', '.join(_RENDERER.lead_columns)}) FROM STDIN WITH (FREEZE)"
        event_sql = f"COPY crm_leadevent ({', '.join(_RENDERER.event_columns)}) FROM STDIN WITH (FREEZE)"
        tag_sql = "COPY crm_taggedlead (tag_id, content_object_id) FROM STDIN WITH (FREEZE)"
        follow_up_sql = (
            f"COPY crm_followup ({', '.join(_RENDERER.follow_up_columns)}) FROM STDIN WITH (FREEZE)"
        )
        leads = events = follow_ups = open_follow_ups = 0
        for lead_text, event_text, tag_text, follow_up_text, *chunk_counts in rendered:
            for sql, text in (
                (lead_sql, lead_text),
                (event_sql, event_text),
                (tag_sql, tag_text),
                (follow_up_sql, follow_up_text),
            ):
                if text:
                    with raw.copy(sql) as copy:
                        copy.write(text)
            leads += lead_text.count("\n")
            events += chunk_counts[0]
            follow_ups += chunk_counts[1]
            open_follow_ups += chunk_counts[2]
            stdout.write(f"  {leads:,} leads, {events:,} events, {follow_ups:,} follow-ups\n")
            stdout.flush()
        return events, follow_ups, open_follow_ups

    def _drop_secondary(self, cursor):
        """Drop secondary indexes and constraints of the lead tables; returns the statements that restore them."""
        restore = []
        for table in LEAD_TABLES:
            cursor.execute(
                """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                   WHERE conrelid = %s::regclass AND contype IN ('f', 'u', 'c')""",
                [table],
            )
            constraints = cursor.fetchall()
            cursor.execute(
                """SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                   WHERE x.indrelid = %s::regclass AND NOT x.indisprimary
                   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)""",
                [table],
            )
            indexes = cursor.fetchall()
            for name, _definition in constraints:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _definition in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            restore += [definition for _name, definition in indexes]
            restore += [
                f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
                for name, definition in constraints
            ]
        return restore


MONEY_RATE_DAYS = 400
"""Daily exchange rates for this many days up to the dataset's generation day, but for one day in 37
(its ordinal a multiple of 37), whose figures the dashboards report as left out."""


def ensure_money(*, stdout=sys.stdout):
    """Money on the loaded bench leads, as a step of its own (a loaded database gets it without a reload).

    Idempotent: rates are inserted for the days that have none (``ON CONFLICT DO NOTHING``), and ONE
    ``UPDATE`` keyed on the lead id fills quote (and, for won leads, won) fields only where both are
    empty, so a second run changes nothing. Leads in the quoted status or later (open or won) and every
    other lost lead get a quote, but four in ten (``id % 10 >= 6``) stay without; one quote in five is in
    dollars; the quote date is the day the lead last changed status (its submission day at the
    earliest), minus up to 19 days; the expected close 15 to 164 days later (none for one in ten); a won
    lead's amount is 90-100 % of its quote, won on the day it reached its status. Returns
    ``(leads updated, rates added)``.
    """
    from django.conf import settings

    from crm.models import Stage

    started = time.perf_counter()
    generated = dataset_mark().removeprefix(VERSION_MARK)[:10]
    last_day = datetime.fromisoformat(generated).date() if generated else datetime.now(UTC).date()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO crm_exchangerate (day, ars_per_usd, origin, updated_at)
            SELECT d.day, round((850 + (%(days)s - d.n) * 0.9 + (d.n %% 7) * 1.3)::numeric, 4), 'csv', now()
            FROM (SELECT n, %(last)s::date - n AS day FROM generate_series(0, %(days)s - 1) AS n) AS d
            WHERE ((d.day - date '0001-01-01') + 1) %% 37 <> 0
            ON CONFLICT (day) DO NOTHING
            """,
            {"days": MONEY_RATE_DAYS, "last": last_day},
        )
        rates = cursor.rowcount
        cursor.execute(
            """
            UPDATE crm_lead AS l SET
                quote_amount = q.amount,
                quote_currency = q.currency,
                quoted_on = q.quoted_on,
                expected_close_on = CASE WHEN q.id %% 10 = 3 THEN NULL
                                         ELSE q.quoted_on + 15 + (q.id %% 150)::int END,
                won_amount = CASE WHEN q.won THEN round(q.amount * (90 + q.id %% 11) / 100, 2) END,
                won_currency = CASE WHEN q.won THEN q.currency ELSE '' END,
                won_on = CASE WHEN q.won THEN q.changed_on END
            FROM (
                SELECT
                    m.id,
                    s.stage = %(won)s AS won,
                    CASE WHEN m.id %% 5 = 0 THEN 300 + (m.id * 7919) %% 25000
                         ELSE 150000 + (m.id * 7919) %% 12000000 END::numeric AS amount,
                    CASE WHEN m.id %% 5 = 0 THEN 'USD' ELSE 'ARS' END AS currency,
                    (m.status_changed_at AT TIME ZONE %(zone)s)::date AS changed_on,
                    GREATEST(
                        (m.submitted_at AT TIME ZONE %(zone)s)::date,
                        (m.status_changed_at AT TIME ZONE %(zone)s)::date - (m.id %% 20)::int
                    ) AS quoted_on
                FROM crm_lead AS m JOIN crm_pipelinestatus AS s ON s.id = m.status_id
                WHERE m.external_source = %(source)s
                  AND m.quote_amount IS NULL AND m.won_amount IS NULL
                  AND m.id %% 10 < 6
                  AND (
                      (s.stage IN (%(open)s, %(won)s)
                       AND s."order" >= (SELECT "order" FROM crm_pipelinestatus WHERE key = 'quoted'))
                      OR (s.stage = %(lost)s AND m.id %% 2 = 0)
                  )
            ) AS q
            WHERE l.id = q.id
            """,
            {
                "won": Stage.WON,
                "open": Stage.OPEN,
                "lost": Stage.LOST,
                "zone": settings.TIME_ZONE,
                "source": BENCH_SOURCE,
            },
        )
        leads = cursor.rowcount
    if leads or rates:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) crm_lead")
            cursor.execute("ANALYZE crm_exchangerate")
    stdout.write(
        f"money: {leads:,} leads given a quote (won amounts on the won ones), {rates:,} exchange rates added "
        f"in {time.perf_counter() - started:.0f} s\n"
    )
    stdout.flush()
    return leads, rates
