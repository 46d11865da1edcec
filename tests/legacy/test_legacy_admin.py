"""The admin page that starts an import of the old Leads Manager: admins only, a job per run, its report."""

from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.models import Lead, Role
from legacy.models import LegacyImport
from tests.legacy_support import OldApp
from tests.two_factor_support import sign_in_fully


@pytest.fixture
def old_file(tmp_path):
    old = OldApp(tmp_path / "old.sqlite3")
    old.user(1, "usuario.desconocido", "nadie@viejo.example")
    old.submission(
        1, datetime(2025, 5, 2, 10, 0, tzinfo=UTC), nombre_y_apellido="Marta Vieja", assigned_user_id=1
    )
    old.history(1, None, "pendiente", datetime(2025, 5, 2, 10, 0, tzinfo=UTC))
    old.save()
    return old.path


@pytest.fixture(autouse=True)
def upload_root(settings, tmp_path):
    settings.LEGACY_IMPORT_ROOT = tmp_path / "uploads"
    settings.LEGACY_DATABASE_URL = ""
    return settings.LEGACY_IMPORT_ROOT


def upload(path, name="db.sqlite3"):
    return SimpleUploadedFile(name, path.read_bytes(), content_type="application/octet-stream")


@pytest.mark.django_db
def test_an_admin_uploads_the_old_file_and_reads_the_report(
    client, admin_user, old_file, upload_root, django_capture_on_commit_callbacks
):
    sign_in_fully(client, admin_user)
    assert client.get(reverse("legacy:index")).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("legacy:index"), {"database": upload(old_file), "dry_run": ""})

    run = LegacyImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("legacy:run", args=[run.pk])
    assert (run.state, run.report["created"], run.started_by) == ("done", 1, admin_user)
    assert Lead.objects.get().contact_name == "Marta Vieja"
    assert list(upload_root.iterdir()) == []
    page = client.get(reverse("legacy:run", args=[run.pk])).content.decode()
    assert "usuario.desconocido" in page and "nadie@viejo.example" in page
    assert "db.sqlite3" in client.get(reverse("legacy:index")).content.decode()


@pytest.mark.django_db
def test_a_dry_run_of_the_configured_database_changes_nothing(
    client, admin_user, old_file, settings, django_capture_on_commit_callbacks
):
    settings.LEGACY_DATABASE_URL = f"sqlite:///{old_file}"
    sign_in_fully(client, admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("legacy:index"), {"dry_run": "on"})

    run = LegacyImport.objects.get()
    assert (run.state, run.dry_run, run.report["created"]) == ("done", True, 1)
    assert Lead.objects.count() == 0
    assert "dry run" in client.get(reverse("legacy:run", args=[run.pk])).content.decode()


@pytest.mark.django_db
def test_what_is_not_the_old_database_is_refused_clearly(client, admin_user, tmp_path):
    sign_in_fully(client, admin_user)
    csv = tmp_path / "leads.csv"
    csv.write_bytes(b"\x00\x01binary renamed")

    refused = client.post(reverse("legacy:index"), {"database": upload(csv, "leads.sqlite3")})
    nothing = client.post(reverse("legacy:index"), {})

    assert refused.status_code == 400 and "not an SQLite database" in refused.content.decode()
    assert nothing.status_code == 400 and "no old database is configured" in nothing.content.decode()
    assert LegacyImport.objects.count() == 0


@pytest.mark.django_db
def test_a_run_that_fails_says_why(
    client, admin_user, tmp_path, settings, django_capture_on_commit_callbacks
):
    not_old = tmp_path / "other.sqlite3"
    import sqlite3

    sqlite3.connect(not_old).execute("CREATE TABLE t (x)").connection.commit()
    sign_in_fully(client, admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("legacy:index"), {"database": upload(not_old)})
    run = LegacyImport.objects.get()
    assert run.state == "failed" and "not the old Leads Manager" in run.error
    assert "not the old Leads Manager" in client.get(reverse("legacy:run", args=[run.pk])).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["manager", "employee", "marketer"])
def test_only_admins_reach_the_import(role, request, client, old_file):
    person = request.getfixturevalue(role)
    run = LegacyImport.objects.create(source="reservado-viejo.sqlite3", report={"created": 1})
    sign_in_fully(client, person)

    for url in (reverse("legacy:index"), reverse("legacy:run", args=[run.pk])):
        response = client.get(url)
        assert response.status_code in (302, 403)
        assert "reservado-viejo" not in response.content.decode()
    client.post(reverse("legacy:index"), {"database": upload(old_file)})
    assert LegacyImport.objects.count() == 1
    assert person.role != Role.ADMIN


@pytest.mark.django_db
def test_an_unknown_run_is_not_found(client, admin_user):
    sign_in_fully(client, admin_user)
    assert client.get(reverse("legacy:run", args=[999999])).status_code == 404
