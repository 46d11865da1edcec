"""The bench loader (COPY, index drop/rebuild in one transaction) on a small dataset. PostgreSQL only."""

from datetime import timedelta
from io import StringIO

import pytest
from django.db import connection
from django.db.models import F, Max
from django.utils import timezone

from bench.loader import BENCH_SOURCE, ensure_dataset
from crm import followups, intake
from crm.models import Brand, FollowUp, Lead, LeadEvent, TaggedLead

TABLES = ["crm_lead", "crm_leadevent", "crm_taggedlead", "crm_followup"]

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("The loader streams with PostgreSQL COPY; set DATABASE_URL to a PostgreSQL database.")


def _schema():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE tablename = ANY(%s) ORDER BY 1, 2",
            [TABLES],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            """SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint
               WHERE conrelid = ANY(%s::regclass[]) ORDER BY 1, 2""",
            [TABLES],
        )
        return indexes, cursor.fetchall()


def test_loader_loads_consistent_rows_once_and_keeps_the_schema():
    schema = _schema()
    report = ensure_dataset(400, stdout=StringIO())
    assert report.loaded and report.leads == 400
    assert Lead.objects.filter(external_source=BENCH_SOURCE).count() == 400
    assert LeadEvent.objects.count() == report.events > 400 * 4
    assert _schema() == schema
    assert any("crm_lead_next_action" in definition for _table, definition in schema[0])
    assert any("crm_followup_open_assignee" in definition for _table, definition in schema[0])

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM crm_lead l JOIN crm_pipelinestatus s ON s.id = l.status_id
               WHERE s.key <> COALESCE(
                   (SELECT e.to_value FROM crm_leadevent e WHERE e.lead_id = l.id AND e.kind = 'status_changed'
                    ORDER BY e.created_at DESC, e.id DESC LIMIT 1),
                   (SELECT e.to_value FROM crm_leadevent e WHERE e.lead_id = l.id AND e.kind = 'created'))"""
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            """SELECT count(*) FROM crm_lead l WHERE l.first_contacted_at IS DISTINCT FROM
               (SELECT min(e.created_at) FROM crm_leadevent e WHERE e.lead_id = l.id AND e.kind = 'contact_attempt')"""
        )
        assert cursor.fetchone()[0] == 0
    duplicates = Lead.objects.filter(duplicate_of__isnull=False)
    assert duplicates.exists()
    assert TaggedLead.objects.filter(tag__name="duplicate").count() == duplicates.count()
    assert {lead.email for lead in duplicates} <= set(
        Lead.objects.filter(duplicate_of__isnull=True).values_list("email", flat=True)
    )

    again = ensure_dataset(400, stdout=StringIO())
    assert not again.loaded and again.events == report.events
    assert again.follow_ups == report.follow_ups and again.open_follow_ups == report.open_follow_ups
    assert again.generated_at == report.generated_at != ""

    # Sequences continue after the loaded ids: the service layer can add leads, events and follow-ups.
    lead = intake.create_lead(intake.LeadData(brand=Brand.objects.get(code="intralog"), contact_name="Nueva"))
    assert lead.pk == 401 and lead.events.first().pk > report.events
    busy = Lead.objects.filter(next_action_at__isnull=False, status__stage="open").first()
    added = followups.schedule_follow_up(busy, None, due_at=busy.next_action_at + timedelta(days=400))
    assert added.pk > FollowUp.objects.exclude(pk=added.pk).aggregate(top=Max("pk"))["top"]


def test_loader_gives_open_leads_follow_ups_and_their_next_action():
    report = ensure_dataset(400, stdout=StringIO())
    now = timezone.now()
    open_ones = FollowUp.objects.filter(state=FollowUp.State.OPEN)
    assert report.open_follow_ups == open_ones.count() > 40
    assert report.follow_ups == FollowUp.objects.count() > report.open_follow_ups
    assert {"done", "cancelled"} <= set(FollowUp.objects.values_list("state", flat=True))
    # Open ones on open leads, for the lead's assignee; due from 30 days ago to 30 days ahead.
    assert not open_ones.exclude(lead__status__stage="open").exists()
    assert not open_ones.exclude(assignee=F("lead__assignee")).exists()
    assert open_ones.filter(due_at__lt=now).exists() and open_ones.filter(due_at__gt=now).exists()
    assert not open_ones.filter(due_at__lt=now - timedelta(days=31)).exists()
    assert not open_ones.filter(due_at__gt=now + timedelta(days=31)).exists()
    # Every status that requires a follow-up has one.
    assert not Lead.objects.filter(status__requires_follow_up=True, next_action_at__isnull=True).exists()
    closed = FollowUp.objects.exclude(state=FollowUp.State.OPEN)
    assert not closed.filter(closed_at__isnull=True).exists()
    assert not closed.filter(closed_at__lt=F("created_at")).exists()
    assert not FollowUp.objects.filter(due_at__lt=F("created_at")).exists()

    with connection.cursor() as cursor:
        # next_action_at is the earliest open follow-up's due time, null without one.
        cursor.execute(
            """SELECT count(*) FROM crm_lead l WHERE l.next_action_at IS DISTINCT FROM
               (SELECT min(f.due_at) FROM crm_followup f WHERE f.lead_id = l.id AND f.state = 'open')"""
        )
        assert cursor.fetchone()[0] == 0
        # Each follow-up has its "scheduled" event, each closed one its "done" or "cancelled" event.
        cursor.execute(
            """SELECT count(*) FROM crm_followup f WHERE NOT EXISTS (
                   SELECT 1 FROM crm_leadevent e WHERE e.lead_id = f.lead_id AND e.kind = 'follow_up'
                   AND e.to_value = 'scheduled' AND (e.data->>'follow_up')::bigint = f.id
                   AND e.created_at = f.created_at)
               OR (f.state <> 'open' AND NOT EXISTS (
                   SELECT 1 FROM crm_leadevent e WHERE e.lead_id = f.lead_id AND e.kind = 'follow_up'
                   AND e.to_value = f.state AND (e.data->>'follow_up')::bigint = f.id
                   AND e.created_at = f.closed_at))"""
        )
        assert cursor.fetchone()[0] == 0
        # The lead's last activity is its last event.
        cursor.execute(
            """SELECT count(*) FROM crm_lead l WHERE l.last_activity_at <>
               (SELECT max(e.created_at) FROM crm_leadevent e WHERE e.lead_id = l.id)"""
        )
        assert cursor.fetchone()[0] == 0


def test_a_dataset_of_another_version_is_reloaded():
    ensure_dataset(400, stdout=StringIO())
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE crm_followup")
        cursor.execute("UPDATE crm_lead SET next_action_at = NULL")
        cursor.execute("COMMENT ON TABLE crm_lead IS NULL")
    report = ensure_dataset(400, stdout=StringIO())
    assert report.loaded and report.open_follow_ups == FollowUp.objects.filter(state="open").count() > 40
