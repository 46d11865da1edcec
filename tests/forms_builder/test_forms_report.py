"""The per-form report against a hand computation on a small fixed dataset."""

import datetime

import pytest

from forms_builder.models import (
    FormDailyStats,
    FormFieldErrorDaily,
    LeadFormSubmission,
    RejectedSubmission,
    SubmissionBehaviour,
)
from forms_builder.reports import build_report
from tests.forms_support import make_form_page

DAY1, DAY2, OUTSIDE = datetime.date(2026, 1, 10), datetime.date(2026, 1, 11), datetime.date(2026, 1, 12)


@pytest.fixture
def dataset(brands):
    page = make_form_page(brands["intralog"])
    other = make_form_page(brands["intralog"], "Otro formulario")
    FormDailyStats.objects.create(page=page, day=DAY1, views=10, invalid_attempts=2)
    FormDailyStats.objects.create(page=page, day=DAY2, views=30, invalid_attempts=1)
    FormDailyStats.objects.create(page=page, day=OUTSIDE, views=100, invalid_attempts=9)
    FormDailyStats.objects.create(page=other, day=DAY1, views=7, invalid_attempts=7)
    FormFieldErrorDaily.objects.create(page=page, day=DAY1, field_name="email", errors=2)
    FormFieldErrorDaily.objects.create(page=page, day=DAY1, field_name="telefono", errors=1)
    FormFieldErrorDaily.objects.create(page=page, day=DAY2, field_name="email", errors=1)
    FormFieldErrorDaily.objects.create(page=page, day=OUTSIDE, field_name="email", errors=50)
    utms = [
        (DAY1, "google", "cpc", "invierno"),
        (DAY2, "google", "cpc", "invierno"),
        (DAY2, "facebook", "social", ""),
        (DAY2, "", "", ""),
        (OUTSIDE, "google", "cpc", "invierno"),
    ]
    for day, source, medium, campaign in utms:
        record = LeadFormSubmission.objects.create(page=page, form_data={})
        SubmissionBehaviour.objects.create(
            submission=record,
            page=page,
            day=day,
            device="desktop",
            utm_source=source,
            utm_medium=medium,
            utm_campaign=campaign,
        )
    record = LeadFormSubmission.objects.create(page=other, form_data={})
    SubmissionBehaviour.objects.create(submission=record, page=other, day=DAY1, device="desktop")
    for day, reason in [(DAY1, "honeypot"), (DAY2, "too_fast"), (OUTSIDE, "honeypot")]:
        RejectedSubmission.objects.create(page=page, day=day, reason=reason)
    return page


@pytest.mark.django_db
def test_report_numbers_match_the_hand_computation(dataset):
    report = build_report(dataset, DAY1, DAY2)
    assert report.views == 10 + 30
    assert report.submissions == 4
    assert report.conversion == pytest.approx(4 / 40)
    assert report.invalid_attempts == 3
    assert report.attempts == 7
    assert report.error_rate == pytest.approx(3 / 7)
    assert [(row.field_name, row.label, row.errors) for row in report.field_errors] == [
        ("email", "Email", 3),
        ("telefono", "Teléfono", 1),
    ]
    assert [row.rate for row in report.field_errors] == pytest.approx([3 / 7, 1 / 7])
    assert [(r["utm_source"], r["utm_medium"], r["utm_campaign"], r["total"]) for r in report.by_utm] == [
        ("google", "cpc", "invierno", 2),
        ("", "", "", 1),
        ("facebook", "social", "", 1),
    ]
    assert report.rejected_total == 2


@pytest.mark.django_db
def test_report_view_and_csv_for_marketing(dataset, marketer, client_for, django_assert_max_num_queries):
    client = client_for(marketer)
    url = f"/admin/lead-forms/reports/{dataset.pk}/?start=2026-01-10&end=2026-01-11"
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["report"].views == 40
    body = response.content.decode()
    assert '<td data-metric="conversion">10.0 %</td>' in body
    assert '<td data-metric="error_rate">42.9 %</td>' in body
    assert "<td>Email</td><td>3</td><td>42.9 %</td>" in body

    csv_response = client.get(url + "&export=csv")
    assert csv_response["Content-Type"].startswith("text/csv")
    rows = csv_response.content.decode().splitlines()
    assert "Views,40" in rows and "Submissions,4" in rows and "Conversion,0.1000" in rows
    assert "Invalid attempts,3" in rows and "Error rate,0.4286" in rows
    assert "Email,3,0.4286" in rows and "Teléfono,1,0.1429" in rows
    assert "google,cpc,invierno,2" in rows and "facebook,social,,1" in rows

    index = client.get("/admin/lead-forms/reports/?start=2026-01-10&end=2026-01-11")
    rows = {row["page"].pk: row for row in index.context["rows"]}
    assert (rows[dataset.pk]["views"], rows[dataset.pk]["submissions"]) == (40, 4)
    assert rows[dataset.pk]["conversion"] == pytest.approx(0.1)


@pytest.mark.django_db
def test_invalid_range_falls_back_with_an_error(dataset, marketer, client_for):
    response = client_for(marketer).get(
        f"/admin/lead-forms/reports/{dataset.pk}/?start=2026-02-01&end=2026-01-01"
    )
    assert response.status_code == 200
    assert "The start date must not be after the end date." in response.content.decode()


@pytest.mark.django_db
def test_both_report_pages_show_conversion_as_one_localised_percentage(dataset, marketer, client_for):
    from wagtail.users.models import UserProfile

    client = client_for(marketer)
    dates = "?start=2026-01-10&end=2026-01-11"
    detail = client.get(f"/admin/lead-forms/reports/{dataset.pk}/{dates}").content.decode()
    index = client.get(f"/admin/lead-forms/reports/{dates}").content.decode()
    assert '<td data-metric="conversion">10.0 %</td>' in detail
    assert '<td data-metric="conversion">10.0 %</td>' in index

    profile = UserProfile.get_for_user(marketer)
    profile.preferred_language = "es-ar"
    profile.save()
    detail = client.get(f"/admin/lead-forms/reports/{dataset.pk}/{dates}").content.decode()
    index = client.get(f"/admin/lead-forms/reports/{dates}").content.decode()
    assert '<td data-metric="conversion">10,0 %</td>' in detail
    assert '<td data-metric="error_rate">42,9 %</td>' in detail
    assert '<td data-metric="conversion">10,0 %</td>' in index
