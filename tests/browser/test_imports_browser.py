"""A manager imports the sample spreadsheet in Chromium: uploads it, fixes one column, previews, imports,
sees the leads and reverts the import."""

from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from crm.models import Lead
from tests.browser.conftest import BROWSER_TEST
from tests.conftest import PASSWORD

pytestmark = [*BROWSER_TEST, pytest.mark.usefixtures("jobs_in_process")]

SAMPLE = Path(__file__).resolve().parents[2] / "imports" / "static" / "imports" / "sample-leads.csv"


def test_manager_imports_the_sample_and_reverts_it(sign_in, manager, settings, tmp_path):
    settings.IMPORTS_ROOT = tmp_path
    page = sign_in(manager.username, PASSWORD)
    page.goto(reverse("imports:index"))
    page.set_input_files("input[type=file]", str(SAMPLE))
    page.get_by_role("button", name="Upload").click()

    company = page.get_by_label("Organización")
    expect(company).to_have_value("")
    expect(page.get_by_label("Nombre y apellido")).to_have_value("contact_name")
    company.select_option("company")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("[data-import-preview]")
    expect(preview).to_contain_text("Logística del Sur SA")
    expect(preview).to_contain_text("+541143215678")
    expect(preview).to_contain_text("is not a valid address")

    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("[data-field=state_label]")).to_have_text("Done")
    expect(page.locator("[data-field=created]")).to_have_text("3")
    expect(page.locator("[data-field=errors]")).to_have_text("1")
    assert Lead.objects.get(contact_name="Lucía Fernández").company == "Logística del Sur SA"

    page.get_by_role("link", name="See the leads").click()
    expect(page.locator("main")).to_contain_text("Martín Acosta")
    expect(page.locator("main")).to_contain_text("Sofía Romero")
    page.go_back()

    page.get_by_role("button", name="Revert this import").click()
    expect(page.locator(".messages")).to_contain_text("Removed 3 leads")
    assert not Lead.objects.exists()
