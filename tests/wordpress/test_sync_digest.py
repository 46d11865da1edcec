"""Re-reads compare payload digests: unchanged records cost nothing, changed ones are still handled."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Lead, LeadEvent
from tests.fake_wordpress import *  # noqa: F403 - fixtures
from wordpress import store
from wordpress.models import Submission
from wordpress.sync import sync_source

SHAPES = ["legacy", "gravity", "collection"]


def _count_mapping(monkeypatch):
    calls = []
    map_record = store.map_record

    def counting(item, context):
        calls.append(item["external_id"])
        return map_record(item, context)

    monkeypatch.setattr(store, "map_record", counting)
    return calls


def _writes(queries):
    verbs = ("INSERT", "UPDATE", "DELETE", "COPY")
    return [
        query["sql"]
        for query in queries
        if query["sql"].lstrip().upper().startswith(verbs)
        and any(table in query["sql"] for table in ("wordpress_submission", "crm_"))
    ]


@pytest.mark.parametrize("shape", SHAPES)
def test_unchanged_full_rescan_maps_nothing_and_writes_nothing(
    fake_wp, make_source, fast_retries, shape, monkeypatch
):
    source = make_source(fake_wp, shape)
    sync_source(source)
    assert Submission.objects.filter(source=source, digest="").count() == 0
    events = LeadEvent.objects.count()
    stored = dict(Submission.objects.filter(source=source).values_list("pk", "updated_at"))
    mapped = _count_mapping(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        run = sync_source(source, full=True)
    assert run.fetched == run.duplicates == 17
    assert run.created == run.updated == run.quarantined == 0
    assert mapped == []
    assert _writes(queries.captured_queries) == []
    assert LeadEvent.objects.count() == events
    assert dict(Submission.objects.filter(source=source).values_list("pk", "updated_at")) == stored


@pytest.mark.parametrize("status", ["spam", "trash"])
def test_a_record_changed_upstream_is_tagged_on_a_full_rescan(fake_wp, make_source, fast_retries, status):
    source = make_source(fake_wp, "collection")
    sync_source(source)
    changed = sorted(map(int, fake_wp.ids("7")))[1]
    before = Submission.objects.get(source=source, external_id=str(changed))
    fake_wp.set_status(changed, status)
    run = sync_source(source, full=True)
    assert run.updated == 1 and run.created == 0 and run.duplicates == 16
    lead = Lead.objects.get(external_source=source.external_key, external_id=str(changed))
    assert f"wp-{status}" in lead.tags.names()
    after = Submission.objects.get(pk=before.pk)
    assert after.upstream_status == status and after.payload["status"] == status
    assert after.digest != before.digest and after.lead_id == lead.pk
    assert Lead.objects.filter(external_source=source.external_key).count() == 17
    again = sync_source(source, full=True)
    assert again.updated == again.created == 0 and again.duplicates == 17


@pytest.mark.parametrize("shape", ["gravity", "collection"])
def test_a_record_changed_upstream_is_tagged_by_the_rescan_window(fake_wp, make_source, fast_retries, shape):
    source = make_source(fake_wp, shape)
    sync_source(source)
    changed = sorted(map(int, fake_wp.ids("3")))[3]
    fake_wp.set_status(changed, "spam")
    run = sync_source(source)
    assert run.updated == 1 and run.created == 0
    lead = Lead.objects.get(external_source=source.external_key, external_id=str(changed))
    assert "wp-spam" in lead.tags.names()
    assert Submission.objects.get(source=source, external_id=str(changed)).upstream_status == "spam"


def test_a_changed_payload_is_stored_again_without_a_second_lead(
    fake_wp, make_source, fast_retries, monkeypatch
):
    source = make_source(fake_wp, "collection")
    sync_source(source)
    changed = sorted(map(int, fake_wp.ids("3")))[0]
    fake_wp.corrupt(changed, form_title="Formulario renombrado")
    mapped = _count_mapping(monkeypatch)
    run = sync_source(source, full=True)
    assert run.created == run.updated == 0 and run.duplicates == 17
    assert mapped == []
    assert Submission.objects.get(source=source, external_id=str(changed)).payload["form_title"] == (
        "Formulario renombrado"
    )
    assert Lead.objects.filter(external_source=source.external_key).count() == 17


def test_a_quarantined_record_is_tried_again_on_a_full_rescan(fake_wp, make_source, fast_retries):
    source = make_source(fake_wp, "collection")
    broken = sorted(map(int, fake_wp.ids("3")))[2]
    fake_wp.corrupt(broken, date_gmt="ayer", date="ayer")
    assert sync_source(source).quarantined == 1
    fake_wp.overrides.clear()
    run = sync_source(source, full=True)
    assert run.created == 1 and run.quarantined == 0
    held = Submission.objects.get(source=source, external_id=str(broken))
    assert held.state == Submission.State.STORED and held.lead_id is not None


def test_characters_the_database_rejects_are_removed_and_the_page_stored(fake_wp, make_source, fast_retries):
    """On PostgreSQL a NUL in JSON (or a lone surrogate) fails the insert; the record is cleaned instead."""
    source = make_source(fake_wp, "collection")
    ids = sorted(map(int, fake_wp.ids("3")))
    nul, surrogate = ids[1], ids[6]
    item = next(entry for entry in fake_wp.submissions["3"] if entry["id"] == nul)
    fields = {**item["fields"], "Mensaje": "Hola\u0000 quiero info", "Campo\u0000raro": "x\u0000y"}
    fake_wp.corrupt(nul, fields=fields, form_title="Form\u0000ulario")
    fake_wp.corrupt(surrogate, form_title="Formulario \ud800")
    run = sync_source(source)
    assert run.created == 17 and run.quarantined == 0
    lead = Lead.objects.get(external_source=source.external_key, external_id=str(nul))
    assert "\x00" not in lead.message and "quiero info" in lead.message
    assert lead.raw_payload["form_title"] == "Formulario"
    assert lead.raw_payload["fields"]["Camporaro"] == "xy"
    assert "unstorable_characters_removed" in lead.extra["_flags"]
    held = Submission.objects.get(source=source, external_id=str(nul))
    assert held.state == Submission.State.STORED and held.payload["form_title"] == "Formulario"
    odd = Submission.objects.get(source=source, external_id=str(surrogate))
    assert odd.state == Submission.State.STORED and odd.payload["form_title"] == "Formulario ?"
    other = Lead.objects.get(external_source=source.external_key, external_id=str(ids[2]))
    assert "_flags" not in other.extra or "unstorable_characters_removed" not in other.extra["_flags"]
    again = sync_source(source, full=True)
    assert again.created == again.updated == again.quarantined == 0 and again.duplicates == 17


@pytest.mark.parametrize(
    ("status", "raw"),
    [
        ("active", {"b": "Añá 😀 \u2028", "a": [1, 2.5, None, True], "c": {"z": "nested"}}),
        (None, {"x": "y"}),
        ("spam", {"mensaje": 'comillas " y barras \\ y\ttab'}),
    ],
)
def test_the_digested_text_of_a_raw_object_is_the_text_stored_for_it(status, raw):
    """The digest's text holds the raw payload's JSON once; the payload is stored from it, not encoded again."""
    import json

    from core.bulk import EncodedJSON

    item = {"external_id": "1", "status": status, "raw": raw}
    plain = {"external_id": "1", "status": status, "raw": json.loads(json.dumps(raw))}
    del plain["raw"]["b" if "b" in raw else next(iter(raw))]  # a different payload digests differently
    assert store.fingerprint(item) != store.fingerprint(plain)
    assert json.loads(item["raw_text"]) == raw
    wrapped = EncodedJSON(item["raw"], item["raw_text"])
    assert wrapped == raw and wrapped.text == item["raw_text"]


@pytest.mark.parametrize(
    "raw",
    [{"bad": "nul \x00 here"}, {"bad": "lone \ud800 surrogate"}, {"when": object()}, ["a", "list"], "text"],
)
def test_a_raw_payload_cleaned_or_not_plain_json_is_encoded_again(raw):
    item = {"external_id": "1", "status": "active", "raw": raw}
    store.fingerprint(item)
    assert "raw_text" not in item
