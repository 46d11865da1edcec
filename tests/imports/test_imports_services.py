"""Importing through the service: modes, errors per row, idempotence, alerts, revert, resuming after a crash."""

import pytest
from django.core.exceptions import PermissionDenied
from wagtail.models import ModelLogEntry

from crm.models import Lead, LeadEvent, Service
from crm.services import add_note
from imports import services
from imports.batches import Batch
from imports.models import ImportRun, SavedMapping
from imports.rows import RowReader

from .support import ROWS, csv_bytes, upload, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def storage(brands):
    return Service.objects.create(brand=brands["intralog"], name="Almacenamiento", is_active=True)


def run_file(user, brand, content, name="leads.csv", mode="create", send_alerts=False, capture=None):
    run = services.receive_file(user, brand, upload(content, name))
    with capture(execute=True):
        services.start(run, user, mode=mode, send_alerts=send_alerts, remember=True)
    run.refresh_from_db()
    return run


def test_a_file_becomes_leads_through_the_intake(
    manager, brands, storage, django_capture_on_commit_callbacks
):
    run = run_file(manager, brands["intralog"], csv_bytes(ROWS), capture=django_capture_on_commit_callbacks)
    assert (run.state, run.total_rows, run.created_count, run.error_count) == ("done", 4, 3, 1)
    assert run.errors == [
        {
            "row": 4,
            "message": "The email “carla@sin-arroba” is not a valid address.",
            "content": "Carla Gómez |  | +54 9 11 5555-6666 | carla@sin-arroba |  |  | ",
        }
    ]
    ana = Lead.objects.get(contact_name="Ana Pérez")
    assert (ana.phone_e164, ana.service, ana.utm_source, ana.brand) == (
        "+541145551234",
        storage,
        "google",
        brands["intralog"],
    )
    assert (ana.submitted_at.day, ana.submitted_at.month) == (5, 3)
    assert ana.skip_alerts and ana.created_by == manager and ana.source.key == "spreadsheet"
    assert set(ana.events.values_list("kind", flat=True)) >= {"created", "classified"}
    beto = Lead.objects.get(contact_name="Beto Díaz")
    assert (beto.email, beto.phone_e164) == ("beto@pallets.example", "+5493515123456")
    dario = Lead.objects.get(contact_name="Dario Ruiz")
    assert dario.company == '=HYPERLINK("http://x.example")'
    assert dario.phone_e164 == "+5491144445555"
    assert "unknown-service" in set(dario.tags.names())
    assert SavedMapping.objects.get(user=manager).columns["razon social"] == "company"


def test_the_same_file_twice_creates_nothing_the_second_time(
    manager, brands, django_capture_on_commit_callbacks
):
    first = run_file(manager, brands["intralog"], csv_bytes(ROWS), capture=django_capture_on_commit_callbacks)
    second = services.receive_file(manager, brands["intralog"], upload(csv_bytes(ROWS)))
    assert services.earlier_run(second) == first
    with django_capture_on_commit_callbacks(execute=True):
        services.start(second, manager, mode="create", send_alerts=False, remember=False)
    second.refresh_from_db()
    assert (second.created_count, second.skipped_count, second.error_count) == (0, 3, 1)
    assert Lead.objects.count() == 3


def test_xlsx_with_the_same_rows(admin_user, brands, django_capture_on_commit_callbacks):
    rows = [list(row) for row in ROWS]
    rows[0][2] = 1145551234
    run = run_file(
        admin_user, brands["intrapal"], xlsx_bytes(rows), "x.xlsx", capture=django_capture_on_commit_callbacks
    )
    assert (run.created_count, run.error_count) == (3, 1)
    assert Lead.objects.get(contact_name="Ana Pérez").phone_e164 == "+541145551234"


def test_update_mode_edits_the_lead_with_the_same_email(manager, brands, django_capture_on_commit_callbacks):
    run_file(manager, brands["intralog"], csv_bytes(ROWS[:1]), capture=django_capture_on_commit_callbacks)
    changed = [["Ana María Pérez", "Frío SA", "", "ana@frio.example", "", "", ""]]
    run = run_file(
        manager,
        brands["intralog"],
        csv_bytes(changed),
        mode="update",
        capture=django_capture_on_commit_callbacks,
    )
    assert (run.created_count, run.updated_count) == (0, 1)
    lead = Lead.objects.get()
    assert lead.contact_name == "Ana María Pérez"
    assert lead.events.filter(kind=LeadEvent.Kind.EDITED, actor=manager).exists()


def test_skip_mode_skips_rows_matching_by_phone(manager, brands, django_capture_on_commit_callbacks):
    run_file(manager, brands["intralog"], csv_bytes(ROWS[:1]), capture=django_capture_on_commit_callbacks)
    same_phone = [["Otra Persona", "", "+54 11 4555 1234", "otra@x.example", "", "", ""]]
    run = run_file(
        manager,
        brands["intralog"],
        csv_bytes(same_phone),
        mode="skip",
        capture=django_capture_on_commit_callbacks,
    )
    assert (run.created_count, run.skipped_count) == (0, 1)
    create = run_file(
        manager,
        brands["intralog"],
        csv_bytes(same_phone),
        mode="create",
        capture=django_capture_on_commit_callbacks,
    )
    assert create.created_count == 1
    assert Lead.objects.get(contact_name="Otra Persona").duplicate_of is not None


def test_alerts_are_asked_for_or_not(manager, brands, django_capture_on_commit_callbacks):
    run = run_file(
        manager,
        brands["intralog"],
        csv_bytes(ROWS[:1]),
        send_alerts=True,
        capture=django_capture_on_commit_callbacks,
    )
    assert run.created_count == 1
    assert Lead.objects.get().skip_alerts is False


def test_a_brand_the_manager_does_not_hold_is_refused(manager, brands):
    with pytest.raises(PermissionDenied):
        services.receive_file(manager, brands["intrapal"], upload(csv_bytes(ROWS)))
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "a.csv", "The file is empty."),
        (csv_bytes([]), "a.csv", "only the column names"),
        (bytes(range(256)) * 100, "a.csv", "not a spreadsheet"),
        (b"whatever", "a.xls", "Old Excel files"),
        (b"whatever", "a.pdf", "Upload a CSV or XLSX file."),
    ],
)
def test_bad_files_are_refused_with_a_message(manager, brands, content, name, message):
    with pytest.raises(services.ImportProblem, match=message):
        services.receive_file(manager, brands["intralog"], upload(content, name))
    assert not ImportRun.objects.exists()
    assert not any(services._root().iterdir())


def test_a_50_mb_file_is_refused(manager, brands):
    content = csv_bytes(ROWS) + b"x" * (50 * 1024 * 1024)
    with pytest.raises(services.ImportProblem, match="the largest accepted is 40.0 MB"):
        services.receive_file(manager, brands["intralog"], upload(content))


def test_revert_removes_only_the_untouched_leads(
    manager, employee, brands, django_capture_on_commit_callbacks
):
    run = run_file(manager, brands["intralog"], csv_bytes(ROWS), capture=django_capture_on_commit_callbacks)
    worked = Lead.objects.get(contact_name="Beto Díaz")
    add_note(worked, manager, "Llamar el lunes")
    run = services.revert(run)
    assert (run.state, run.reverted_count, run.kept_count) == ("reverted", 2, 1)
    assert list(Lead.objects.values_list("contact_name", flat=True)) == ["Beto Díaz"]
    assert set(
        ModelLogEntry.objects.filter(content_type__model="lead").values_list("object_id", flat=True)
    ) == {str(worked.pk)}
    with pytest.raises(services.ImportProblem):
        services.revert(run)


def test_a_killed_import_resumes_from_its_last_committed_batch(
    manager, brands, django_capture_on_commit_callbacks, monkeypatch
):
    rows = [[f"Persona {index}", "", "", f"p{index}@x.example", "", "", ""] for index in range(25)]
    run = services.receive_file(manager, brands["intralog"], upload(csv_bytes(rows)))
    services.start(run, manager, mode="create", send_alerts=False, remember=False)
    commit = Batch.commit
    calls = []

    def dies_on_the_third(self, batch_rows):
        calls.append(batch_rows.last)
        if len(calls) == 3:
            raise SystemExit("worker killed")
        commit(self, batch_rows)

    monkeypatch.setattr(Batch, "commit", dies_on_the_third)
    with pytest.raises(SystemExit):
        services.process(run.pk, batch_size=10)
    run.refresh_from_db()
    assert (run.state, run.processed_rows, run.created_count) == ("running", 20, 20)
    assert Lead.objects.count() == 20
    assert not services.can_resume(run)
    ImportRun.objects.filter(pk=run.pk).update(heartbeat_at=run.heartbeat_at - services.STALE_AFTER * 2)
    run.refresh_from_db()
    assert services.can_resume(run)
    monkeypatch.setattr(Batch, "commit", commit)
    with django_capture_on_commit_callbacks(execute=True):
        services.resume(run)
    run.refresh_from_db()
    assert (run.state, run.processed_rows, run.created_count) == ("done", 25, 25)
    assert Lead.objects.count() == 25


def test_a_failed_import_can_be_reverted_cleanly(manager, brands, monkeypatch):
    rows = [[f"Persona {index}", "", "", f"p{index}@x.example", "", "", ""] for index in range(15)]
    run = services.receive_file(manager, brands["intralog"], upload(csv_bytes(rows)))
    services.start(run, manager, mode="create", send_alerts=False, remember=False)
    commit = Batch.commit

    def fails_on_the_second(self, batch_rows):
        if batch_rows.first > 10:
            raise RuntimeError("database went away")
        commit(self, batch_rows)

    monkeypatch.setattr(Batch, "commit", fails_on_the_second)
    with pytest.raises(RuntimeError):
        services.process(run.pk, batch_size=10)
    run.refresh_from_db()
    assert (run.state, run.created_count, run.failure) == ("failed", 10, "database went away")
    assert services.can_resume(run)
    run = services.revert(run)
    assert (run.reverted_count, Lead.objects.count()) == (10, 0)


def test_update_mode_matches_only_within_the_brand(admin_user, brands, django_capture_on_commit_callbacks):
    run_file(admin_user, brands["intrapal"], csv_bytes(ROWS[:1]), capture=django_capture_on_commit_callbacks)
    changed = [["Ana María Pérez", "", "", "ana@frio.example", "", "", ""]]
    run = run_file(
        admin_user,
        brands["intralog"],
        csv_bytes(changed),
        mode="update",
        capture=django_capture_on_commit_callbacks,
    )
    assert (run.created_count, run.updated_count) == (1, 0)
    assert Lead.objects.get(brand=brands["intrapal"]).contact_name == "Ana Pérez"


@pytest.mark.parametrize(
    ("phone", "e164"),
    [
        ("011 4555-1234", "+541145551234"),
        ("(011) 4555 1234", "+541145551234"),
        ("11 4555-1234", "+541145551234"),
        ("+54 11 4555-1234", "+541145551234"),
        ("+54 9 11 4555-1234", "+5491145551234"),
        ("011 15 4555-1234", "+5491145551234"),
        ("15-4555-1234", "+5491145551234"),
        ("(0351) 15 512-3456", "+5493515123456"),
        ("0351 451-2345", "+543514512345"),
        ("+54 (341) 15-512-3456", "+5493415123456"),
        ("1,1455E+09", ""),
    ],
)
def test_argentine_phone_forms(brands, phone, e164):
    reader = RowReader(brands["intralog"], ["Nombre", "Teléfono"], ["contact_name", "phone"])
    row = reader.prepare(1, ["Ana", phone])
    assert (row.values["phone"], row.phone_e164) == (phone, e164)
    assert ("invalid-phone" in row.tags) == (not e164)
