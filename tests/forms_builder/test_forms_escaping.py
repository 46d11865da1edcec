"""Hostile and bad input: field errors, nothing half-stored, everything escaped wherever it is shown."""

import pytest
from django.core import mail
from django.core.cache import cache

from crm.models import Lead
from forms_builder.jobs import send_submission_notification
from forms_builder.models import LeadFormSubmission, SubmissionBehaviour
from forms_builder.reports import build_report, report_csv
from tests.forms_support import VALID, make_form_page, submission

SCRIPT = "<script>alert('x')</script>"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Every test starts with no submissions counted against its client address."""
    cache.clear()


@pytest.fixture
def form_page(brands, manager):
    return make_form_page(brands["intralog"], to_address=manager.email)


def _nothing_stored():
    return not (
        Lead.objects.exists() or LeadFormSubmission.objects.exists() or SubmissionBehaviour.objects.exists()
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "no-es-un-mail", "Enter a valid email address."),
        ("email", "juan@gmail.con", "Enter a valid email address."),
        ("telefono", "12", "Enter a valid phone number"),
        ("telefono", "1,5E+10", "Enter a valid phone number"),
        ("nombre_y_apellido", "N" * 201, "Ensure this value has at most 200 characters"),
        ("mensaje", "m" * 5001, "Ensure this value has at most 5000 characters"),
        ("me_interesa_el_servicio", "Algo que no está", "Select a valid choice."),
        ("nombre_y_apellido", "", "This field is required."),
    ],
)
def test_bad_input_shows_a_field_error_and_stores_nothing(client, form_page, field, value, message):
    response = client.post(form_page.url, submission(form_page, dict(VALID, **{field: value})))
    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors
    assert message in str(form.errors[field])
    assert f'id="id_{field}_error"' in response.content.decode()
    assert _nothing_stored()


@pytest.mark.django_db
def test_hostile_input_is_echoed_escaped_in_the_form(client, form_page):
    response = client.post(
        form_page.url, submission(form_page, dict(VALID, nombre_y_apellido=SCRIPT, email=SCRIPT))
    )
    body = response.content.decode()
    assert SCRIPT not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body
    assert _nothing_stored()


@pytest.mark.django_db
def test_unicode_html_and_script_are_stored_as_text_and_escaped_when_shown(
    client, form_page, admin_user, client_for
):
    values = dict(
        VALID,
        nombre_y_apellido=f"Zoë 李 {SCRIPT}",
        mensaje='<img src=x onerror="alert(1)"> ¡Hola! 🚚\u200b',
        ubicacion="<b>San Martín</b>",
    )
    client.post(form_page.url, submission(form_page, values))
    lead = Lead.objects.get()
    assert lead.contact_name == f"Zoë 李 {SCRIPT}"
    assert lead.message == '<img src=x onerror="alert(1)"> ¡Hola! 🚚'
    assert lead.location == "<b>San Martín</b>"

    admin = client_for(admin_user)
    listing = admin.get(f"/admin/forms/submissions/{form_page.pk}/").content.decode()
    assert SCRIPT not in listing and "<img src=x" not in listing
    assert "&lt;script&gt;" in listing

    mail.outbox.clear()
    send_submission_notification(LeadFormSubmission.objects.get().pk)
    assert SCRIPT in mail.outbox[0].body  # plain text mail: no HTML to escape, nothing rendered


@pytest.mark.django_db
def test_hostile_utm_and_labels_are_escaped_in_the_report_and_defused_in_csv(
    client, brands, marketer, client_for
):
    page = make_form_page(brands["intralog"], "Formulario <i>raro</i>")
    client.get("/?utm_source=%3Cscript%3Ealert(1)%3C/script%3E&utm_campaign=%3Dcmd|calc")
    client.post(page.url, submission(page))
    response = client_for(marketer).get(f"/admin/lead-forms/reports/{page.pk}/")
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<i>raro</i>" not in body
    report = build_report(page, *response.context["range_form"].range())
    assert "'=cmd|calc" in report_csv(report)
