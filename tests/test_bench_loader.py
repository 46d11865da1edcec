"""The bench loader (COPY, index drop/rebuild in one transaction) on a small dataset. PostgreSQL only."""

from io import StringIO

import pytest
from django.db import connection

from bench.loader import BENCH_SOURCE, ensure_dataset
from crm import intake
from crm.models import Brand, Lead, LeadEvent, TaggedLead

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("The loader streams with PostgreSQL COPY; set DATABASE_URL to a PostgreSQL database.")


def _schema():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE tablename = ANY(%s) ORDER BY 1, 2",
            [["crm_lead", "crm_leadevent", "crm_taggedlead"]],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            """SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint
               WHERE conrelid = ANY(ARRAY['crm_lead', 'crm_leadevent', 'crm_taggedlead']::regclass[]) ORDER BY 1, 2"""
        )
        return indexes, cursor.fetchall()


def test_loader_loads_consistent_rows_once_and_keeps_the_schema():
    schema = _schema()
    report = ensure_dataset(400, stdout=StringIO())
    assert report.loaded and report.leads == 400
    assert Lead.objects.filter(external_source=BENCH_SOURCE).count() == 400
    assert LeadEvent.objects.count() == report.events > 400 * 4
    assert _schema() == schema

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

    # Sequences continue after the loaded ids: the service layer can add leads and events.
    lead = intake.create_lead(intake.LeadData(brand=Brand.objects.get(code="intralog"), contact_name="Nueva"))
    assert lead.pk == 401 and lead.events.first().pk > report.events
