"""Searching leads as people type them: accents, case, punctuation and word order do not matter.

Each lead keeps its searched fields (``search=`` in ``crm.lead_fields``) folded in ``Lead.search_text``
(``crm.normalise.fold``: lower case, no accents, punctuation as spaces), with the digits of its phone
numbers run together. ``lead_search_text`` works it out; new leads get it from ``crm.intake``, the verbs
of ``crm.services`` write it with any searched field they change (``with_search_text``), and
``refill_search_text`` rewrites every lead's (a data migration runs it when what is searched changes).

``search_leads`` finds the leads whose text holds every word of the query, in any order (a word of one
or two letters at the start of one of theirs); a query that is a phone number (six digits or more and
phone punctuation) finds the leads whose numbers hold its digits, however either was written. On
PostgreSQL a trigram index on the column answers both (``crm/migrations/0062_lead_search_text.py``).
"""

import re
from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import LessThan

from crm import lead_fields
from crm.models import Lead
from crm.normalise import fold, phone_to_e164

SEARCH_DIGITS = 6
"""The fewest digits a query or a value needs to be read as a phone number."""
SEPARATOR = "|"
"""Between the fields the lead chooser searches too and those only the listing searches; folded text
never holds it."""
PHONE_LIKE = re.compile(r"[\d\s+\-().\/]+")
_NOT_DIGIT = re.compile(r"\D")
_JOINERS = re.compile(r"['’`´]|(?<=\b\w)\.(?=\w\b)")
WORD_START_BELOW = 3
"""A query word shorter than this finds the words it starts ("li" finds "Lima", not "Emilia"): a trigram
index has nothing to look up for two letters anywhere, but has for two letters that start a word."""
REFILL_BATCH = 10_000
LISTING_ONLY_CHARS = 2000
"""Of a field only the listing searches (the message), the first this many characters are searched:
where people write what they want, and a pasted 20 kB message costs the trigram index 2 kB, not 20."""


def _digits(value: str) -> str:
    """The digits of a phone number as written, without leading zeros ("" when ``value`` is not one)."""
    if not PHONE_LIKE.fullmatch(value):
        return ""
    digits = _NOT_DIGIT.sub("", value)
    return digits.lstrip("0") if len(digits) >= SEARCH_DIGITS else ""


def _words(text: str) -> str:
    """``text`` folded, with the words it makes once apostrophes and the dots of initials are taken out
    ("O'Brien" is found as "o brien" and "obrien", "S.R.L." as "s r l" and "srl")."""
    words = fold(text)
    if not _JOINERS.search(text):
        return words
    present = set(words.split())
    joined = [word for word in fold(_JOINERS.sub("", text)).split() if word not in present]
    return " ".join([words, *joined])


def lead_search_text(lead: Lead | Mapping[str, Any]) -> str:
    """The folded text searches look in, from a lead or its field values (a missing field is blank).

    The chooser's fields first, with the digits of their phone numbers, then ``SEPARATOR`` and the fields
    only the listing searches. Folding the fields joined by spaces folds each of them.
    """
    get = lead.get if isinstance(lead, Mapping) else partial(getattr, lead)
    chooser = lead_fields.search_names(chooser=True)
    values = [str(value) for name in chooser if (value := get(name, ""))]
    head = _words(" ".join(values))
    numbers: list[str] = []
    for value in (*(get(name, "") for name in lead_fields.digit_search_names()), *values):
        digits = _digits(str(value or ""))
        if digits and digits not in head and not any(digits in other for other in numbers):
            numbers.append(digits)
    listing_only = (get(name, "") for name in lead_fields.search_names() if name not in chooser)
    tail = fold(" ".join(str(value)[:LISTING_ONLY_CHARS] for value in listing_only if value))
    return " ".join(filter(None, (head, *numbers, SEPARATOR, tail)))


def searched_names() -> frozenset[str]:
    """The lead fields ``search_text`` is made of."""
    return frozenset([*lead_fields.search_names(), *lead_fields.digit_search_names()])


def with_search_text(lead: Lead, fields: Iterable[str]) -> list[str]:
    """``fields`` about to be saved, and ``search_text`` (worked out again) when a searched one is among
    them."""
    fields = list(fields)
    if searched_names().intersection(fields):
        lead.search_text = lead_search_text(lead)
        fields.append("search_text")
    return fields


def query_terms(text: str) -> tuple[list[str], bool]:
    """``(terms, any)``: what ``text`` asks the search text to hold: every term, or (``any``, a phone
    number) one of them."""
    text = (text or "").strip()
    digits = _digits(text)
    if digits:
        terms = {digits}
        e164 = phone_to_e164(text)
        if e164:
            terms.add(e164.lstrip("+"))
        return [term for term in sorted(terms) if not any(other in term for other in terms - {term})], True
    words = sorted(set(fold(text).split()), key=lambda word: (-len(word), word))
    kept: list[str] = []
    for word in words:
        if len(word) < WORD_START_BELOW or not any(word in longer for longer in kept):
            kept.append(word)
    return kept, False


def search_leads(queryset: QuerySet[Lead], text: str, *, chooser: bool = False) -> QuerySet[Lead]:
    """The leads of ``queryset`` whose searched fields (``chooser``: the chooser's) hold every word of
    ``text``, in any order (a short word at the start of one of theirs), or whose phone numbers hold its
    digits; none when it has no word."""
    terms, any_term = query_terms(text)
    if not terms:
        return queryset.none()
    found = Q()
    for term in terms:
        if any_term or len(term) >= WORD_START_BELOW:
            match = _holds(term, chooser)
        else:
            match = Q(search_text__startswith=term) | _holds(f" {term}", chooser)
        found = found | match if any_term else found & match
    return queryset.filter(found)


def _holds(text: str, chooser: bool) -> Q:
    """The search text holds ``text`` (``chooser``: before ``SEPARATOR``)."""
    holds = Q(search_text__contains=text)
    if chooser:
        before = LessThan(StrIndex("search_text", Value(text)), StrIndex("search_text", Value(SEPARATOR)))
        holds &= Q(before)
    return holds


def refill_search_text(model: type[models.Model] = Lead, using: str = DEFAULT_DB_ALIAS) -> int:
    """Write the search text of every lead whose text is not what ``lead_search_text`` makes of it, in
    batches of ``REFILL_BATCH``; returns how many changed. ``model``: the lead model, or a migration's
    historical one. On PostgreSQL the texts are copied into a temporary table and written by one
    ``UPDATE``."""
    names = [name for name in sorted(searched_names()) if _has_field(model, name)]
    rows = model._default_manager.db_manager(using).order_by("pk").values("pk", "search_text", *names)
    connection = connections[using]
    table = connection.ops.quote_name(model._meta.db_table)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            changed = 0
            for batch in _changed_texts(rows):
                cursor.executemany(
                    f"UPDATE {table} SET search_text = %s WHERE id = %s",  # noqa: S608
                    [(text, pk) for pk, text in batch],
                )
                changed += len(batch)
            return changed
        cursor.execute("CREATE TEMPORARY TABLE crm_search_refill (id bigint, text text)")
        for batch in _changed_texts(rows):
            with cursor.cursor.copy("COPY crm_search_refill (id, text) FROM STDIN") as copy:
                for row in batch:
                    copy.write_row(row)
        cursor.execute(
            f"UPDATE {table} AS lead SET search_text = refill.text "  # noqa: S608
            "FROM crm_search_refill AS refill WHERE lead.id = refill.id"
        )
        changed = cursor.rowcount
        cursor.execute("DROP TABLE crm_search_refill")
    return changed


def _has_field(model: type[models.Model], name: str) -> bool:
    return any(field.name == name for field in model._meta.concrete_fields)


def _changed_texts(rows: QuerySet[Any, dict[str, Any]]) -> Iterator[list[tuple[int, str]]]:
    """``(pk, text)`` of the rows whose search text changes, a batch at a time, walking the keys."""
    last = 0
    while True:
        page = list(rows.filter(pk__gt=last)[:REFILL_BATCH])
        if not page:
            return
        last = page[-1]["pk"]
        texts = ((row["pk"], row["search_text"], lead_search_text(row)) for row in page)
        yield [(pk, text) for pk, stored, text in texts if text != stored]
