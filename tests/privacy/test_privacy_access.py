"""Who may export and erase personal data, bad subjects, both brands, the request log, and an erasure in
the middle of a sync."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from crm.intake import LeadData, create_lead
from crm.models import Lead, Source
from privacy import services as privacy
from privacy.deadlines import due_on
from privacy.models import PrivacyRequest
from tests.fake_wordpress import *  # noqa: F403 - fixtures
from tests.two_factor_support import sign_in_fully
from wordpress.sync import sync_source

from .support import E164, EMAIL, MESSAGE, NAME, PHONE, find_person


def _lead(brand, **fields):
    values = {"contact_name": NAME, "email": EMAIL, "phone": PHONE, "message": MESSAGE, **fields}
    return create_lead(LeadData(brand=brand, source=Source.objects.get(key="phone"), **values))


@pytest.fixture
def both_brands(brands):
    return [_lead(brands["intralog"]), _lead(brands["intrapal"], company="Otra")]


def _grant(user):
    user.user_permissions.add(Permission.objects.get(codename="manage_personal_data"))
    return type(user).objects.get(pk=user.pk)


def _post(client, action, kind="email", subject=EMAIL, confirm=True):
    data = {"subject_kind": kind, "subject": subject, "action": action}
    if confirm:
        data["confirm"] = "on"
    return client.post(reverse("privacy:request"), data)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["manager", "other_manager", "employee", "marketer"])
def test_only_admins_reach_personal_data_actions(role, request, client, both_brands):
    user = request.getfixturevalue(role)
    sign_in_fully(client, user)
    refused = [
        client.get(reverse("privacy:request")),
        _post(client, "export_json"),
        _post(client, "erase"),
        client.get(reverse("privacy_request:index")),
    ]
    for response in refused:
        assert response.status_code in (302, 403)
        assert NAME not in response.content.decode()
        assert response.get("Location", "/admin/") == "/admin/"
    assert find_person(), "nothing was erased"
    assert not PrivacyRequest.objects.exists()


@pytest.mark.django_db
def test_an_admin_exports_json_and_a_readable_document(client, admin_user, both_brands):
    sign_in_fully(client, admin_user)
    assert client.get(reverse("privacy:request") + f"?lead={both_brands[0].pk}").status_code == 200
    response = _post(client, "export_json", "lead", str(both_brands[0].pk))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert {lead["id"] for lead in data["leads"]} == {lead.pk for lead in both_brands}
    document = _post(client, "export_html", "phone", "+54 9 11 6789-4321")
    assert document["Content-Disposition"].endswith('.html"')
    assert NAME in document.content.decode() and MESSAGE in document.content.decode()
    assert PrivacyRequest.objects.filter(action="export").count() == 2
    log = client.get(reverse("privacy_request:index"))
    assert log.status_code == 200
    inspect = client.get(reverse("privacy_request:inspect", args=[PrivacyRequest.objects.first().pk]))
    assert inspect.status_code == 200
    assert NAME not in inspect.content.decode() and EMAIL.lower() not in inspect.content.decode().lower()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        ("lead", "abc"),
        ("lead", "999999"),
        ("lead", "9" * 40),
        ("email", "no-es-un-mail"),
        ("phone", "12"),
        ("phone", "x" * 300),
        ("nothing", "a@b.example"),
    ],
)
def test_bad_subjects_are_form_errors(kind, subject, client, admin_user, both_brands):
    sign_in_fully(client, admin_user)
    response = _post(client, "erase", kind, subject)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not PrivacyRequest.objects.exists()


@pytest.mark.django_db
def test_erasing_needs_the_confirmation(client, admin_user, both_brands):
    sign_in_fully(client, admin_user)
    response = _post(client, "erase", confirm=False)
    assert response.status_code == 200 and "confirm" in response.context["form"].errors
    assert find_person()


@pytest.mark.django_db
def test_an_admin_erases_a_person_in_both_brands(client, admin_user, both_brands):
    sign_in_fully(client, admin_user)
    response = _post(client, "erase")
    assert response.status_code == 302
    logged = PrivacyRequest.objects.get()
    assert sorted(logged.brands) == ["intralog", "intrapal"]
    assert logged.outcome["erased"]["leads"] == 2
    assert find_person() == []
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.django_db
def test_a_manager_given_the_permission_acts_only_on_people_wholly_in_their_brands(
    client, manager, brands, both_brands
):
    manager = _grant(manager)
    sign_in_fully(client, manager)
    refused = _post(client, "erase")
    assert refused.status_code == 200
    assert "an admin must handle" in str(refused.context["form"].non_field_errors())
    assert find_person() and not PrivacyRequest.objects.exists()
    with pytest.raises(Exception, match="admin must handle"):
        privacy.export_person("email", EMAIL, manager)

    own = _lead(brands["intralog"], email="solo.intralog@privado-zq.example", phone="")
    assert _post(client, "erase", "email", "solo.intralog@privado-zq.example").status_code == 302
    assert Lead.objects.get(pk=own.pk).email == ""
    assert Lead.objects.get(pk=both_brands[0].pk).email == EMAIL.lower()


@pytest.mark.django_db
def test_an_email_with_no_lead_is_still_buried(admin_user, brands):
    privacy.erase_person("email", "nadie.todavia@privado-zq.example", admin_user)
    with pytest.raises(ValueError):
        _lead(brands["intralog"], email="Nadie.Todavia@privado-zq.example", phone="")


def test_the_due_date_is_five_business_days_out():
    from datetime import date

    assert due_on(date(2026, 12, 4)) == date(2026, 12, 11)  # a Friday: the next Friday
    assert due_on(date(2026, 12, 5)) == date(2026, 12, 11)  # a Saturday
    assert due_on(date(2026, 12, 7)) == date(2026, 12, 14)  # a Monday: the next Monday


@pytest.mark.django_db
def test_an_erasure_during_a_sync_leaves_nothing_behind(fake_wp, make_source, admin_user):
    """The person's first submission is stored, then erased between two pages; their second one, on a
    later page, and a full re-read afterwards bring nothing back."""
    person = {"Nombre y apellido": NAME, "Email": EMAIL, "Teléfono": PHONE, "Mensaje": MESSAGE}
    first = fake_wp.add("3", fields=person)
    for _ in range(5):
        fake_wp.add("3")
    second = fake_wp.add("3", fields={**person, "Mensaje": "Segunda vez ZQX-7781"})
    source = make_source(fake_wp, page_size=5)
    erased = []

    def between_pages(form, counts):
        if not erased and Lead.objects.filter(external_id=str(first)).exists():
            erased.append(privacy.erase_person("email", EMAIL, admin_user))

    run = sync_source(source, between_pages=between_pages)
    assert run.status == "succeeded" and erased
    assert not Lead.objects.filter(external_id=str(second)).exists()
    sync_source(source, full=True)
    assert find_person() == []
    assert Lead.objects.filter(pk__in=erased[0].lead_ids).count() == 1
    assert E164 not in json.dumps(list(Lead.objects.values_list("phone_e164", flat=True)))


@pytest.mark.django_db
def test_the_lead_page_links_admins_to_the_persons_data(client, admin_user, manager, both_brands):
    from crm.views.leads import lead_url

    link = reverse("privacy:request") + f"?lead={both_brands[0].pk}"
    sign_in_fully(client, admin_user)
    assert link in client.get(lead_url("inspect", both_brands[0])).content.decode().replace("&amp;", "&")
    client.logout()
    sign_in_fully(client, manager)
    page = client.get(lead_url("inspect", both_brands[0]))
    assert page.status_code == 200 and reverse("privacy:request") not in page.content.decode()
