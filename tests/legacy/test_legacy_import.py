"""The import from the old Leads Manager, against a database built with the old app's own schema."""

from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from wagtail.models import ModelLogEntry

from crm.models import Lead, LeadEvent, Role
from dashboards.models import PersonDay
from legacy.importer import import_legacy
from legacy.models import LegacySubmission
from tests.legacy_support import OldApp

T0 = datetime(2025, 3, 3, 13, 0, tzinfo=UTC)
T1 = datetime(2025, 3, 3, 15, 30, tzinfo=UTC)
T2 = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)
T3 = datetime(2025, 3, 10, 18, 45, tzinfo=UTC)
T4 = datetime(2025, 4, 1, 11, 0, tzinfo=UTC)

GHOST, SELLER, BOSS = 11, 12, 13


@pytest.fixture
def old_app(tmp_path):
    """The old database: a quoted INTRALOG lead with its whole history and a management message, a job
    seeker on INTRAPAL, a won lead owned by someone unknown here, a lead with no history, and one whose form
    names no brand."""
    old = OldApp(tmp_path / "db.sqlite3")
    old.user(GHOST, "fantasma", "fantasma@viejo.example")
    old.user(SELLER, "Employee1", "otra@viejo.example")
    old.user(BOSS, "jefe", "MANAGER1@example.com", role="manager")
    old.campaign(1, "Verano 2025")
    old.submission(
        1,
        T0,
        razon_social="Farmacia Central SA",
        nombre_y_apellido="Raúl Sosa",
        servicio="Almacenamiento y depósito",
        mail="Raul_1984@Gmail.com ",
        telefono="(0351) 15 497-4776",
        mensaje="Necesitamos depósito",
        estado="cotizado",
        form_id=3,
        submission_id=501,
        data={"Ubicación": "Córdoba", "utm_source": "IG", "utm_campaign": "verano"},
        assigned_user_id=SELLER,
        management_message="Llamar el lunes",
        campaign_id=1,
    )
    old.history(1, None, "pendiente", T0)
    old.history(1, "pendiente", "asignado", T1, by=BOSS)
    old.history(1, "asignado", "contactado", T2, by=SELLER)
    old.history(1, "contactado", "cotizado", T3, by=SELLER)
    old.submission(
        2,
        T1,
        empresa="INTRAPAL",
        nombre_y_apellido="Ana Busca",
        servicio="Busco trabajo/ Ofrezco productos o servicios",
        estado="negativo",
        form_id=7,
        submission_id=502,
    )
    old.history(2, None, "negativo", T1)
    old.submission(
        3, T2, nombre_y_apellido="Gana Mucho", estado="gestionExitosa", form_id=4, assigned_user_id=GHOST
    )
    old.history(3, None, "pendiente", T2)
    old.history(3, "pendiente", "gestionExitosa", T3, by=GHOST)
    old.submission(4, T3, nombre_y_apellido="Sin Historia", estado="pendiente", form_id=5)
    old.submission(5, T3, empresa="Otra empresa", nombre_y_apellido="Nadie", form_id=99)
    old.save()
    return old


@pytest.fixture
def people(make_user):
    return {"seller": make_user("employee1", Role.EMPLOYEE), "boss": make_user("manager1", Role.MANAGER)}


def counts():
    return (
        Lead.objects.count(),
        LeadEvent.objects.count(),
        ModelLogEntry.objects.count(),
        LegacySubmission.objects.count(),
        PersonDay.objects.count(),
    )


def lead_of(old_id):
    return LegacySubmission.objects.get(old_id=old_id).lead


@pytest.mark.django_db
def test_every_submission_comes_in_with_its_dates_brand_status_owner_history_and_note(old_app, people):
    report = import_legacy(str(old_app.path))

    assert (report.created, report.skipped, report.submissions) == (4, 1, 5)
    assert report.errors[0]["id"] == 5
    quoted = lead_of(1)
    assert (quoted.brand.code, quoted.status.key, quoted.assignee) == ("intralog", "quoted", people["seller"])
    assert (quoted.submitted_at, quoted.status_changed_at, quoted.assigned_at) == (T0, T3, T1)
    assert quoted.first_contacted_at == T2
    assert quoted.is_backfill
    assert (quoted.contact_name, quoted.company, quoted.email) == (
        "Raúl Sosa",
        "Farmacia Central SA",
        "raul_1984@gmail.com",
    )
    assert quoted.phone_e164 == "+5493514974776"
    assert (quoted.location, quoted.utm_source, quoted.utm_campaign) == ("Córdoba", "ig", "verano")
    assert quoted.management_note == "Llamar el lunes"
    assert quoted.raw_payload["Ubicación"] == "Córdoba"
    assert quoted.extra["legacy"]["campaign"] == "Verano 2025"
    assert (quoted.external_source, quoted.external_form, quoted.external_id) == ("leads-manager", "3", "501")
    events = list(
        quoted.events.order_by("created_at", "pk").values_list(
            "kind", "from_value", "to_value", "actor", "created_at"
        )
    )
    assert events == [
        ("created", "", "pending", None, T0),
        ("assigned", "", "employee1", None, T1),
        ("status_changed", "pending", "assigned", people["boss"].pk, T1),
        ("status_changed", "assigned", "contacted", people["seller"].pk, T2),
        ("status_changed", "contacted", "quoted", people["seller"].pk, T3),
        ("note", "", "", None, T3),
    ]
    assert quoted.events.get(kind="note").note == "Llamar el lunes"
    logged = ModelLogEntry.objects.filter(object_id=str(quoted.pk), action="crm.lead.status_changed")
    assert sorted(entry.timestamp for entry in logged) == [T1, T2, T3]

    junk = lead_of(2)
    assert (junk.brand.code, junk.status.key, junk.assignee) == ("intrapal", "negative", None)
    won = lead_of(3)
    assert (won.status.key, won.assignee) == ("won", None)
    assert won.events.get(kind="status_changed").actor is None
    fresh = lead_of(4)
    assert (fresh.status.key, fresh.submitted_at) == ("pending", T3)
    assert list(fresh.events.values_list("kind", "created_at")) == [("created", T3)]

    unknown = report.as_dict()["unknown_users"]
    assert unknown == [
        {"id": GHOST, "username": "fantasma", "email": "fantasma@viejo.example", "assignee": 1, "actor": 1}
    ]


@pytest.mark.django_db
def test_dashboards_count_the_past_by_its_original_dates(old_app, people):
    import_legacy(str(old_app.path))

    names = {people["seller"].pk: "employee1", people["boss"].pk: "manager1"}
    rows = {
        (row.day.isoformat(), names[row.person_id]): (row.activity, row.quoted, row.won)
        for row in PersonDay.objects.all()
    }
    # Days in America/Argentina/Buenos_Aires (UTC-3): T1 is 2025-03-03 12:30 there, T3 2025-03-10 15:45.
    assert rows == {
        ("2025-03-03", "manager1"): (1, 0, 0),
        ("2025-03-05", "employee1"): (1, 0, 0),
        ("2025-03-10", "employee1"): (1, 1, 0),
    }
    assert Lead.objects.filter(submitted_at__lt=datetime(2025, 3, 4, tzinfo=UTC)).count() == 2


@pytest.mark.django_db
def test_running_twice_creates_nothing_and_a_rerun_brings_what_changed(old_app, people):
    import_legacy(str(old_app.path))
    before = counts()

    again = import_legacy(str(old_app.path))

    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert counts() == before

    old_app.history(1, "cotizado", "gestionExitosa", T4, by=SELLER)
    old_app.execute(
        "UPDATE formsapp_formsubmission SET estado = 'gestionExitosa', management_message = 'Cerrado' WHERE id = 1"
    )
    old_app.execute("UPDATE formsapp_formsubmission SET assigned_user_id = ? WHERE id = 4", (BOSS,))
    old_app.save()

    third = import_legacy(str(old_app.path))

    assert (third.created, third.updated, third.unchanged) == (0, 2, 2)
    assert Lead.objects.count() == before[0]
    quoted = lead_of(1)
    assert (quoted.status.key, quoted.status_changed_at, quoted.management_note) == ("won", T4, "Cerrado")
    won = quoted.events.get(kind="status_changed", to_value="won")
    assert (won.actor, won.created_at) == (people["seller"], T4)
    assert list(quoted.events.filter(kind="note").values_list("note", flat=True).order_by("pk")) == [
        "Llamar el lunes",
        "Cerrado",
    ]
    assert quoted.events.filter(kind="status_changed").count() == 4
    reassigned = lead_of(4)
    assert (reassigned.assignee, reassigned.events.filter(kind="assigned").count()) == (people["boss"], 1)
    assert PersonDay.objects.get(person_id=people["seller"].pk, day="2025-04-01").won == 1

    assert import_legacy(str(old_app.path)).unchanged == 4


@pytest.mark.django_db
def test_a_dry_run_reports_and_changes_nothing(old_app, people):
    before = counts()

    report = import_legacy(str(old_app.path), dry_run=True)

    assert counts() == before
    assert (report.created, report.skipped, report.notes) == (4, 1, 1)
    assert report.events == 6 + 1 + 2 + 1
    assert [user["username"] for user in report.as_dict()["unknown_users"]] == ["fantasma"]


@pytest.mark.django_db
def test_the_command_reports_unknown_people_and_refuses_what_is_not_the_old_database(
    old_app, people, tmp_path, capsys
):
    call_command("import_legacy", str(old_app.path), "--dry-run")
    out = capsys.readouterr().out
    assert "4 leads would be created" in out
    assert "Unknown user fantasma <fantasma@viejo.example>" in out
    assert Lead.objects.count() == 0

    call_command("import_legacy", str(old_app.path), "--form-brand", "99=intrapal")
    assert lead_of(5).brand.code == "intrapal"

    not_sqlite = tmp_path / "leads.csv"
    not_sqlite.write_text("a,b\n1,2\n")
    with pytest.raises(CommandError, match="not an SQLite database"):
        call_command("import_legacy", str(not_sqlite))
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("import_legacy", str(tmp_path / "missing.sqlite3"))
    empty = tmp_path / "empty.sqlite3"
    OldApp.__new__(OldApp)
    import sqlite3

    sqlite3.connect(empty).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(CommandError, match="not the old Leads Manager"):
        call_command("import_legacy", str(empty))
    with pytest.raises(CommandError, match="FORM_ID=BRAND_CODE"):
        call_command("import_legacy", str(old_app.path), "--form-brand", "x")


@pytest.mark.django_db
def test_a_lost_mapping_takes_the_imported_leads_over_instead_of_doubling_them(old_app, people):
    import_legacy(str(old_app.path))
    leads = set(Lead.objects.values_list("pk", flat=True))
    LegacySubmission.objects.all().delete()

    report = import_legacy(str(old_app.path))

    assert report.created == 0
    assert set(Lead.objects.values_list("pk", flat=True)) == leads
    assert set(LegacySubmission.objects.values_list("lead_id", flat=True)) == leads
    assert lead_of(1).events.filter(kind="status_changed").count() == 3
