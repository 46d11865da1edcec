"""The ``PersonDay`` rollup the team figures read, kept from the lead events and rebuilt in SQL.

A person's event on a lead adds to the row of its local day, the person and the lead's brand, service,
source, campaign and status; milestones (first contact, first quote, first win) are found among the
lead's events in the order they happened. When an event changes the lead's status or its other
dimensions, the lead's earlier contributions move to the new row. ``crm.services`` records an event
before it saves the lead, so the saved lead still carries the old dimensions at that moment; new leads
are saved with their final ones before their first event.

Its sums per day, person and brand (``PersonBrandDay``, what the team page reads when no filter
names a finer dimension) are kept in the same statement on PostgreSQL, and rebuilt from it.

Events without a person (creation, classification, automatic assignment) add nothing, so the
receivers run no query for them: lead creation costs what it did.
"""

from django.conf import settings
from django.db import connection, transaction

from crm.models import LeadEvent

TABLE = "dashboards_personday"
KEY = ("day", "person_id", "brand_id", "service_id", "source_id", "campaign_id", "status_id")
BRAND_TABLE = "dashboards_personbrandday"
BRAND_KEY = ("day", "person_id", "brand_id")
COUNTERS = ("activity", "contacted", "first_contacts", "quoted", "won")
MOVING_KINDS = (LeadEvent.Kind.STATUS_CHANGED, LeadEvent.Kind.EDITED)
SAVED_DIMENSIONS = (
    "l.brand_id",
    "COALESCE(l.service_id, 0)",
    "COALESCE(l.source_id, 0)",
    "COALESCE(l.campaign_id, 0)",
    "l.status_id",
)
# contact attempt = 1, quoted = 2, won = 3
MILESTONE = """CASE WHEN e.kind = 'contact_attempt' THEN 1
    WHEN e.to_value = 'quoted' THEN 2 ELSE 3 END"""
IS_MILESTONE = """(e.kind = 'contact_attempt' OR (e.kind = 'status_changed' AND (e.to_value = 'quoted'
    OR e.to_value IN (SELECT s.key FROM crm_pipelinestatus s WHERE s.stage = 'won'))))"""


def _day(column):
    return connection.ops.datetime_cast_date_sql(column, [], settings.TIME_ZONE)


def _contributions(lead_condition, emit_condition, params):
    """SQL for (day, person_id, lead_id, counters...) of the person events of the leads matching
    ``lead_condition`` (on ``e``) that match ``emit_condition`` (on ``e``); milestones are ranked over
    all the leads' events. ``params`` fill both conditions, in that order, for each of the two parts."""
    day_sql, day_params = _day("e.created_at")
    activity = f"""SELECT {day_sql} AS day, e.actor_id AS person_id, e.lead_id AS lead_id,
            1 AS activity, 0 AS contacted, 0 AS first_contacts, 0 AS quoted, 0 AS won
        FROM crm_leadevent e WHERE e.actor_id IS NOT NULL AND {lead_condition} AND {emit_condition}"""  # noqa: S608 - constants and placeholders
    ranked = f"""SELECT e.id, e.actor_id, e.lead_id, {day_sql} AS day, {MILESTONE} AS milestone,
            ROW_NUMBER() OVER (PARTITION BY e.lead_id, {MILESTONE} ORDER BY e.created_at, e.id) AS overall,
            ROW_NUMBER() OVER (
                PARTITION BY e.lead_id, {MILESTONE}, e.actor_id ORDER BY e.created_at, e.id
            ) AS mine
        FROM crm_leadevent e WHERE {lead_condition} AND {IS_MILESTONE}"""  # noqa: S608
    emit = emit_condition.replace("e.", "r.")
    milestones = f"""SELECT r.day, r.actor_id, r.lead_id, 0,
            CASE WHEN r.milestone = 1 AND r.mine = 1 THEN 1 ELSE 0 END,
            CASE WHEN r.milestone = 1 AND r.overall = 1 THEN 1 ELSE 0 END,
            CASE WHEN r.milestone = 2 AND r.overall = 1 THEN 1 ELSE 0 END,
            CASE WHEN r.milestone = 3 AND r.overall = 1 THEN 1 ELSE 0 END
        FROM ({ranked}) r
        WHERE r.actor_id IS NOT NULL AND (r.overall = 1 OR (r.milestone = 1 AND r.mine = 1)) AND {emit}"""  # noqa: S608
    sql = f"{activity} UNION ALL {milestones}"
    return sql, [*day_params, *params, *day_params, *params]


def _signed(rows_sql, rows_params, dimensions, dimension_params, sign, join_lead):
    """Contributions with their dimensions (expressions, or the saved lead's with ``join_lead``)."""
    counters = ", ".join(f"{sign} * c.{name} AS {name}" for name in COUNTERS)
    columns = ", ".join(f"{sql} AS {name}" for sql, name in zip(dimensions, KEY[2:], strict=True))
    join = "JOIN crm_lead l ON l.id = c.lead_id" if join_lead else ""
    sql = f"SELECT c.day AS day, c.person_id AS person_id, {columns}, {counters} FROM ({rows_sql}) c {join}"  # noqa: S608
    return sql, [*dimension_params, *rows_params]


def _add(table, key, rows, skip_zero=False):
    """SQL adding the summed ``rows`` (a table expression named ``x``) to ``table`` by ``key``, in key
    order (so concurrent transactions lock shared rows in the same order)."""
    columns = ", ".join(key)
    sums = ", ".join(f"SUM({name})" for name in COUNTERS)
    updates = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in COUNTERS)
    having = f" HAVING {' OR '.join(f'SUM({name}) <> 0' for name in COUNTERS)}" if skip_zero else ""
    return (
        f"INSERT INTO {table} ({columns}, {', '.join(COUNTERS)}) "  # noqa: S608
        f"SELECT {columns}, {sums} FROM {rows} WHERE 1 = 1 GROUP BY {columns}{having} ORDER BY {columns} "
        f"ON CONFLICT ({columns}) DO UPDATE SET {updates}"
    )


def _upsert(parts):
    """Add the signed contribution rows of ``parts`` to the rollup and to its sums per day, person and
    brand: one statement on PostgreSQL, two elsewhere. A move between two statuses (or services,
    sources, campaigns) of one brand leaves the brand's sums as they are, so it writes none."""
    union = " UNION ALL ".join(sql for sql, _params in parts)
    params = [value for _sql, part_params in parts for value in part_params]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH x AS ({union}), fine AS ({_add(TABLE, KEY, 'x')}) "
                f"{_add(BRAND_TABLE, BRAND_KEY, 'x', skip_zero=True)}",
                params,
            )
            return
        cursor.execute(_add(TABLE, KEY, f"({union}) x"), params)
        cursor.execute(_add(BRAND_TABLE, BRAND_KEY, f"({union}) x", skip_zero=True), params)


def _new_dimensions(event):
    """The lead's dimensions once ``event`` is saved: its fields, and the status the event moves it to."""
    lead = event.lead
    values = [lead.brand_id, lead.service_id or 0, lead.source_id or 0, lead.campaign_id or 0]
    if event.kind == LeadEvent.Kind.STATUS_CHANGED:
        return ["%s", "%s", "%s", "%s", "(SELECT s.id FROM crm_pipelinestatus s WHERE s.key = %s)"], [
            *values,
            event.to_value,
        ]
    return ["%s"] * 5, [*values, lead.status_id]


def record(event):
    """Add one event to the rollup (a receiver of ``lead_event_recorded``); one query (two on SQLite),
    none without a person."""
    if event.actor_id is None:
        return
    if event.created_at == event.lead.received_at:
        # An event of the lead's creation: its saved row already holds what the whole creation
        # (classification, an automatic assignment) leaves, as in the batch path.
        record_batch([event])
        return
    dimensions, values = _new_dimensions(event)
    own_sql, own_params = _contributions("e.lead_id = %s", "e.id = %s", [event.lead_id, event.pk])
    parts = [_signed(own_sql, own_params, dimensions, values, 1, join_lead=False)]
    if event.kind in MOVING_KINDS:
        earlier_sql, earlier_params = _contributions(
            "e.lead_id = %s", "e.id <> %s", [event.lead_id, event.pk]
        )
        parts.append(_signed(earlier_sql, earlier_params, SAVED_DIMENSIONS, [], -1, join_lead=True))
        parts.append(_signed(earlier_sql, earlier_params, dimensions, values, 1, join_lead=False))
    _upsert(parts)


def record_batch(events):
    """Add a batch of events (``lead_events_recorded``) in one query (two on SQLite), none when no
    person made them.

    The batch path creates leads, so their saved rows already carry the dimensions of their events.
    """
    mine = [event for event in events if event.actor_id is not None]
    if not mine:
        return
    leads = sorted({event.lead_id for event in mine})
    ids = sorted(event.pk for event in mine)
    lead_marks = ", ".join(["%s"] * len(leads))
    id_marks = ", ".join(["%s"] * len(ids))
    sql, params = _contributions(f"e.lead_id IN ({lead_marks})", f"e.id IN ({id_marks})", [*leads, *ids])
    _upsert([_signed(sql, params, SAVED_DIMENSIONS, [], 1, join_lead=True)])


def on_event(sender, event, **kwargs):
    record(event)


def on_events(sender, events, **kwargs):
    record_batch(events)


@transaction.atomic
def rebuild():
    """Recompute the whole rollup from the events and the leads' current dimensions, then its sums per
    day, person and brand (a few SQL statements)."""
    rebuild_person_days()
    brand_key = ", ".join(BRAND_KEY)
    sums = ", ".join(f"SUM({name})" for name in COUNTERS)
    with connection.cursor() as cursor:
        empty = "TRUNCATE" if connection.vendor == "postgresql" else "DELETE FROM"
        cursor.execute(f"{empty} {BRAND_TABLE}")
        cursor.execute(
            f"INSERT INTO {BRAND_TABLE} ({brand_key}, {', '.join(COUNTERS)}) "  # noqa: S608
            f"SELECT {brand_key}, {sums} FROM {TABLE} GROUP BY {brand_key}"
        )
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {BRAND_TABLE}")


@transaction.atomic
def rebuild_person_days():
    """``rebuild`` of ``PersonDay`` alone (what migration 0003, older than the sums per brand, fills)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {TABLE}")
            cursor.execute("SET LOCAL work_mem = '256MB'")
        else:
            cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608
        rows_sql, rows_params = _contributions("1 = 1", "1 = 1", [])
        key = ", ".join(KEY)
        sums = ", ".join(f"SUM({name})" for name in COUNTERS)
        dimensions = ", ".join(SAVED_DIMENSIONS)
        cursor.execute(
            f"INSERT INTO {TABLE} ({key}, {', '.join(COUNTERS)}) "  # noqa: S608
            f"SELECT c.day, c.person_id, {dimensions}, {sums} FROM ({rows_sql}) c "
            f"JOIN crm_lead l ON l.id = c.lead_id GROUP BY c.day, c.person_id, {dimensions}",
            rows_params,
        )
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {TABLE}")
