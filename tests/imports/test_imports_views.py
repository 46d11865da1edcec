"""The import pages: who may open them, the flow from upload to revert, bad input answered clearly."""

import csv
import io

import pytest
from django.urls import reverse

from crm.models import Lead
from imports import services
from imports.models import ImportRun
from tests.two_factor_support import sign_in_fully

from .support import ROWS, csv_bytes, upload

pytestmark = pytest.mark.django_db


def test_employees_and_marketing_may_not_import(client, employee, marketer):
    for user in (employee, marketer):
        sign_in_fully(client, user)
        for response in (
            client.get(reverse("imports:index")),
            client.post(reverse("imports:index"), {"file": upload(csv_bytes(ROWS))}),
        ):
            assert (response.status_code, response.url) == (302, reverse("wagtailadmin_home"))
    assert not ImportRun.objects.exists()


def test_a_manager_cannot_upload_for_a_brand_they_do_not_hold(client, manager, brands):
    sign_in_fully(client, manager)
    response = client.post(
        reverse("imports:index"), {"brand": brands["intrapal"].pk, "file": upload(csv_bytes(ROWS))}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_another_brands_run_is_not_found(client, manager, other_manager, brands):
    run = services.receive_file(other_manager, brands["intrapal"], upload(csv_bytes(ROWS)))
    sign_in_fully(client, manager)
    for name in ("run", "progress", "errors"):
        assert client.get(reverse(f"imports:{name}", args=[run.pk])).status_code == 404
    for name in ("revert", "resume"):
        assert client.post(reverse(f"imports:{name}", args=[run.pk])).status_code == 404
    assert client.get(reverse("imports:run", args=[987654])).status_code == 404


def test_a_50_mb_upload_is_answered_with_a_message(client, manager, brands):
    sign_in_fully(client, manager)
    content = csv_bytes(ROWS) + b"x" * (50 * 1024 * 1024)
    response = client.post(
        reverse("imports:index"), {"brand": brands["intralog"].pk, "file": upload(content)}
    )
    assert response.status_code == 200
    assert "the largest accepted is 40.0 MB" in response.content.decode()


def test_upload_map_preview_import_and_revert(client, manager, brands, django_capture_on_commit_callbacks):
    sign_in_fully(client, manager)
    response = client.post(
        reverse("imports:index"), {"brand": brands["intralog"].pk, "file": upload(csv_bytes(ROWS))}
    )
    run = ImportRun.objects.get()
    assert response.url == reverse("imports:run", args=[run.pk])
    page = client.get(response.url).content.decode()
    assert 'value="contact_name" selected' in page
    assert "+541145551234" in page  # the preview shows the normalised phone
    assert "is not a valid address" in page
    columns = {f"column_{index}": target for index, target in enumerate(run.mapping["columns"])}
    columns["column_1"] = "location"  # "Razón social" goes to the location instead
    preview = client.post(response.url, {**columns, "mode": "create", "action": "preview"})
    assert preview.status_code == 200
    run.refresh_from_db()
    assert run.mapping["columns"][1] == "location" and run.state == "draft"
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(response.url, {**columns, "mode": "create", "action": "start"})
    assert started.status_code == 302
    assert Lead.objects.get(contact_name="Ana Pérez").location == "Frío SA"
    progress = client.get(reverse("imports:progress", args=[run.pk])).json()
    assert (progress["state"], progress["created"], progress["errors"], progress["percent"]) == (
        "done",
        3,
        1,
        100,
    )
    page = client.get(response.url).content.decode()
    assert "Revert this import" in page
    leads_url = f"{reverse('crm_leads:list')}?import_run={run.pk}"
    assert leads_url.replace("&", "&amp;") in page
    listing = client.get(leads_url).content.decode()
    assert "Ana Pérez" in listing and "Beto Díaz" in listing
    assert (
        "Ana Pérez" not in client.get(f"{reverse('crm_leads:list')}?import_run={run.pk + 1}").content.decode()
    )
    for crafted in ("abc", "-1", "1e99", "99999999999999999999999"):
        assert client.get(f"{reverse('crm_leads:list')}?import_run={crafted}").status_code == 200
    errors = client.get(reverse("imports:errors", args=[run.pk]))
    lines = list(csv.reader(io.StringIO(b"".join(errors.streaming_content).decode())))
    assert lines[0] == ["Row", "Error", "Row content"]
    assert lines[1][0] == "4"
    client.post(reverse("imports:revert", args=[run.pk]))
    assert not Lead.objects.exists()
    assert ImportRun.objects.get().state == "reverted"


def test_formula_cells_are_neutralised_in_the_errors_csv(
    client, manager, brands, django_capture_on_commit_callbacks
):
    rows = [["=cmd|' /C calc'!A0", "", "", "bad@", "", "", ""]]
    run = services.receive_file(manager, brands["intralog"], upload(csv_bytes(rows)))
    with django_capture_on_commit_callbacks(execute=True):
        services.start(run, manager, mode="create", send_alerts=False, remember=False)
    sign_in_fully(client, manager)
    body = b"".join(client.get(reverse("imports:errors", args=[run.pk])).streaming_content).decode()
    assert "'=cmd|" in body


@pytest.mark.parametrize("value", ["nope", "brand", "", "x" * 500])
def test_crafted_mapping_values_are_not_errors(client, manager, brands, value):
    run = services.receive_file(manager, brands["intralog"], upload(csv_bytes(ROWS)))
    sign_in_fully(client, manager)
    url = reverse("imports:run", args=[run.pk])
    response = client.post(url, {"column_0": value, "mode": value or "bogus", "action": "start"})
    assert response.status_code in (200, 302)
    run.refresh_from_db()
    assert run.state == "draft" or run.mapping["columns"][0] in ("", "contact_name")
