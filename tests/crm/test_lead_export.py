"""Lead export: spreadsheet formulas are neutralised, HTML is escaped, filters and access are respected."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from crm.exports import neutralise_formula
from crm.intake import LeadData, create_lead
from crm.models import PipelineStatus
from crm.services import change_status

FORMULA_NAME = '=HYPERLINK("http://evil.example","x")'
SCRIPT = "<script>alert('x')</script>"


def listing_url(**params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return reverse("crm_leads:list") + (f"?{query}" if query else "")


def csv_rows(response):
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def xlsx_rows(response):
    sheet = load_workbook(io.BytesIO(response.getvalue())).active
    rows = list(sheet.iter_rows())
    headings = [cell.value for cell in rows[0]]
    return [dict(zip(headings, row, strict=True)) for row in rows[1:]]


@pytest.fixture
def hostile_lead(brands, admin_user):
    return create_lead(
        LeadData(
            brand=brands["intralog"],
            contact_name=FORMULA_NAME,
            company="+SUM(A1:A9)",
            email="@example",
            location="-2+3",
            message="\tTabbed\r",
            phone="011 4555-1234",
        ),
        actor=admin_user,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (12, 12),
        (None, None),
    ],
)
def test_neutralise_formula(value, expected):
    assert neutralise_formula(value) == expected


def test_csv_export_neutralises_formulas(hostile_lead, admin_user, client_for):
    response = client_for(admin_user).get(listing_url(export="csv"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="leads.csv"'
    (row,) = csv_rows(response)
    assert row["Contact name"] == "'" + FORMULA_NAME
    assert row["Company"] == "'+SUM(A1:A9)"
    assert row["Email"] == "'@example"
    assert row["Location"] == "'-2+3"
    assert row["Message"].startswith("'\t")
    assert row["ID"] == str(hostile_lead.pk)


def test_xlsx_export_neutralises_formulas(hostile_lead, admin_user, client_for):
    response = client_for(admin_user).get(listing_url(export="xlsx"))
    assert response.status_code == 200
    (row,) = xlsx_rows(response)
    assert row["Contact name"].value == "'" + FORMULA_NAME
    assert row["Contact name"].data_type == "s"
    assert row["Company"].value == "'+SUM(A1:A9)"
    assert row["Company"].data_type == "s"


def test_export_follows_filters(brands, manager, client_for):
    first = create_lead(LeadData(brand=brands["intralog"], contact_name="Primero"), actor=manager)
    create_lead(LeadData(brand=brands["intralog"], contact_name="Segundo"), actor=manager)
    change_status(first, "contacted", actor=manager)
    contacted = PipelineStatus.objects.get(key="contacted")
    response = client_for(manager).get(listing_url(export="csv", status=contacted.pk))
    assert [row["Contact name"] for row in csv_rows(response)] == ["Primero"]
    response = client_for(manager).get(listing_url(export="csv", q="segu"))
    assert [row["Contact name"] for row in csv_rows(response)] == ["Segundo"]


def test_export_is_refused_to_employees(brands, employee, client_for):
    response = client_for(employee).get(listing_url(export="csv"))
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtailadmin_home")


def test_listing_and_inspect_escape_html(brands, admin_user, client_for):
    lead = create_lead(
        LeadData(
            brand=brands["intralog"],
            contact_name=SCRIPT,
            company="<b>Bold</b>",
            message=SCRIPT,
            raw_payload={"name": SCRIPT, "html": "</pre><img src=x onerror=alert(1)>"},
        ),
        actor=admin_user,
    )
    client = client_for(admin_user)
    listing = client.get(listing_url()).content.decode()
    assert SCRIPT not in listing
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in listing
    assert "<b>Bold</b>" not in listing
    inspect = client.get(reverse("crm_leads:inspect", args=[lead.pk])).content.decode()
    assert SCRIPT not in inspect
    assert "<img src=x" not in inspect
    assert "&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;" in inspect
