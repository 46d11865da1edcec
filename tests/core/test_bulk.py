"""``core.bulk`` on models of no domain: Wagtail's embeds (an ``auto_now`` stamp, no relations) and log
entries (relations, a JSON field with an encoder). The ``COPY`` path runs on PostgreSQL only."""

import dataclasses
import json
import uuid
from datetime import UTC, datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models.signals import post_init
from wagtail.embeds.models import Embed
from wagtail.images.models import Image
from wagtail.models import ModelLogEntry

from core.bulk import (
    COPY_FROM,
    EncodedJSON,
    build,
    bulk_insert,
    copy_plan,
    copy_rows,
    insert_rows,
    reserve_ids,
)

WHEN = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


def embed_values(number):
    return {
        "url": f"https://video.example/{number}",
        "hash": f"{number:032d}",
        "type": "video",
        "width": number,
    }


def log_values(number, **values):
    return {"label": f"Entry {number}", "action": "wagtail.edit", "object_id": str(number), **values}


def test_encoded_json_is_the_object_with_its_text_encoded_once():
    payload = EncodedJSON({"name": "Ana", "tags": ["a", "b"]})
    assert payload == {"name": "Ana", "tags": ["a", "b"]}
    assert payload.text == json.dumps({"name": "Ana", "tags": ["a", "b"]})


@pytest.mark.django_db
def test_built_instances_are_what_the_model_builds_with_related_objects_cached(django_assert_num_queries):
    content_type = ContentType.objects.get_for_model(Embed)
    values = log_values(1, timestamp=WHEN)
    with django_assert_num_queries(0):
        built = build(ModelLogEntry, values, {"content_type": content_type, "user": None})
        assert built.content_type is content_type and built.user is None
    own = ModelLogEntry(content_type=content_type, **values)
    assert [getattr(built, field.attname) for field in ModelLogEntry._meta.concrete_fields] == [
        getattr(own, field.attname) for field in ModelLogEntry._meta.concrete_fields
    ]
    assert (built._state.adding, built._state.db) == (True, None)
    assert built.content_type_id == content_type.pk


def test_callable_defaults_are_called_for_each_instance_and_relations_may_be_ids():
    first = build(ModelLogEntry, log_values(1, content_type_id=7))
    second = build(ModelLogEntry, log_values(2, content_type_id=7))
    assert first.data == second.data == {}
    assert first.data is not second.data
    assert first.content_type_id == 7 and first.user_id is None


def test_init_listeners_still_hear_built_instances():
    heard = []

    def listener(sender, instance, **kwargs):
        heard.append(instance)

    post_init.connect(listener, sender=Embed)
    try:
        built = build(Embed, embed_values(1))
    finally:
        post_init.disconnect(listener, sender=Embed)
    assert heard == [built]
    assert built.url == "https://video.example/1" and built._state.adding


@pytest.mark.django_db
@pytest.mark.parametrize("count", [3, COPY_FROM + 2])
def test_bulk_insert_saves_the_instances_and_sets_their_keys(count):
    embeds = [build(Embed, embed_values(number)) for number in range(count)]
    assert bulk_insert(embeds) == embeds
    assert all(embed.pk is not None and not embed._state.adding for embed in embeds)
    assert len({embed.pk for embed in embeds}) == count
    saved = {embed.pk: embed for embed in Embed.objects.all()}
    assert {pk: saved[pk].url for pk in saved} == {embed.pk: embed.url for embed in embeds}
    assert all(embed.last_updated is not None for embed in saved.values())


def test_bulk_insert_of_nothing_is_nothing():
    assert bulk_insert([]) == []


@pytest.mark.django_db
@pytest.mark.parametrize("count", [2, COPY_FROM + 1])
def test_insert_rows_fills_in_the_defaults(count):
    content_type = ContentType.objects.get_for_model(Embed)
    rows = [log_values(number, content_type_id=content_type.pk, timestamp=WHEN) for number in range(count)]
    rows[0]["data"] = {"when": WHEN, "note": "first"}
    insert_rows(ModelLogEntry, rows)
    insert_rows(ModelLogEntry, [])
    entries = list(ModelLogEntry.objects.order_by("pk"))
    assert [entry.label for entry in entries] == [f"Entry {number}" for number in range(count)]
    assert entries[0].data == {"when": "2026-03-01T12:30:00Z", "note": "first"}
    assert all(entry.data == {} and not entry.deleted for entry in entries[1:])


def test_copy_plan_lists_columns_stamps_and_json_encoders_once_per_model():
    plan = copy_plan(Embed)
    assert plan is copy_plan(Embed)
    names = [field.attname for field in Embed._meta.concrete_fields]
    assert plan.columns == ", ".join(
        connection.ops.quote_name(field.column) for field in Embed._meta.concrete_fields
    )
    assert plan.columns_without_pk == plan.columns.split(", ", 1)[1]
    assert [names[number] for number in plan.stamps] == ["last_updated"]
    assert plan.encoders == {}
    log_plan = copy_plan(ModelLogEntry)
    data = [field.attname for field in ModelLogEntry._meta.concrete_fields].index("data")
    assert list(log_plan.encoders) == [data]


def test_a_model_with_a_field_copy_cannot_write_has_no_plan():
    assert copy_plan(Image) is None


def test_rows_are_written_with_json_encoded_and_without_the_key_when_asked():
    plan = copy_plan(ModelLogEntry)
    data = [field.attname for field in ModelLogEntry._meta.concrete_fields].index("data")
    key = uuid.UUID(int=5)
    rows = [plan.builder.values(log_values(1, data={"uuid": key})), plan.builder.values(log_values(2))]
    rows[1][data] = None
    first, second = copy_rows(plan, rows, without_pk=True)
    assert json.loads(first[data - 1]) == {"uuid": str(key)}
    assert second[data - 1] is None and len(second) == len(ModelLogEntry._meta.concrete_fields) - 1

    plain = dataclasses.replace(plan, encoders={data: None})
    payload = EncodedJSON({"b": 1, "a": 2})
    payload["later"] = "not in the text"
    (row,) = copy_rows(plain, [plan.builder.values(log_values(3, data=payload))])
    assert row[data] == '{"b": 1, "a": 2}'
    (row,) = copy_rows(plain, [plan.builder.values(log_values(4, data={"a": [1]}))])
    assert row[data] == '{"a": [1]}'


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_copy_takes_ascending_keys_from_the_sequence_and_stamps_auto_now_fields():
    before = Embed.objects.create(**embed_values(999))
    embeds = [build(Embed, embed_values(number)) for number in range(COPY_FROM)]
    bulk_insert(embeds)
    keys = [embed.pk for embed in embeds]
    assert keys == sorted(keys) and keys[0] > before.pk
    assert all(embed._state.db == connection.alias for embed in embeds)
    stamps = {embed.last_updated for embed in embeds}
    assert len(stamps) == 1 and None not in stamps
    saved = {embed.pk: embed for embed in Embed.objects.filter(pk__in=keys)}
    assert [(saved[pk].url, saved[pk].width, saved[pk].last_updated) for pk in keys] == [
        (embed.url, embed.width, embed.last_updated) for embed in embeds
    ]
    after = Embed.objects.create(**embed_values(1000))
    assert after.pk > keys[-1]


@pytest.mark.django_db
def test_reserved_keys_are_the_ones_copy_saves_under():
    """``reserve_ids`` gives the keys first where ``bulk_insert`` uses ``COPY``; elsewhere it does nothing."""
    few = [build(Embed, embed_values(number)) for number in range(COPY_FROM - 1)]
    assert reserve_ids(few) is False and {embed.pk for embed in few} == {None}
    embeds = [build(Embed, embed_values(number)) for number in range(COPY_FROM)]
    if not reserve_ids(embeds):
        assert connection.vendor != "postgresql" and {embed.pk for embed in embeds} == {None}
        return
    keys = [embed.pk for embed in embeds]
    assert None not in keys and keys == sorted(keys)
    bulk_insert(embeds)
    assert [embed.pk for embed in embeds] == keys
    assert sorted(Embed.objects.filter(pk__in=keys).values_list("pk", flat=True)) == keys


@pytest.mark.django_db
def test_leads_with_money_are_written_by_copy_and_read_back_the_same(brands):
    """Leads keep their COPY plan with their amounts and dates (a field type COPY cannot write would send
    every intake batch back to INSERT)."""
    from decimal import Decimal

    from crm.models import Lead, PipelineStatus

    assert copy_plan(Lead) is not None
    status = PipelineStatus.objects.get(key="quoted")
    leads = [
        build(
            Lead,
            {
                "brand_id": brands["intralog"].pk,
                "status_id": status.pk,
                "email": f"money{number}@acme.com",
                "quote_amount": Decimal("1234.50") + number,
                "quote_currency": "USD",
                "quoted_on": WHEN.date(),
            },
        )
        for number in range(COPY_FROM + 1)
    ]
    bulk_insert(leads)
    saved = Lead.objects.filter(email__startswith="money").order_by("pk")
    assert [(lead.quote_amount, lead.quoted_on) for lead in saved] == [
        (Decimal("1234.50") + number, WHEN.date()) for number in range(COPY_FROM + 1)
    ]
