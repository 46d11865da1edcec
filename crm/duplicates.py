"""Duplicate detection: the same normalised email or E.164 phone within a brand.

A repeat is linked to the earliest original and tagged; nothing is merged silently
(``crm.services.merge_leads`` is the explicit merge).
"""

from datetime import UTC

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import system_notes
from .models import Lead

DUPLICATE_TAG = "duplicate"


def contact_keys(lead):
    """``(field, value)`` pairs by which ``lead`` repeats another: a usable email, the E.164 phone."""
    if lead.email and "@" in lead.email:
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


def find_originals(leads):
    """The original each new, unsaved lead repeats (or None), in creation order, one query per contact field.

    The original is the earliest other lead of the same brand sharing the email or the E.164 phone; when
    that one is itself a duplicate, its original (duplicates always point at the root).

    Returns, per lead, None, the primary key of its original among saved leads, or the earlier lead of
    ``leads`` that is its original (earlier in the list wins over later, as if created one by one).
    """
    wanted = {}
    for lead in leads:
        for field, value in contact_keys(lead):
            wanted.setdefault(field, {}).setdefault(lead.brand_id, set()).add(value)
    saved = {}
    if wanted:
        sql, params = _earliest_sql(wanted)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for field, brand_id, value, received_at, pk, root in cursor.fetchall():
                saved[(brand_id, field, value)] = ((_aware(received_at), 0, pk), root or pk)
    in_batch, result = {}, []
    for index, lead in enumerate(leads):
        best = None
        for field, value in contact_keys(lead):
            key = (lead.brand_id, field, value)
            for candidate in (saved.get(key), in_batch.get(key)):
                if candidate is not None and (best is None or candidate[0] < best[0]):
                    best = candidate
        root = best[1] if best else None
        result.append(root)
        entry = ((lead.received_at, 1, index), root if root is not None else lead)
        for field, value in contact_keys(lead):
            in_batch.setdefault((lead.brand_id, field, value), entry)
    return result


def _aware(value):
    """A datetime read by a raw query (SQLite gives naive UTC, or text) as an aware one."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return timezone.make_aware(value, UTC) if timezone.is_naive(value) else value


# Names come from the model; values are parameters.
_EARLIEST = (
    "SELECT '{field}', k.brand_id, k.value, l.received_at, l.id, l.duplicate_of_id "
    "FROM keys{number} AS k JOIN {table} AS l ON l.id = (SELECT x.id FROM {table} AS x "
    "WHERE x.brand_id = k.brand_id AND x.{column} = k.value ORDER BY x.received_at, x.id LIMIT 1)"
)
_EARLIEST_POSTGRES = (
    "SELECT '{field}', k.brand_id, k.value, l.received_at, l.id, l.duplicate_of_id "
    "FROM unnest(%s::bigint[], %s::text[]) AS k(brand_id, value) CROSS JOIN LATERAL ("
    "SELECT x.received_at, x.id, x.duplicate_of_id FROM {table} AS x "
    "WHERE x.brand_id = k.brand_id AND x.{column} = k.value ORDER BY x.received_at, x.id LIMIT 1) AS l"
)


def _earliest_sql(wanted):
    """One query: per (field, brand, value) wanted, the earliest saved lead with it (by its indexes).

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
