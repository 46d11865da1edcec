"""Staff-only forms, and who may do what: marketing builds and publishes form pages and sees reports but
no leads or submissions; employees use staff forms but do not edit pages."""

import pytest
from django.core.cache import cache
from wagtail.models import Page

from crm.models import Lead
from forms_builder.models import LeadFormPage, LeadFormSubmission
from home.models import HomePage
from tests.forms_support import make_form_page, submission

EMPTY_RICH_TEXT = '{"blocks": [], "entityMap": {}}'


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def home():
    return HomePage.objects.order_by("depth", "pk").first()


@pytest.fixture
def staff_form(brands):
    return make_form_page(brands["intralog"], "Alta telefónica", staff_only=True, source_key="phone")


@pytest.fixture
def public_form(client, brands):
    page = make_form_page(brands["intralog"])
    client.post(page.url, submission(page))
    client.logout()
    return page


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in_for_staff_only_forms(client, staff_form):
    response = client.get(staff_form.url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    response = client.post(staff_form.url, submission(staff_form))
    assert response.status_code == 302
    assert not Lead.objects.exists() and not LeadFormSubmission.objects.exists()


@pytest.mark.django_db
def test_employee_enters_a_phone_lead_recorded_with_source_and_creator(client_for, employee, staff_form):
    client = client_for(employee)
    response = client.get(staff_form.url)
    assert response.status_code == 200
    assert "private" in response["Cache-Control"]
    response = client.post(staff_form.url, submission(staff_form))
    assert "¡Gracias por escribirnos!" in response.content.decode()
    lead = Lead.objects.get()
    assert lead.source.key == "phone"
    assert lead.created_by == employee
    assert LeadFormSubmission.objects.get().created_by == employee
    assert lead.events.get(kind="created").actor == employee


@pytest.mark.django_db
def test_staff_are_not_rate_limited(client_for, employee, staff_form, settings):
    settings.LEAD_FORM_RATE_LIMIT = 1
    client = client_for(employee)
    for _ in range(3):
        client.post(staff_form.url, submission(staff_form))
    assert Lead.objects.count() == 3


@pytest.mark.django_db
def test_marketing_may_create_edit_and_publish_form_pages(client_for, marketer, home, brands, public_form):
    permissions = home.permissions_for_user(marketer)
    assert permissions.can_add_subpage() and permissions.can_publish_subpage()
    assert public_form.permissions_for_user(marketer).can_publish()
    client = client_for(marketer)
    assert client.get(f"/admin/pages/{public_form.pk}/edit/").status_code == 200

    add_url = f"/admin/pages/add/forms_builder/leadformpage/{home.pk}/"
    assert client.get(add_url).status_code == 200
    response = client.post(
        add_url,
        {
            "title": "Cotizá pallets",
            "slug": "cotiza-pallets",
            "intro": EMPTY_RICH_TEXT,
            "thank_you_text": EMPTY_RICH_TEXT,
            "brand": brands["intrapal"].pk,
            "submit_label": "Enviar",
            "to_address": "",
            "from_address": "",
            "subject": "",
            "form_fields-TOTAL_FORMS": "1",
            "form_fields-INITIAL_FORMS": "0",
            "form_fields-MIN_NUM_FORMS": "0",
            "form_fields-MAX_NUM_FORMS": "1000",
            "form_fields-0-label": "Email",
            "form_fields-0-field_type": "email",
            "form_fields-0-lead_field": "email",
            "form_fields-0-required": "on",
            "form_fields-0-ORDER": "1",
            "action-publish": "action-publish",
        },
    )
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    page = LeadFormPage.objects.get(slug="cotiza-pallets")
    assert page.live and page.brand == brands["intrapal"]
    assert [(f.clean_name, f.lead_field) for f in page.form_fields.all()] == [("email", "email")]


@pytest.mark.django_db
def test_marketing_sees_reports_but_no_submissions_or_lead_details(client_for, marketer, public_form):
    client = client_for(marketer)
    report = client.get(f"/admin/lead-forms/reports/{public_form.pk}/")
    assert report.status_code == 200
    assert report.context["report"].submissions == 1
    body = report.content.decode()
    assert "María José" not in body and "maria@example.com" not in body
    csv_text = client.get(f"/admin/lead-forms/reports/{public_form.pk}/?export=csv").content.decode()
    assert "Submissions,1" in csv_text and "María" not in csv_text

    submissions_url = f"/admin/forms/submissions/{public_form.pk}/"
    for response in (client.get(submissions_url), client.get(submissions_url + "?export=csv")):
        assert response.status_code in (302, 403)
        assert "María" not in response.content.decode()
    forged = client.post(f"/admin/forms/submissions/{public_form.pk}/delete/", {"selected-submissions": "1"})
    assert forged.status_code in (302, 403)
    assert LeadFormSubmission.objects.count() == 1
    forms_index = client.get("/admin/forms/")
    assert submissions_url not in forms_index.content.decode()


@pytest.mark.django_db
def test_admin_sees_the_submission_linked_to_its_lead(client_for, admin_user, public_form):
    response = client_for(admin_user).get(f"/admin/forms/submissions/{public_form.pk}/")
    assert response.status_code == 200
    assert "María José Ñandú" in response.content.decode()


@pytest.mark.django_db
def test_employees_do_not_edit_pages_or_see_reports_or_submissions(client_for, employee, home, public_form):
    assert not home.permissions_for_user(employee).can_add_subpage()
    assert not public_form.permissions_for_user(employee).can_edit()
    client = client_for(employee)
    title = public_form.title
    edit = client.post(f"/admin/pages/{public_form.pk}/edit/", {"title": "Hacked", "slug": "hacked"})
    assert edit.status_code in (302, 403)
    assert Page.objects.get(pk=public_form.pk).title == title
    assert client.get(f"/admin/pages/add/forms_builder/leadformpage/{home.pk}/").status_code in (302, 403)
    for url in (f"/admin/lead-forms/reports/{public_form.pk}/", "/admin/lead-forms/reports/"):
        response = client.get(url)
        assert response.status_code in (302, 403)
        assert "Views" not in response.content.decode()
    assert client.get(f"/admin/forms/submissions/{public_form.pk}/").status_code in (302, 403)


@pytest.mark.django_db
def test_reports_are_limited_to_the_marketers_brands(client_for, make_user, brands):
    from crm.models import Role

    intrapal_only = make_user("marketing2", Role.MARKETING, ("intrapal",))
    intralog_form = make_form_page(brands["intralog"])
    client = client_for(intrapal_only)
    assert client.get(f"/admin/lead-forms/reports/{intralog_form.pk}/").status_code == 404
    assert intralog_form.title not in client.get("/admin/lead-forms/reports/").content.decode()


@pytest.mark.django_db
def test_marketing_cannot_send_lead_notifications_to_itself_or_outside(client_for, marketer, home, brands):
    client = client_for(marketer)
    response = client.post(
        f"/admin/pages/add/forms_builder/leadformpage/{home.pk}/",
        {
            "title": "Fuga",
            "slug": "fuga",
            "intro": EMPTY_RICH_TEXT,
            "thank_you_text": EMPTY_RICH_TEXT,
            "brand": brands["intralog"].pk,
            "to_address": f"{marketer.email}, someone@outside.example",
            "form_fields-TOTAL_FORMS": "0",
            "form_fields-INITIAL_FORMS": "0",
            "form_fields-MIN_NUM_FORMS": "0",
            "form_fields-MAX_NUM_FORMS": "1000",
            "action-publish": "action-publish",
        },
    )
    assert response.status_code == 200
    assert "to_address" in response.context["form"].errors
    assert not LeadFormPage.objects.filter(slug="fuga").exists()
