"""Pins what ``crm.intake.create_lead`` costs per lead in queries, and that the cheaper paths keep behaviour."""

import pytest
from django.db import connection
from django.db.models.signals import m2m_changed
from wagtail.log_actions import LogContext
from wagtail.models import ModelLogEntry

from crm import intake
from crm.events import LOG_ACTIONS
from crm.models import AssignmentRule, ClassificationRule, Lead, LeadEvent, PipelineStatus, TaggedLead

pytestmark = pytest.mark.django_db

# Each counted creation follows another one, so caches other apps fill on the first event (alerts
# rules) are warm. The PostgreSQL advisory lock that serialises creations of one contact is one query more.
LOCK = 1 if connection.vendor == "postgresql" else 0

# savepoint + statuses + classification rules + [lock] + original lookup + assignment rules
# + INSERT lead + INSERT events + INSERT log entries + release
PLAIN = 9 + LOCK
# one SELECT of the tags (creating missing ones costs their own INSERTs) + one INSERT of the links
TAGS = 2
# locked rule + pool (with the chosen person) + rule UPDATE; the lead is inserted assigned, and its
# assigned and status-changed events join the event and log-entry inserts
ROUND_ROBIN = 3
# the tombstone check (``crm.tombstones``: is this person erased?), after the PostgreSQL shared lock that
# holds off erasures until the lead is committed; none without a contact or reference to check
TOMBSTONES = 1 + LOCK
# the duplicate tag, event and log entry join the tag lookup and the inserts (TAGS when it is the only tag)
DUPLICATE = 0


def data(brands, **fields):
    return intake.LeadData(brand=brands["intralog"], contact_name="Ana", **fields)


@pytest.fixture
def existing_tags():
    from taggit.models import Tag

    for name in ("urgent", "web", "duplicate"):
        Tag.objects.create(name=name, slug=name)


@pytest.fixture
def round_robin(brands, employee, other_employee):
    return AssignmentRule.objects.create(name="RR", brand=brands["intralog"], mode="round_robin")


def test_plain_lead(brands, django_assert_num_queries):
    intake.create_lead(data(brands, email="first@example.com"))
    with django_assert_num_queries(PLAIN + TOMBSTONES):
        lead = intake.create_lead(data(brands, email="ana@example.com"))
    assert lead.status.key == "pending" and lead.duplicate_of is None


def test_lead_with_tags(brands, existing_tags, django_assert_num_queries):
    intake.create_lead(data(brands, email="first@example.com"))
    with django_assert_num_queries(PLAIN + TOMBSTONES + TAGS):
        lead = intake.create_lead(data(brands, email="ana@example.com", tags=["urgent", "web", "urgent"]))
    assert sorted(lead.tags.names()) == ["urgent", "web"]


def test_assigned_duplicate_with_tags(
    brands, existing_tags, round_robin, employee, django_assert_num_queries
):
    original = intake.create_lead(data(brands, email="ana@example.com"))
    with django_assert_num_queries(PLAIN + TOMBSTONES + TAGS + ROUND_ROBIN + DUPLICATE):
        lead = intake.create_lead(data(brands, email="ANA@example.com ", tags=["urgent"]))
    assert lead.duplicate_of == original
    assert sorted(lead.tags.names()) == ["duplicate", "urgent"]
    assert lead.assignee is not None and lead.status.key == "assigned"
    lead.refresh_from_db()
    assert lead.status.key == "assigned" and lead.assignee is not None
    kinds = list(lead.events.order_by("pk").values_list("kind", "to_value"))
    assert kinds == [
        ("created", "pending"),
        ("classified", "pending"),
        ("classified", "duplicate"),
        ("assigned", lead.assignee.get_username()),
        ("status_changed", "assigned"),
    ]
    actions = list(
        ModelLogEntry.objects.filter(object_id=str(lead.pk)).order_by("pk").values_list("action", flat=True)
    )
    assert actions == [
        "wagtail.create",
        "crm.lead.classified",
        "crm.lead.classified",
        "crm.lead.assigned",
        "crm.lead.status_changed",
    ]


def test_rule_tags_and_status_in_one_insert(brands, existing_tags, django_assert_num_queries):
    junk = PipelineStatus.objects.get(key="negative")
    ClassificationRule.objects.create(
        name="Spam", order=1, field="message", pattern="casino", add_tags="spam, web", set_status=junk
    )
    intake.create_lead(data(brands, message="hello"))
    # no contact: no lock nor original lookup; a junk lead skips the assignment rules; taggit creates
    # the new "spam" tag with its own get-or-create (a SELECT, two savepoints and the INSERT)
    with django_assert_num_queries(PLAIN - LOCK - 2 + TAGS + 6):
        lead = intake.create_lead(data(brands, message="casino", tags=["web"]))
    assert sorted(lead.tags.names()) == ["spam", "web"]
    assert lead.status == junk and lead.assignee is None
    assert TaggedLead.objects.filter(content_object=lead).count() == 2


def test_tag_signals_as_taggit_sends_them(brands, existing_tags):
    seen = []

    def watch(sender, action, instance, pk_set, **kwargs):
        seen.append((action, instance.pk, sorted(pk_set), instance.tags.filter(pk__in=pk_set).count()))

    m2m_changed.connect(watch, sender=TaggedLead, dispatch_uid="test-watch-tags")
    try:
        lead = intake.create_lead(data(brands, email="a@example.com", tags=["urgent"]))
    finally:
        m2m_changed.disconnect(sender=TaggedLead, dispatch_uid="test-watch-tags")
    urgent = lead.tags.get().pk
    assert seen == [("pre_add", lead.pk, [urgent], 0), ("post_add", lead.pk, [urgent], 1)]


def test_log_entry_takes_the_log_context_user_and_uuid(brands, manager):
    with LogContext(user=manager) as context:
        lead = intake.create_lead(data(brands, email="a@example.com"))
    entries = ModelLogEntry.objects.filter(object_id=str(lead.pk))
    assert {(entry.user_id, entry.uuid) for entry in entries} == {(manager.pk, context.uuid)}
    assert LeadEvent.objects.filter(lead=lead, actor__isnull=False).count() == 0
    assert entries.first().label == str(lead)


def test_unregistered_log_action_is_still_refused(brands, monkeypatch):
    from django.core.exceptions import ValidationError

    monkeypatch.setitem(LOG_ACTIONS, LeadEvent.Kind.CREATED, "crm.lead.unknown")
    with pytest.raises(ValidationError):
        intake.create_lead(data(brands, email="a@example.com"))
    assert not Lead.objects.exists()


def test_shared_lookups_for_a_batch(
    brands, existing_tags, round_robin, employee, other_employee, django_assert_num_queries
):
    lookups = intake.NewLeadLookups()
    intake.create_lead(data(brands, email="first@example.com"), lookups=lookups)
    # statuses, classification rules and the brand's assignment rules are read once per batch
    with django_assert_num_queries(PLAIN + TOMBSTONES - 3 + TAGS + ROUND_ROBIN):
        second = intake.create_lead(data(brands, email="b@example.com", tags=["web"]), lookups=lookups)
    third = intake.create_lead(data(brands, email="c@example.com"), lookups=lookups)
    assert {second.assignee, third.assignee} == {employee, other_employee}
    assert second.status.key == third.status.key == "assigned"
    assert list(second.tags.names()) == ["web"]
    assert list(third.events.order_by("pk").values_list("kind", flat=True)) == [
        "created",
        "classified",
        "assigned",
        "status_changed",
    ]


def test_lookups_with_a_max_age_are_read_again_once_that_old(brands, monkeypatch):
    from types import SimpleNamespace

    from django.test.utils import CaptureQueriesContext

    clock = [1000.0]
    monkeypatch.setattr(intake, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    lookups = intake.NewLeadLookups(max_age=10)
    intake.create_leads([data(brands, email="first@example.com")], lookups=lookups.fresh())
    negative = PipelineStatus.objects.get(key="negative")
    ClassificationRule.objects.create(
        name="Test phrase", order=1, field="message", pattern="zzyzx", set_status=negative
    )
    clock[0] += 9
    with CaptureQueriesContext(connection) as kept_queries:
        (kept,) = intake.create_leads(
            [data(brands, email="b@example.com", message="zzyzx")], lookups=lookups.fresh()
        )
    clock[0] += 2
    with CaptureQueriesContext(connection) as fresh_queries:
        (read_again,) = intake.create_leads(
            [data(brands, email="c@example.com", message="zzyzx")], lookups=lookups.fresh()
        )

    def rule_reads(queries):
        return sum('FROM "crm_classificationrule"' in query["sql"] for query in queries.captured_queries)

    assert (rule_reads(kept_queries), rule_reads(fresh_queries)) == (0, 1)
    assert kept.status.key != "negative"
    assert read_again.status.key == "negative"
