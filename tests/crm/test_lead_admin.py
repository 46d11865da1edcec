"""The lead admin: listing filters, search, sorting, paging, create/edit through the services, actions."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from taggit.models import Tag
from wagtail.users.models import UserProfile

from crm import pagination
from crm.intake import LeadData, create_lead
from crm.models import Lead, LeadEvent, LostReason, PipelineStatus, Role, Source
from crm.services import assign
from tests.two_factor_support import sign_in_fully


def url(name, lead=None):
    return reverse(f"crm_leads:{name}", args=[lead.pk] if lead else [])


def assert_denied(response):
    """Wagtail answers a PermissionDenied in the admin with a redirect to the dashboard and a message."""
    assert response.status_code in (403, 404) or (
        response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")
    ), response.status_code


def listing(client, **params):
    response = client.get(url("list"), params)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def make_lead(brands):
    def make(name, brand="intralog", assignee=None, actor=None, **fields):
        lead = create_lead(LeadData(brand=brands[brand], contact_name=name, **fields), actor=actor)
        if assignee is not None:
            lead = assign(lead, assignee)
        return lead

    return make


def test_filters(make_lead, manager, employee, other_employee, client_for):
    make_lead("Asignado A Mi", assignee=manager)
    make_lead("De Empleado", assignee=employee)
    make_lead("Sin Asignar", email="nadie@example.com", tags=["feria"])
    client = client_for(manager)

    content = listing(client, assignee="mine")
    assert "Asignado A Mi" in content and "De Empleado" not in content and "Sin Asignar" not in content
    content = listing(client, assignee="unassigned")
    assert "Sin Asignar" in content and "De Empleado" not in content
    content = listing(client, assignee=employee.pk)
    assert "De Empleado" in content and "Sin Asignar" not in content

    pending = PipelineStatus.objects.get(key="pending")
    content = listing(client, status=pending.pk)
    assert "Sin Asignar" in content and "De Empleado" not in content
    content = listing(client, stage="new")
    assert "Sin Asignar" in content

    feria = Tag.objects.get(name="feria")
    content = listing(client, tags=feria.pk)
    assert "Sin Asignar" in content and "Asignado A Mi" not in content

    content = listing(client, q="NADIE@exa")
    assert "Sin Asignar" in content and "De Empleado" not in content

    content = listing(client, received_from="2000-01-01", received_to="2000-01-02")
    assert "Sin Asignar" not in content


def test_duplicates_filter(make_lead, manager, client_for):
    original = make_lead("Original", email="dup@example.com")
    copy = make_lead("Copia", email="dup@example.com")
    make_lead("Solo", email="solo@example.com")
    assert Lead.objects.get(pk=copy.pk).duplicate_of_id == original.pk
    client = client_for(manager)
    content = listing(client, duplicates="duplicate")
    assert "Copia" in content and "Solo" not in content and ">Original<" not in content
    content = listing(client, duplicates="original")
    assert "Original" in content and "Copia" not in content


def test_search_matches_phone_digits(make_lead, manager, client_for):
    make_lead("Telefono", phone="+54 11 4555-1234")
    make_lead("Otro", phone="+54 11 4999-0000")
    content = listing(client_for(manager), q="4555-1234")
    assert "Telefono" in content and "Otro" not in content


def test_sorting_by_name(make_lead, manager, client_for):
    make_lead("Bravo")
    make_lead("Alfa")
    make_lead("Charlie")
    content = listing(client_for(manager), ordering="contact_name")
    assert content.index("Alfa") < content.index("Bravo") < content.index("Charlie")
    content = listing(client_for(manager), ordering="-contact_name")
    assert content.index("Charlie") < content.index("Bravo") < content.index("Alfa")


def test_capped_count_paginator(make_lead, manager, client_for, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_CAP", 3)
    monkeypatch.setattr(pagination, "PAGES_AHEAD", 0)
    for number in range(5):
        make_lead(f"Lead {number}")
    queryset = Lead.objects.order_by("pk")
    paginator = pagination.CappedCountPaginator(queryset, 2, requested_page=1)
    assert paginator.count == 3
    assert paginator.is_capped
    assert "More than 3" in paginator.items_count_label
    deep = pagination.CappedCountPaginator(queryset, 2, requested_page=5)
    assert deep.count == 5
    assert not deep.is_capped
    assert listing(client_for(manager))


def test_status_badge_uses_status_colour(make_lead, manager, client_for):
    make_lead("Colorido")
    pending = PipelineStatus.objects.get(key="pending")
    pending.colour = "#123456"
    pending.save()
    assert "background-color: #123456" in listing(client_for(manager))
    pending.colour = "#z;}<x>"
    pending.save()
    content = listing(client_for(manager))
    assert "#z;}" not in content
    assert "background-color: #6b7280" in content


def test_listing_rows_escape_lead_text_and_offer_the_user_s_actions(
    make_lead, manager, admin_user, client_for
):
    lead = make_lead("<b>Ana</b> & Co", company="<i>Acme</i>", tags=["<x>caliente"])
    content = listing(client_for(manager))
    assert "&lt;b&gt;Ana&lt;/b&gt; &amp; Co" in content
    assert "&lt;i&gt;Acme&lt;/i&gt;" in content
    assert "&lt;x&gt;caliente" in content
    assert "<b>Ana" not in content and "<i>Acme" not in content
    assert f'id="snippet_{lead.pk}_title"' in content
    assert f'aria-describedby="snippet_{lead.pk}_title"' in content
    assert url("edit", lead) in content and url("inspect", lead) in content
    assert url("delete", lead) not in content
    assert url("delete", lead) in listing(client_for(admin_user))


def test_create_goes_through_the_service(brands, manager, client_for):
    phone = Source.objects.get(key="phone")
    response = client_for(manager).post(
        url("add"),
        {
            "brand": brands["intralog"].pk,
            "source": phone.pk,
            "contact_name": "Llamada Entrante",
            "company": "",
            "email": "",
            "phone": "011 4555 1234",
            "location": "",
            "service": "",
            "campaign": "",
            "message": "Necesito pallets",
        },
    )
    assert response.status_code == 302
    lead = Lead.objects.get(contact_name="Llamada Entrante")
    assert lead.source == phone
    assert lead.created_by == manager
    assert lead.phone_e164.startswith("+54")
    assert lead.events.filter(kind=LeadEvent.Kind.CREATED, actor=manager).exists()


def test_create_rejects_web_sources_and_empty_contacts(brands, manager, client_for):
    web = Source.objects.get(key="web_form")
    response = client_for(manager).post(
        url("add"), {"brand": brands["intralog"].pk, "source": web.pk, "priority": 2}
    )
    assert response.status_code == 200
    assert not Lead.objects.exists()


def test_employee_keeps_the_lead_they_create(brands, employee, client_for):
    walk_in = Source.objects.get(key="walk_in")
    response = client_for(employee).post(
        url("add"),
        {"brand": brands["intralog"].pk, "source": walk_in.pk, "contact_name": "En Mostrador"},
    )
    assert response.status_code == 302
    lead = Lead.objects.get(contact_name="En Mostrador")
    assert lead.assignee == employee
    assert response["Location"] == url("inspect", lead)


def test_employee_cannot_create_for_another_brand(brands, employee, client_for):
    walk_in = Source.objects.get(key="walk_in")
    response = client_for(employee).post(
        url("add"), {"brand": brands["intrapal"].pk, "source": walk_in.pk, "contact_name": "Ajeno"}
    )
    assert response.status_code == 200
    assert not Lead.objects.filter(contact_name="Ajeno").exists()


def test_edit_writes_one_edited_event(make_lead, manager, client_for):
    lead = make_lead("Antes", company="Vieja SA")
    response = client_for(manager).post(
        url("edit", lead),
        {
            "contact_name": "Despues",
            "company": "Vieja SA",
            "email": "",
            "phone": "",
            "location": "",
            "brand": lead.brand_id,
            "service": "",
            "source": "",
            "campaign": "",
            "priority": 3,
            "message": "",
            "management_note": "Llamar antes del viernes",
        },
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.contact_name, lead.priority, lead.management_note) == (
        "Despues",
        3,
        "Llamar antes del viernes",
    )
    event = lead.events.get(kind=LeadEvent.Kind.EDITED)
    assert set(event.data["changes"]) == {"contact_name", "priority", "management_note"}
    assert event.actor == manager


def test_employee_cannot_write_the_management_note_but_sees_it(make_lead, manager, employee, client_for):
    lead = make_lead("Con Nota", assignee=employee)
    client_for(manager).post(
        url("edit", lead),
        {
            "contact_name": "Con Nota",
            "brand": lead.brand_id,
            "priority": 2,
            "management_note": "Cliente grande, priorizar",
        },
    )
    client = Client()
    sign_in_fully(client, employee)
    response = client.post(
        url("edit", lead),
        {"contact_name": "Con Nota", "priority": 2, "management_note": "Borrado", "brand": ""},
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.management_note == "Cliente grande, priorizar"
    assert lead.brand.code == "intralog"
    inspect = client.get(url("inspect", lead)).content.decode()
    assert "Cliente grande, priorizar" in inspect


def test_lost_status_needs_a_reason(make_lead, manager, client_for):
    lead = make_lead("Perdido")
    lost = PipelineStatus.objects.get(key="not_viable")
    client = client_for(manager)
    response = client.post(url("change_status", lead), {"status": lost.pk, "note": "  "})
    assert response.status_code == 200
    assert "Give a reason" in response.content.decode()
    lead.refresh_from_db()
    assert lead.status.key == "pending"
    response = client.post(url("change_status", lead), {"status": lost.pk, "note": "Sin presupuesto"})
    assert response.status_code == 200
    assert "Give a reason" in response.content.decode()
    price = LostReason.objects.get(key="price")
    response = client.post(
        url("change_status", lead), {"status": lost.pk, "note": "Sin presupuesto", "lost_reason": price.pk}
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status.key == "not_viable" and lead.lost_reason == price
    assert lead.events.filter(kind=LeadEvent.Kind.STATUS_CHANGED, note="Sin presupuesto").exists()


def test_employee_cannot_move_a_lead_back(make_lead, employee, client_for):
    lead = make_lead("Adelante", assignee=employee)
    client = client_for(employee)
    contacted = PipelineStatus.objects.get(key="contacted")
    pending = PipelineStatus.objects.get(key="pending")
    assert client.post(url("change_status", lead), {"status": contacted.pk}).status_code == 302
    response = client.post(url("change_status", lead), {"status": pending.pk})
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.status == contacted


def test_contact_attempt_sets_first_contact(make_lead, employee, client_for):
    lead = make_lead("Contactar", assignee=employee)
    response = client_for(employee).post(
        url("contact", lead), {"channel": "whatsapp", "outcome": "left_message", "note": "Audio"}
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.first_contacted_at is not None
    event = lead.events.get(kind=LeadEvent.Kind.CONTACT_ATTEMPT)
    assert (event.channel, event.outcome, event.actor) == ("whatsapp", "left_message", employee)


def test_assignee_choices_are_active_people_of_the_brand(
    make_lead, manager, employee, intrapal_employee, make_user, client_for
):
    lead = make_lead("Para Asignar")
    make_user("retired", Role.EMPLOYEE, ("intralog",), is_active=False)
    client = client_for(manager)
    form = client.get(url("assign", lead)).context["form"]
    choices = set(form.fields["assignee"].queryset.values_list("username", flat=True))
    assert "employee1" in choices
    assert "employee3" not in choices and "retired" not in choices
    response = client.post(url("assign", lead), {"assignee": intrapal_employee.pk})
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.assignee is None
    response = client.post(url("assign", lead), {"assignee": employee.pk, "note": "Zona norte"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.assignee == employee


def test_merge_keeps_both_histories(make_lead, manager, client_for):
    original = make_lead("Original", email="same@example.com")
    duplicate = make_lead("Duplicado", email="same@example.com")
    response = client_for(manager).post(url("merge", duplicate), {"into": original.pk})
    assert response.status_code == 302
    assert response["Location"] == url("inspect", original)
    assert original.events.filter(kind=LeadEvent.Kind.MERGED).exists()
    assert duplicate.events.filter(kind=LeadEvent.Kind.MERGED).exists()
    inspect = client_for(manager).get(url("inspect", original)).content.decode()
    assert "Duplicado" in inspect


def test_merge_refuses_a_lead_outside_scope(make_lead, manager, client_for):
    mine = make_lead("Mio")
    other = make_lead("Ajeno", brand="intrapal")
    response = client_for(manager).post(url("merge", mine), {"into": other.pk})
    assert response.status_code == 200
    assert not LeadEvent.objects.filter(kind=LeadEvent.Kind.MERGED).exists()


def test_inspect_shows_timeline_duplicates_and_payload(make_lead, manager, employee, client_for):
    original = make_lead("Primera Vez", email="twice@example.com", raw_payload={"campo": "valor ñ"})
    repeat = make_lead("Segunda Vez", email="twice@example.com", assignee=employee)
    client = client_for(manager)
    content = client.get(url("inspect", original)).content.decode()
    assert "Segunda Vez" in content
    assert "valor ñ" in content
    assert "Timeline" in content
    content = client.get(url("inspect", repeat)).content.decode()
    assert "Primera Vez" in content
    assert content.index('data-event-kind="assigned"') < content.index('data-event-kind="created"')


def test_timeline_names_statuses_and_fields_not_their_keys(make_lead, manager, employee, client_for):
    from crm.services import change_status, edit_lead

    lead = make_lead("Etiquetas", assignee=employee)
    change_status(lead, "quoted", manager)
    edit_lead(lead, manager, {"company": "Nueva SA", "location": "Rosario"})
    content = client_for(manager).get(url("inspect", lead)).content.decode()
    assert "Assigned → Quoted" in content
    assert "Changed: Company, Location" in content
    assert "assigned → to_quote" not in content


def test_actions_are_post_only_for_changes_and_need_csrf(make_lead, manager):
    lead = make_lead("Csrf")
    client = Client(enforce_csrf_checks=True)
    sign_in_fully(client, manager)
    response = client.post(url("note", lead), {"note": "sin token"})
    assert response.status_code == 403
    assert not lead.events.filter(kind=LeadEvent.Kind.NOTE).exists()
    assert client.get(url("note", lead), {"note": "por get"}).status_code == 200
    assert not lead.events.filter(kind=LeadEvent.Kind.NOTE).exists()


def test_bulk_assign_and_status(make_lead, manager, employee, client_for):
    first, second = make_lead("Uno"), make_lead("Dos")
    outside = make_lead("Fuera", brand="intrapal")
    client = client_for(manager)
    bulk = reverse("wagtail_bulk_action", args=("crm", "lead", "assign"))
    query = f"?id={first.pk}&id={second.pk}&id={outside.pk}"
    page = client.get(bulk + query).content.decode()
    assert "Uno" in page and "Fuera" not in page
    response = client.post(bulk + query, {"assignee": employee.pk, "note": "Reparto"})
    assert response.status_code == 302
    assert set(Lead.objects.filter(assignee=employee).values_list("contact_name", flat=True)) == {
        "Uno",
        "Dos",
    }
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.ASSIGNED, actor=manager).count() == 2
    outside.refresh_from_db()
    assert outside.assignee is None

    status_bulk = reverse("wagtail_bulk_action", args=("crm", "lead", "change_status"))
    lost = PipelineStatus.objects.get(key="not_advanced")
    response = client.post(status_bulk + query, {"status": lost.pk, "note": ""})
    assert response.status_code == 200
    assert not Lead.objects.filter(status=lost).exists()
    response = client.post(status_bulk + query, {"status": lost.pk, "note": "Sin respuesta"})
    assert response.status_code == 200
    assert not Lead.objects.filter(status=lost).exists()
    no_answer = LostReason.objects.get(key="no_answer")
    response = client.post(status_bulk + query, {"status": lost.pk, "note": "", "lost_reason": no_answer.pk})
    assert response.status_code == 302
    assert Lead.objects.filter(status=lost).count() == 2
    assert Lead.objects.filter(status=lost, lost_reason=no_answer).count() == 2


def test_my_leads_landing(make_lead, employee, client_for):
    make_lead("Mi Cliente", assignee=employee)
    client = client_for(employee)
    response = client.get(url("mine"))
    assert response.status_code == 302
    assert response["Location"] == url("list") + "?assignee=mine"
    listing_page = client.get(response["Location"]).content.decode()
    assert "My leads" in listing_page and "Mi Cliente" in listing_page
    home = client.get(reverse("wagtailadmin_home")).content.decode()
    assert "crm-my-leads" in home
    assert "Mi Cliente" in home
    assert url("mine") in home


def test_marketing_sees_no_lead_menu_or_panel(marketer, client_for):
    client = client_for(marketer)
    home = client.get(reverse("wagtailadmin_home")).content.decode()
    assert url("mine") not in home
    assert url("list") not in home
    assert "crm-my-leads" not in home
    assert_denied(client.get(url("mine")))


def test_nobody_but_admins_may_delete(make_lead, manager, admin_user, client_for):
    lead = make_lead("Borrable")
    assert_denied(client_for(manager).get(url("delete", lead)))
    response = client_for(admin_user).post(url("delete", lead))
    assert response.status_code == 302
    assert not Lead.objects.filter(pk=lead.pk).exists()


def test_lead_chooser_search(make_lead, manager, client_for):
    bravo = make_lead("Bravo Chooser")
    make_lead("Alfa Chooser")
    make_lead("Bravo Ajeno", brand="intrapal")
    client = client_for(manager)
    content = client.get(reverse("crm_lead_chooser:choose_results"), {"q": "bravo"}).content.decode()
    assert "Bravo Chooser" in content and "Alfa Chooser" not in content and "Bravo Ajeno" not in content
    content = client.get(reverse("crm_lead_chooser:choose_results"), {"q": f"#{bravo.pk}"}).content.decode()
    assert "Bravo Chooser" in content and "Alfa Chooser" not in content


def test_sources_are_named_in_the_reader_s_language(make_lead, manager, client_for):
    phone = Source.objects.get(key="phone")
    with translation.override("es-ar"):
        assert str(phone) == "Teléfono"
    with translation.override("en"):
        assert str(phone) == "Phone"
    make_lead("Llamó", source=phone)
    profile = UserProfile.get_for_user(manager)
    profile.preferred_language = "es-ar"
    profile.save()
    assert "Teléfono" in listing(client_for(manager))
