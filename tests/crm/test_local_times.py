"""One time zone everywhere: pages and exports show ``TIME_ZONE`` (Buenos Aires) time, never UTC.

The known instant is 2026-03-02 12:30 UTC, 09:30 in Buenos Aires (UTC-03:00 all year).
"""

import csv
import datetime
import io
import zoneinfo

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from wagtail.models import ModelLogEntry

from crm.intake import LeadData, create_lead
from crm.models import Lead
from forms_builder.models import LeadFormSubmission
from tests.forms_support import make_form_page
from wordpress.models import SourceForm, SyncRun, WordPressSource

INSTANT = datetime.datetime(2026, 3, 2, 12, 30, tzinfo=datetime.UTC)
LOCAL_TEXT = "March 2, 2026, 9:30 a.m."
UTC_TEXT = "12:30 p.m."
BUENOS_AIRES = zoneinfo.ZoneInfo("America/Argentina/Buenos_Aires")


@pytest.fixture
def lead(brands, admin_user):
    lead = create_lead(LeadData(brand=brands["intralog"], contact_name="Ana Hora"), actor=admin_user)
    Lead.objects.filter(pk=lead.pk).update(
        received_at=INSTANT, submitted_at=INSTANT, first_contacted_at=INSTANT, last_activity_at=INSTANT
    )
    return Lead.objects.get(pk=lead.pk)


def test_lead_page_fields_are_in_local_time(lead, admin_user, client_for):
    page = client_for(admin_user).get(reverse("crm_leads:inspect", args=[lead.pk])).content.decode()
    fields = page.split('data-section="system"')[1]
    assert LOCAL_TEXT in fields
    assert UTC_TEXT not in fields


def test_sync_run_page_is_in_local_time(brands, admin_user, client_for):
    source = WordPressSource.objects.create(
        name="Sitio", slug="sitio", shape="legacy", url="http://127.0.0.1:9/forms", username="u"
    )
    SourceForm.objects.create(source=source, form_id="3", brand=brands["intralog"])
    run = SyncRun.objects.create(
        source=source, started_at=INSTANT, finished_at=INSTANT, status=SyncRun.Status.SUCCEEDED
    )
    page = client_for(admin_user).get(reverse("wordpress_run:inspect", args=[run.pk])).content.decode()
    assert LOCAL_TEXT in page and UTC_TEXT not in page
    assert str(run) == "Sitio · 2026-03-02 09:30"


def clock_text(moment):
    """ ", 9:30 a.m."-style time as the English admin prints it (never on the hour: no "noon")."""
    return f", {moment.hour % 12 or 12}:{moment.minute:02d} {'a.m.' if moment.hour < 12 else 'p.m.'}"


def test_sign_in_lock_page_is_in_local_time(admin_user, client_for):
    # Expired locks are cleaned up at every sign-in, so the lock is from a few minutes ago.
    moment = timezone.now().replace(second=0, microsecond=0) - datetime.timedelta(minutes=2)
    if moment.minute == 0:
        moment -= datetime.timedelta(minutes=1)
    lock = AccessAttempt.objects.create(
        username="someone", ip_address="10.0.0.1", user_agent="test", failures_since_start=5
    )
    AccessAttempt.objects.filter(pk=lock.pk).update(attempt_time=moment)
    page = client_for(admin_user).get(reverse("crm_sign_in_locks:inspect", args=[lock.pk])).content.decode()
    assert clock_text(moment.astimezone(BUENOS_AIRES)) in page
    assert clock_text(moment.astimezone(datetime.UTC)) not in page


def test_lead_csv_export_states_local_time_with_its_offset(lead, admin_user, client_for):
    response = client_for(admin_user).get(reverse("crm_leads:list") + "?export=csv")
    body = b"".join(response.streaming_content).decode()
    (row,) = list(csv.DictReader(io.StringIO(body)))
    assert row["Received"] == "2026-03-02T09:30:00-03:00"
    assert row["First contacted"] == "2026-03-02T09:30:00-03:00"


def test_lead_xlsx_export_holds_local_time_under_a_heading_with_the_offset(lead, admin_user, client_for):
    response = client_for(admin_user).get(reverse("crm_leads:list") + "?export=xlsx")
    sheet = load_workbook(io.BytesIO(response.getvalue())).active
    headings, values = ([cell.value for cell in row] for row in sheet.iter_rows(max_row=2))
    row = dict(zip(headings, values, strict=True))
    assert row["Received (UTC-03:00)"] == datetime.datetime(2026, 3, 2, 9, 30)
    assert row["First contacted (UTC-03:00)"] == datetime.datetime(2026, 3, 2, 9, 30)


def test_dashboard_csv_states_local_time_with_its_offset(lead, admin_user, client_for):
    query = "period=custom&start=2026-03-01&end=2026-03-31&export=latest"
    response = client_for(admin_user).get(f"{reverse('dashboards:overview')}?{query}")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    received = rows[0].index("Submitted")
    assert [row[received] for row in rows[1:]] == ["2026-03-02T09:30:00-03:00"]


def test_site_history_csv_states_local_time_with_its_offset(lead, admin_user, client_for):
    ModelLogEntry.objects.filter(object_id=str(lead.pk)).update(timestamp=INSTANT)
    response = client_for(admin_user).get(reverse("wagtailadmin_reports:site_history") + "?export=csv")
    body = b"".join(response.streaming_content).decode()
    rows = [row for row in csv.DictReader(io.StringIO(body)) if row["Name"] == "Ana Hora"]
    assert rows
    assert {row["Date/Time"] for row in rows} == {"2026-03-02T09:30:00-03:00"}


def test_form_submission_csv_states_local_time_with_its_offset(brands, admin_user, client_for):
    page = make_form_page(brands["intralog"])
    submission = LeadFormSubmission.objects.create(page=page, form_data={"nombre_y_apellido": "Ana Hora"})
    LeadFormSubmission.objects.filter(pk=submission.pk).update(submit_time=INSTANT)
    url = reverse("wagtailforms:list_submissions", args=[page.pk]) + "?export=csv"
    body = b"".join(client_for(admin_user).get(url).streaming_content).decode()
    (row,) = list(csv.DictReader(io.StringIO(body)))
    assert row["Submission date"] == "2026-03-02T09:30:00-03:00"
