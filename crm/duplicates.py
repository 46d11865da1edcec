"""Duplicate detection: the same normalised email or E.164 phone within a brand.

A repeat is linked to the earliest submission of its group and tagged; nothing is merged silently
(``crm.services.merge_leads`` is the explicit merge).
"""

import dataclasses
import re
from datetime import UTC

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import system_notes
from .models import Lead

DUPLICATE_TAG = "duplicate"


# An address with a name, an "@" and a domain with a dot: "@@", "x@gmail" or "no tengo" link nobody.
_USABLE_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def contact_keys(lead):
    """``(field, value)`` pairs by which ``lead`` repeats another: a usable email, the E.164 phone."""
    if lead.email and _USABLE_EMAIL.fullmatch(lead.email):
        yield "email", lead.email
    if lead.phone_e164:
        yield "phone_e164", lead.phone_e164


_LOCK_SQL = (
    "SELECT count(pg_advisory_xact_lock(hashtextextended(key, 0))) "
    "FROM (SELECT key FROM unnest(%s::text[]) WITH ORDINALITY AS keys(key, n) ORDER BY n) AS ordered"
)


def lock_contacts(leads):
    """On PostgreSQL, serialise creations sharing a brand+email or brand+phone until commit.

    Two copies of one submission arriving together would otherwise both see no original. One query for
    all ``leads``, every key taken in one sorted order (no deadlock).
    """
    if connection.vendor != "postgresql":
        return
    names = {"email": "email", "phone_e164": "phone"}
    keys = sorted(
        {
            f"crm.lead:{lead.brand_id}:{names[field]}:{value}"
            for lead in leads
            for field, value in contact_keys(lead)
        }
    )
    if keys:
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_SQL, [keys])


@dataclasses.dataclass
class Links:
    """How a batch of new leads joins the leads already saved.

    ``originals``: per new lead, None (it is an original), the primary key of its saved original, or the
    earlier lead of the batch that is its original. ``relinked``: ``{saved original's pk: new original}``
    for saved originals that a new lead submitted earlier displaces (the new original is a primary key
    or a lead of the batch); they and their duplicates become duplicates of it.
    """

    originals: list
    relinked: dict = dataclasses.field(default_factory=dict)


def find_originals(leads):  # noqa: C901 - known debt (ARCHITECTURE.md, Habits)
    """The originals of new, unsaved leads (see ``Links``), one query per contact field.

    Leads sharing a usable email or E.164 phone within a brand form one group, linked to its earliest
    submission (``submitted_at``, then the lead id: a saved lead before a new one, new ones in list
    order, which is the order of their ids), whatever order they arrive in. Every duplicate points at
    the original itself. A new lead joining several groups joins them into one.
    """
    wanted = {}
    for lead in leads:
        for field_name, value in contact_keys(lead):
            wanted.setdefault(field_name, {}).setdefault(lead.brand_id, set()).add(value)
    saved, order = {}, {}
    if wanted:
        sql, params = _earliest_sql(wanted)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for field_name, brand_id, value, submitted_at, root in cursor.fetchall():
                saved[(brand_id, field_name, value)] = ("saved", root)
                order[("saved", root)] = (_aware(submitted_at), 0, root)
    parent = {}

    def find(node):
        while parent.get(node, node) != node:
            parent[node] = parent.get(parent[node], parent[node])
            node = parent[node]
        return node

    def join(node, other):
        node, other = find(node), find(other)
        if node != other:
            first, later = sorted((node, other), key=order.__getitem__)
            parent[later] = first

    in_batch = {}
    for index, lead in enumerate(leads):
        node = ("new", index)
        order[node] = (lead.submitted_at, 1, index)
        for field_name, value in contact_keys(lead):
            key = (lead.brand_id, field_name, value)
            for other in (saved.get(key), in_batch.setdefault(key, node)):
                if other is not None:
                    join(node, other)

    def target(node):
        return node[1] if node[0] == "saved" else leads[node[1]]

    originals = []
    for index in range(len(leads)):
        root = find(("new", index))
        originals.append(None if root == ("new", index) else target(root))
    relinked = {}
    for node in set(saved.values()):
        root = find(node)
        if root != node:
            relinked[node[1]] = target(root)
    return Links(originals, relinked)


def _aware(value):
    """A datetime read by a raw query (SQLite gives naive UTC, or text) as an aware one."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return timezone.make_aware(value, UTC) if timezone.is_naive(value) else value


# Names come from the model; values are parameters.
_EARLIEST = (
    "SELECT '{field}', k.brand_id, k.value, COALESCE(r.submitted_at, l.submitted_at), COALESCE(r.id, l.id) "
    "FROM keys{number} AS k JOIN {table} AS l ON l.id = (SELECT x.id FROM {table} AS x "
    "WHERE x.brand_id = k.brand_id AND x.{column} = k.value ORDER BY x.submitted_at, x.id LIMIT 1) "
    "LEFT JOIN {table} AS r ON r.id = l.duplicate_of_id"
)
_EARLIEST_POSTGRES = (
    "SELECT '{field}', k.brand_id, k.value, COALESCE(r.submitted_at, l.submitted_at), COALESCE(r.id, l.id) "
    "FROM unnest(%s::bigint[], %s::text[]) AS k(brand_id, value) CROSS JOIN LATERAL ("
    "SELECT x.submitted_at, x.id, x.duplicate_of_id FROM {table} AS x "
    "WHERE x.brand_id = k.brand_id AND x.{column} = k.value ORDER BY x.submitted_at, x.id LIMIT 1) AS l "
    "LEFT JOIN {table} AS r ON r.id = l.duplicate_of_id"
)


def _earliest_sql(wanted):
    """One query: per (field, brand, value) wanted, the original of the earliest saved lead with it
    (its submission time and id), found by the (brand, field) indexes.

    A ``LIMIT 1`` per key keeps PostgreSQL on the (brand, field) b-tree indexes, where an ``IN`` list
    may be planned on a trigram index at a far higher cost. On PostgreSQL the keys go in as two arrays
    per field (a short statement whatever the batch size) and each is looked up once, laterally.
    """
    table = Lead._meta.db_table
    postgres = connection.vendor == "postgresql"
    keys, parts, params = [], [], []
    for number, (field, by_brand) in enumerate(sorted(wanted.items())):
        column = Lead._meta.get_field(field).column
        pairs = [(brand_id, value) for brand_id, values in by_brand.items() for value in sorted(values)]
        if postgres:
            params += [[brand_id for brand_id, _value in pairs], [value for _brand_id, value in pairs]]
            parts.append(_EARLIEST_POSTGRES.format(field=field, table=table, column=column))
            continue
        keys.append(f"keys{number}(brand_id, value) AS (VALUES {', '.join(['(%s, %s)'] * len(pairs))})")
        params += [item for pair in pairs for item in pair]
        parts.append(_EARLIEST.format(field=field, number=number, table=table, column=column))
    union = " UNION ALL ".join(parts)
    return (union if postgres else f"WITH {', '.join(keys)} {union}"), params


def duplicate_event(original_pk):
    """The fields of the ``classified`` event recording that a lead repeats lead ``original_pk``."""
    return {
        "to_value": DUPLICATE_TAG,
        "note": system_notes.encode(system_notes.REPEATS_LEAD, pk=original_pk),
        "data": {"duplicate_of": original_pk, "tags": [DUPLICATE_TAG]},
    }


def relink_event(original_pk, previous_pk=None):
    """The fields of the ``classified`` event of a saved lead relinked to lead ``original_pk``, submitted
    earlier than it (``previous_pk``: its original until now, None when it was an original itself)."""
    note = system_notes.encode(system_notes.REPEATS_EARLIER_SUBMISSION, pk=original_pk, previous=previous_pk)
    return {
        "from_value": f"#{previous_pk}" if previous_pk else "",
        "to_value": DUPLICATE_TAG,
        "note": note,
        "data": {"duplicate_of": original_pk, "previous_original": previous_pk, "tags": [DUPLICATE_TAG]},
    }


def original_of_contact(brand_id, phone_e164):
    """The id of the lead a message from ``phone_e164`` to ``brand_id`` belongs to, or None: of the brand's
    leads with that number, the earliest submission (the original of their group), or the lead it was
    merged into."""
    if not phone_e164:
        return None
    row = (
        Lead.objects.filter(brand_id=brand_id, phone_e164=phone_e164)
        .order_by("submitted_at", "pk")
        .values_list("pk", "merged_into_id")
        .first()
    )
    seen = set()
    while row is not None and row[1] and row[0] not in seen:
        seen.add(row[0])
        row = Lead.objects.filter(pk=row[1]).values_list("pk", "merged_into_id").first()
    return row[0] if row else None


def originals_of_contacts(contacts):
    """``original_of_contact`` for many ``(brand id, E.164 phone)`` pairs at once (a batch of messages):
    ``{pair: lead id}`` for the pairs some lead has. One query, and one more per step of a chain of merges
    when any lead found was merged into another."""
    contacts = {(brand_id, phone) for brand_id, phone in contacts if phone}
    if not contacts:
        return {}
    rows = (
        Lead.objects.filter(
            brand_id__in={brand_id for brand_id, _phone in contacts},
            phone_e164__in={phone for _brand_id, phone in contacts},
        )
        .order_by("submitted_at", "pk")
        .values_list("brand_id", "phone_e164", "pk", "merged_into_id")
    )
    found = {}
    for brand_id, phone, pk, merged_into_id in rows:
        if (brand_id, phone) in contacts:
            found.setdefault((brand_id, phone), (pk, merged_into_id))
    seen = {key: set() for key in found}
    while True:
        merged = {
            key: row for key, row in found.items() if row is not None and row[1] and row[0] not in seen[key]
        }
        if not merged:
            break
        targets = dict(
            Lead.objects.filter(pk__in={row[1] for row in merged.values()}).values_list(
                "pk", "merged_into_id"
            )
        )
        for key, (pk, merged_into_id) in merged.items():
            seen[key].add(pk)
            found[key] = (merged_into_id, targets[merged_into_id]) if merged_into_id in targets else None
    return {key: row[0] for key, row in found.items() if row is not None}
