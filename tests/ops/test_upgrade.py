"""The upgrade path from the previous release's database: migrate every app back to where the previous
release left it (main at 5fada5d, "Merge board", before WhatsApp conversations, the search text and
saved views), store leads with that release's models, then migrate forward as ``make upgrade`` does."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from crm.models import Lead
from ops import health

# The last migration of each app in the previous release; apps not listed were already at their
# current leaf (conversations did not exist yet).
PREVIOUS_RELEASE = [
    ("crm", "0059_seed_contact_templates"),
    ("alerts", "0008_follow_up_reminders"),
    ("dashboards", "0009_person_brand_day_rollup"),
    ("wordpress", "0005_source_lacks_rights_and_complete_rescan"),
    ("conversations", None),
]


def _previous_release_apps():
    executor = MigrationExecutor(connection)
    executor.migrate(PREVIOUS_RELEASE)
    executor.loader.build_graph()
    applied = executor.loader.applied_migrations
    assert ("crm", "0060_work_indexes") not in applied
    assert ("conversations", "0001_initial") not in applied
    nodes = [(app, name) for app, name in PREVIOUS_RELEASE if name]
    return executor.loader.project_state(nodes, at_end=True).apps


@pytest.fixture
def _sequences_past_restored_rows():
    """Migrating back and forth recreates tables with fresh sequences, while the rows pytest-django restores
    for later ``serialized_rollback`` tests keep their ids (audit entries written by ``migrate``): the
    sequences are moved past any such id afterwards."""
    yield
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname || '.' || sequencename FROM pg_sequences WHERE last_value IS NULL OR last_value < 1000000"
        )
        for (name,) in cursor.fetchall():
            cursor.execute("SELECT setval(%s, 1000000)", [name])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_database_of_the_previous_release_upgrades_with_its_leads(_sequences_past_restored_rows):
    apps = _previous_release_apps()
    Brand = apps.get_model("crm", "Brand")
    Status = apps.get_model("crm", "PipelineStatus")
    OldLead = apps.get_model("crm", "Lead")
    brand = Brand.objects.get(code="intralog")
    status = Status.objects.order_by("order", "pk").first()
    now = timezone.now()
    for number, (name, company) in enumerate(
        [("José Pérez", "Logística Sur"), ("Ana Núñez", "Pallets del Plata"), ("Bob", "")]
    ):
        OldLead.objects.create(
            brand=brand,
            status=status,
            contact_name=name,
            company=company,
            email=f"person{number}@example.com",
            submitted_at=now,
        )
    assert "search_text" not in {field.name for field in OldLead._meta.get_fields()}

    call_command("migrate", "--no-input", verbosity=0)  # what make upgrade runs

    leads = {lead.email: lead for lead in Lead.objects.all()}
    assert set(leads) == {f"person{number}@example.com" for number in range(3)}
    assert "jose perez" in leads["person0@example.com"].search_text.lower()
    assert "logistica sur" in leads["person0@example.com"].search_text.lower()
    assert "nunez" in leads["person1@example.com"].search_text.lower()
    health.migrations_state.reset()
    assert health.migrations().as_dict() == {"status": "ok", "pending": 0}
    health.migrations_state.reset()
