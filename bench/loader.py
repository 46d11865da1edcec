"""The volume dataset for the benchmarks: a million generated leads with their event history in PostgreSQL.

``ensure_dataset(n_leads)`` is idempotent: it does nothing when exactly ``n_leads`` bench leads are
there. Otherwise, in ONE transaction, it empties the lead tables, drops their secondary indexes and
foreign keys, streams leads, events and tags with ``COPY ... FREEZE`` (psycopg 3 ``cursor.copy()``),
rebuilds the indexes and constraints, then runs ``VACUUM ANALYZE``. A failure rolls everything back.
The rows are the ones ``crm.demo.generator`` describes and ``crm.demo.leads.Catalogue`` converts, so
they match what the service layer writes (Wagtail log entries are not written).
"""

import json
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
LEAD_TABLES = ("crm_lead", "crm_leadevent", "crm_taggedlead")
CHUNK = 50_000


@dataclass
class LoadReport:
    leads: int
    events: int
    loaded: bool
    seconds: float
    steps: dict

    def __str__(self):
        if not self.loaded:
            return f"dataset present: {self.leads:,} leads, {self.events:,} events"
        steps = ", ".join(f"{name} {seconds:.0f}s" for name, seconds in self.steps.items())
        return f"loaded {self.leads:,} leads and {self.events:,} events in {self.seconds:.0f}s ({steps})"


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
    """(bench leads, all leads, events) now in the database."""
    from crm.models import Lead, LeadEvent

    return (
        Lead.objects.filter(external_source=BENCH_SOURCE).count(),
        Lead.objects.count(),
        LeadEvent.objects.count(),
    )


def ensure_dataset(n_leads=1_000_000, *, stdout=sys.stdout, now=None):
    """Make sure exactly ``n_leads`` bench leads (and nothing else) are loaded; returns a ``LoadReport``."""
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    ensure_team()
    generator = bench_generator(now)
    from crm.demo.leads import ensure_campaigns

    ensure_campaigns(generator)
    bench_leads, all_leads, events = dataset_size()
    if bench_leads == n_leads == all_leads:
        return LoadReport(n_leads, events, False, time.perf_counter() - started, {})
    stdout.write(f"loading {n_leads:,} leads into {connection.settings_dict['NAME']} …\n")
    stdout.flush()
    steps = {}
    with transaction.atomic():
        loader = _Loader(generator, steps)
        events = loader.load(n_leads, stdout)
    mark = time.perf_counter()
    with connection.cursor() as cursor:
        for table in LEAD_TABLES:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    steps["vacuum analyze"] = time.perf_counter() - mark
    return LoadReport(n_leads, events, True, time.perf_counter() - started, steps)


class _LeadIds:
    """Lead ids are the generator index + 1."""

    def __getitem__(self, index):
        return index + 1


class _Loader:
    def __init__(self, generator, steps):
        from crm.demo.leads import Catalogue
        from crm.models import Lead, LeadEvent, TaggedLead

        self.generator = generator
        self.catalogue = Catalogue()
        self.steps = steps
        self.models = (Lead, LeadEvent, TaggedLead)

    def step(self, name, started):
        self.steps[name] = self.steps.get(name, 0.0) + time.perf_counter() - started

    def load(self, n_leads, stdout):
        from taggit.models import Tag

        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            cursor.execute("SET LOCAL synchronous_commit = off")
            mark = time.perf_counter()
            cursor.execute(f"TRUNCATE {', '.join(LEAD_TABLES)} RESTART IDENTITY CASCADE")
            saved = self._drop_secondary(cursor)
            self.step("truncate + drop indexes", mark)
            tag_ids = {}
            for name in ("duplicate", "job_seeker_or_vendor", "spam"):
                tag_ids[name] = Tag.objects.get_or_create(name=name)[0].pk
            mark = time.perf_counter()
            events = self._copy(cursor, n_leads, tag_ids, stdout)
            self.step("generate + COPY", mark)
            mark = time.perf_counter()
            for statement in saved:
                cursor.execute(statement)
            self.step("rebuild indexes + constraints", mark)
            for model in self.models:
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1)) FROM {table}"
                )
        return events

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

    def _columns(self, model):
        fields = model._meta.concrete_fields
        defaults = {}
        for field in fields:
            if field.null and not field.has_default():
                defaults[field.attname] = None
            elif field.has_default():
                defaults[field.attname] = field.get_default()
            else:
                defaults[field.attname] = ""
        return [field.attname for field in fields], [field.column for field in fields], defaults

    def _copy(self, cursor, n_leads, tag_ids, stdout):
        Lead, LeadEvent, TaggedLead = self.models
        lead_names, lead_columns, lead_defaults = self._columns(Lead)
        event_names, event_columns, event_defaults = self._columns(LeadEvent)
        json_fields = {"raw_payload", "extra", "data"}
        lead_ids = _LeadIds()
        events_written = 0
        event_id = 0
        tag_rows = []
        raw = cursor.cursor
        lead_sql = f"COPY crm_lead ({', '.join(lead_columns)}) FROM STDIN WITH (FREEZE)"
        event_sql = f"COPY crm_leadevent ({', '.join(event_columns)}) FROM STDIN WITH (FREEZE)"
        event_buffer = []
        catalogue, generator = self.catalogue, self.generator
        lead_template = [lead_defaults[name] for name in lead_names]
        lead_positions = {name: position for position, name in enumerate(lead_names)}
        event_template = [event_defaults[name] for name in event_names]
        event_positions = {name: position for position, name in enumerate(event_names)}
        data_position = event_positions["data"]
        for start in range(0, n_leads, CHUNK):
            stop = min(start + CHUNK, n_leads)
            with raw.copy(lead_sql) as lead_copy:
                for index in range(start, stop):
                    lead = generator.lead(index)
                    lead_id = index + 1
                    values = catalogue.lead_values(lead)
                    values["id"] = lead_id
                    values["updated_at"] = values["last_activity_at"]
                    if lead.duplicate_of is not None:
                        values["duplicate_of_id"] = lead.duplicate_of + 1
                    row = lead_template.copy()
                    for name, value in values.items():
                        row[lead_positions[name]] = value
                    for name in json_fields & lead_positions.keys():
                        row[lead_positions[name]] = json.dumps(row[lead_positions[name]], ensure_ascii=False)
                    lead_copy.write_row(row)
                    for event in lead.events:
                        event_id += 1
                        event_row = event_template.copy()
                        for name, value in catalogue.event_values(event, lead_id, lead_ids).items():
                            event_row[event_positions[name]] = value
                        event_row[event_positions["id"]] = event_id
                        event_row[data_position] = json.dumps(event_row[data_position], ensure_ascii=False)
                        event_buffer.append(event_row)
                    for name in lead.tags:
                        tag_rows.append((len(tag_rows) + 1, tag_ids[name], lead_id))
            with raw.copy(event_sql) as event_copy:
                for event_row in event_buffer:
                    event_copy.write_row(event_row)
            events_written += len(event_buffer)
            event_buffer.clear()
            stdout.write(f"  {stop:,} leads, {events_written:,} events\n")
            stdout.flush()
        with raw.copy(
            f"COPY {TaggedLead._meta.db_table} (id, tag_id, content_object_id) FROM STDIN WITH (FREEZE)"
        ) as tag_copy:
            for tag_row in tag_rows:
                tag_copy.write_row(tag_row)
        return events_written
