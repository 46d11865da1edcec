"""The lead page: a header to work from (status moves, contact actions, flags), the timeline in words with
its filter, the fields by section, row-level access on the page and on its buttons, and a bounded cost."""

import datetime
import re
from html import unescape
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from crm import contact, followups, services
from crm.intake import LeadData, create_lead
from crm.models import ContactTemplate, FollowUp, Lead, LeadEvent, PipelineStatus, Role, Service
from tests.page_text import visible_text
from tests.test_raw_values import raw_values

pytestmark = pytest.mark.django_db


def page_url(lead):
    return reverse("crm_leads:inspect", args=[lead.pk])


@pytest.fixture(autouse=True)
def spanish_site(settings):
    """The site's default language, Spanish (the suite's settings read the public site in English)."""
    settings.SITE_LANGUAGE_CODE = "es-ar"


@pytest.fixture
def rep(make_user):
    return make_user("rep", Role.EMPLOYEE, ("intralog",), first_name="Rocío", last_name="Paz")


@pytest.fixture
def make_lead(brands, manager):
    def make(name="Marta Gómez", assignee=None, brand="intralog", **fields):
        lead = create_lead(LeadData(brand=brands[brand], contact_name=name, **fields), actor=manager)
        if assignee is not None:
            services.assign(lead, assignee, manager)
        return Lead.objects.select_related("status", "brand", "service").get(pk=lead.pk)

    return make


def html_of(client, lead, **params):
    response = client.get(page_url(lead), params)
    assert response.status_code == 200
    return response.content.decode()


def links(html, channel):
    """The hrefs of the page's contact links of ``channel`` (phone, whatsapp, email)."""
    return [unescape(href) for href in re.findall(rf'href="([^"]*)"[^>]*data-crm-contact="{channel}"', html)]


# Contact actions ----------------------------------------------------------------------------------------


def test_a_mobile_gets_call_whatsapp_and_email_with_the_brand_s_spanish_message(
    make_lead, rep, brands, client_for
):
    service, _created = Service.objects.get_or_create(brand=brands["intralog"], name="Almacenamiento")
    lead = make_lead(
        "Marta Gómez",
        rep,
        company="Pallets & Cía",
        phone="+54 9 11 5555-1234",
        email="marta@example.com",
        service=service,
    )
    ContactTemplate.objects.filter(brand=brands["intralog"], channel="whatsapp", language="es").update(
        body="Hola {name} de {company}, soy {rep}: ¿hablamos de {service}? {desconocido}"
    )
    html = html_of(client_for(rep), lead)

    assert links(html, "phone") == ["tel:+5491155551234"]
    whatsapp, whatsapp_english = links(html, "whatsapp")
    text = "Hola Marta Gómez de Pallets & Cía, soy Rocío Paz: ¿hablamos de Almacenamiento? {desconocido}"
    assert whatsapp == "https://wa.me/5491155551234?text=" + quote(text, safe="")
    assert parse_qs(urlsplit(whatsapp).query)["text"] == [text]
    email, email_english = links(html, "email")
    assert email.startswith("mailto:marta@example.com?subject=")
    query = parse_qs(urlsplit(email).query)
    assert query["subject"] == ["INTRALOG: tu consulta sobre Almacenamiento"]
    assert query["body"][0].startswith("Hola Marta Gómez:\n\nGracias por contactarte con INTRALOG")
    assert query["body"][0].endswith("Rocío Paz\nINTRALOG")
    # The same messages in English, one tap away.
    assert "Message in English:" in visible_text(html)
    english = parse_qs(urlsplit(whatsapp_english).query)["text"][0]
    assert english.startswith("Hello Marta Gómez, this is Rocío Paz from INTRALOG")
    assert parse_qs(urlsplit(email_english).query)["subject"] == [
        "INTRALOG: your enquiry about Almacenamiento"
    ]


def test_a_landline_gets_a_call_but_no_whatsapp(make_lead, rep, client_for):
    lead = make_lead(assignee=rep, phone="011 4555-1234")
    assert lead.phone_e164 == "+541145551234"
    html = html_of(client_for(rep), lead)
    assert links(html, "phone") == ["tel:+541145551234"]
    assert "wa.me" not in html
    assert links(html, "email") == []


def test_a_lead_without_phone_has_no_call_nor_whatsapp(make_lead, rep, client_for):
    lead = make_lead(assignee=rep, email="sin.telefono@example.com")
    html = html_of(client_for(rep), lead)
    assert 'data-crm-contact="phone"' not in html and "tel:" not in html
    assert "wa.me" not in html
    assert links(html, "email")[0].startswith("mailto:sin.telefono@example.com?")


def test_a_lead_with_nothing_to_reach_shows_no_contact_block(make_lead, rep, client_for):
    html = html_of(client_for(rep), make_lead(assignee=rep))
    assert "data-crm-contact=" not in html and "data-crm-contact-prompt" not in html


def test_a_lead_that_gave_its_language_is_written_to_in_it(make_lead, rep, client_for):
    lead = make_lead("John Smith", rep, phone="+54 9 351 555-1234", extra={"language": "en-GB"})
    [whatsapp] = links(html_of(client_for(rep), lead), "whatsapp")[:1]
    text = parse_qs(urlsplit(whatsapp).query)["text"][0]
    assert text.startswith("Hello John Smith, this is Rocío Paz from INTRALOG")
    assert "our services" in text  # no service asked for
    assert "Message in Spanish:" in visible_text(html_of(client_for(rep), lead))


def test_without_a_language_of_its_own_a_lead_is_written_to_in_the_site_s(make_lead, rep, settings):
    lead = make_lead(raw_payload={"lang": "klingon"})
    assert contact.lead_language(lead) == "es"
    settings.SITE_LANGUAGE_CODE = "en"
    assert contact.lead_language(lead) == "en"
    lead.raw_payload = {"idioma": "es-AR"}
    assert contact.lead_language(lead) == "es"


def test_filling_never_raises_and_tidies_what_is_missing():
    values = {"name": "", "company": "ACME", "rep": "Ana"}
    assert contact.fill("Hola {name}, soy {rep} {x} {} {{name}} {company!r}", values) == (
        "Hola, soy Ana {x} {} {} {company!r}"
    )
    assert contact.fill("", values) == ""
    assert contact.fill("{name}", {}) == "{name}"


def test_a_template_naming_an_unknown_placeholder_is_refused_by_the_form(brands):
    template = ContactTemplate(
        brand=brands["intralog"], channel="email", language="es", subject="{asunto}", body="Hola {nombre}"
    )
    with pytest.raises(Exception) as error:
        template.full_clean(validate_unique=False)
    assert "{asunto}" in str(error.value) and "{nombre}" in str(error.value)


def test_every_brand_has_its_templates_in_both_languages(brands):
    for brand in brands.values():
        keys = set(ContactTemplate.objects.filter(brand=brand).values_list("channel", "language"))
        assert keys == {("whatsapp", "es"), ("whatsapp", "en"), ("email", "es"), ("email", "en")}
    for template in ContactTemplate.objects.all():
        template.full_clean()


def test_using_a_contact_action_offers_to_log_it_and_the_log_sets_first_contact(make_lead, rep, client_for):
    lead = make_lead(assignee=rep, phone="+54 9 11 5555-1234")
    client = client_for(rep)
    html = html_of(client, lead)
    prompt = html.split("data-crm-contact-prompt", 1)[1].split("</form>", 1)[0]
    contact_url = reverse("crm_leads:contact", args=[lead.pk])
    assert f'action="{contact_url}"' in html
    assert set(re.findall(r'name="outcome" value="(\w+)"', prompt)) == set(LeadEvent.Outcome.values)
    response = client.post(
        contact_url, {"channel": "whatsapp", "outcome": "left_message", "note": "", "next": page_url(lead)}
    )
    assert response.status_code == 302 and response["Location"] == page_url(lead)
    lead.refresh_from_db()
    assert lead.first_contacted_at is not None
    event = lead.events.get(kind=LeadEvent.Kind.CONTACT_ATTEMPT)
    assert (event.channel, event.outcome, event.actor) == ("whatsapp", "left_message", rep)


# Header and status moves ---------------------------------------------------------------------------------


def test_header_shows_who_what_and_where_the_lead_stands(make_lead, rep, manager, brands, client_for):
    service, _created = Service.objects.get_or_create(brand=brands["intralog"], name="Transporte")
    lead = make_lead("Luis Pérez", rep, company="Fletes SA", service=service)
    lead = services.edit_lead(lead, manager, {"priority": 3})
    text = visible_text(html_of(client_for(manager), lead))
    header = text.split("Move to")[0]
    for expected in ("Luis Pérez", "Fletes SA", "INTRALOG · Transporte", "Assigned", "Rocío Paz", "High"):
        assert expected in header
    assert "Age" in header and "Next action First contact" in header
    assert "rep" not in header.split()


def test_a_lost_move_asks_its_reason_in_the_page(make_lead, rep, client_for):
    lead = make_lead(assignee=rep)
    html = html_of(client_for(rep), lead)
    not_viable = PipelineStatus.objects.get(key="not_viable")
    block = html.split(f'data-status-move="{not_viable.pk}"', 1)[1].split("</details>", 1)[0]
    assert 'name="note"' in block and "required" in block


def test_a_one_click_move_changes_the_status(make_lead, rep, client_for):
    lead = make_lead(assignee=rep)
    client = client_for(rep)
    contacted = PipelineStatus.objects.get(key="contacted")
    assert f'data-status-move="{contacted.pk}"' in html_of(client, lead)
    response = client.post(reverse("crm_leads:change_status", args=[lead.pk]), {"status": contacted.pk})
    assert response.status_code == 302 and response["Location"] == page_url(lead)
    lead.refresh_from_db()
    assert lead.status == contacted


# Follow-ups -----------------------------------------------------------------------------------------------


def test_next_action_and_open_follow_ups_with_their_buttons(make_lead, rep, client_for):
    lead = make_lead(assignee=rep)
    client = client_for(rep)
    text = visible_text(html_of(client, lead))
    assert "Next action First contact" in text and "No open follow-ups." in text
    assert reverse("crm_leads:follow_up", args=[lead.pk]) in html_of(client, lead)
    due = timezone.now() + datetime.timedelta(days=1)
    later = followups.schedule_follow_up(lead, rep, due_at=due + datetime.timedelta(days=3), kind="visit")
    first = followups.schedule_follow_up(lead, rep, due_at=due, kind="whatsapp", note="Mandar catálogo")
    html = html_of(client, lead)
    text = visible_text(html)
    assert re.search(r"Next action WhatsApp · \S+ \S+ [ap]\.m\.", text)
    block = html.split('data-section="follow-ups"', 1)[1].split("</section>", 1)[0]
    assert block.index(f'data-follow-up="{first.pk}"') < block.index(f'data-follow-up="{later.pk}"')
    assert "Mandar catálogo" in block and "Rocío Paz" in block
    for name in ("done", "cancel", "edit"):
        assert reverse(f"crm_leads:follow_up_{name}", args=[first.pk]) in block
    response = client.post(reverse("crm_leads:follow_up_done", args=[first.pk]))
    assert response.status_code == 302 and response["Location"] == page_url(lead)
    first.refresh_from_db()
    lead.refresh_from_db()
    assert first.state == "done" and lead.next_action_at == later.due_at
    assert "Next action Visit" in visible_text(html_of(client, lead))


def test_an_overdue_follow_up_is_marked(make_lead, rep, client_for):
    lead = make_lead(assignee=rep)
    follow_up = followups.schedule_follow_up(lead, rep, due_at=timezone.now() + datetime.timedelta(minutes=1))
    FollowUp.objects.filter(pk=follow_up.pk).update(due_at=timezone.now() - datetime.timedelta(hours=2))
    Lead.objects.filter(pk=lead.pk).update(next_action_at=timezone.now() - datetime.timedelta(hours=2))
    html = html_of(client_for(rep), lead)
    header = visible_text(html.split('class="crm-lead-header"', 1)[1].split("</header>", 1)[0])
    assert "Next action Call" in header and "Overdue" in header
    assert "crm-follow-up--overdue" in html


def test_a_move_that_needs_a_follow_up_date_asks_it_unless_one_is_open(make_lead, rep, client_for):
    lead = make_lead(assignee=rep)
    client = client_for(rep)
    to_quote = PipelineStatus.objects.get(key="to_quote")
    assert to_quote.requires_follow_up
    html = html_of(client, lead)
    block = html.split(f'data-status-move="{to_quote.pk}"', 1)[1].split("</details>", 1)[0]
    assert 'type="datetime-local"' in block and 'name="follow_up_at"' in block and "required" in block
    default = re.search(r'name="follow_up_at" value="([^"]+)"', block).group(1)
    response = client.post(
        reverse("crm_leads:change_status", args=[lead.pk]), {"status": to_quote.pk, "follow_up_at": default}
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == to_quote
    follow_up = FollowUp.objects.get(lead=lead, state="open")
    assert timezone.localtime(follow_up.due_at).strftime("%Y-%m-%dT%H:%M") == default
    postponed = PipelineStatus.objects.get(key="postponed")
    html = html_of(client, lead)
    assert f'data-status-move="{postponed.pk}"' in html
    moves = html.split('class="crm-moves"', 1)[1].split("</header>", 1)[0]
    assert 'name="follow_up_at"' not in moves  # an open follow-up: the move is one click


def test_another_employee_cannot_touch_a_follow_up(make_lead, rep, employee, client_for):
    lead = make_lead(assignee=rep)
    follow_up = followups.schedule_follow_up(lead, rep, due_at=timezone.now() + datetime.timedelta(days=1))
    client = client_for(employee)
    for name in ("done", "cancel", "edit"):
        response = client.post(reverse(f"crm_leads:follow_up_{name}", args=[follow_up.pk]))
        assert response.status_code in (403, 404), name
    follow_up.refresh_from_db()
    assert follow_up.state == "open"


# Access --------------------------------------------------------------------------------------------------


def test_an_employee_cannot_open_nor_work_another_s_lead(make_lead, employee, other_employee, client_for):
    theirs = make_lead("De Otro", other_employee, phone="+54 9 11 5555-1234")
    before = list(theirs.events.values_list("pk", flat=True))
    client = client_for(employee)
    assert client.get(page_url(theirs)).status_code == 404
    assert client.get(page_url(theirs), {"kind": "notes"}).status_code == 404
    contacted = PipelineStatus.objects.get(key="contacted")
    forged = [
        ("change_status", {"status": contacted.pk}),
        ("contact", {"channel": "whatsapp", "outcome": "reached"}),
        ("note", {"note": "forjada"}),
        ("assign", {"assignee": employee.pk}),
    ]
    for name, data in forged:
        response = client.post(reverse(f"crm_leads:{name}", args=[theirs.pk]), data)
        assert response.status_code in (403, 404), name
    theirs.refresh_from_db()
    assert theirs.status.key == "assigned" and theirs.assignee == other_employee
    assert theirs.first_contacted_at is None
    assert list(theirs.events.values_list("pk", flat=True)) == before


def test_managers_see_their_brands_pages_only(make_lead, manager, other_manager, client_for):
    lead = make_lead()
    assert client_for(manager).get(page_url(lead)).status_code == 200
    assert client_for(other_manager).get(page_url(lead)).status_code == 404


# Timeline ------------------------------------------------------------------------------------------------


@pytest.fixture
def worked(make_lead, rep, manager):
    manager.first_name, manager.last_name = "Martín", "Gerente"
    manager.save()
    lead = make_lead(assignee=rep)
    services.change_status(lead, "contacted", rep)
    services.add_note(lead, rep, "Pidió precios por 200 pallets")
    services.log_contact_attempt(lead, rep, "phone", "no_answer", "Sin respuesta")
    services.edit_lead(lead, manager, {"company": "Nueva SA"})
    followups.schedule_follow_up(lead, rep, due_at=timezone.now() + datetime.timedelta(days=2), kind="visit")
    return lead


def timeline_groups(html):
    timeline = html.split("data-crm-timeline", 1)[1].split("</ol>", 1)[0]
    return re.findall(r'data-kind-group="(\w+)"', timeline)


def test_timeline_reads_people_and_statuses_in_words(worked, manager, client_for):
    text = visible_text(html_of(client_for(manager), worked))
    timeline = text.split("Timeline", 1)[1]
    assert "Assigned → Contacted" in timeline and "Pending → Assigned" in timeline
    assert "Rocío Paz" in timeline and "Martín Gerente" in timeline
    assert "manager1" not in timeline and " rep " not in f" {timeline} "
    assert "Changed: Company" in timeline
    assert "Phone · No answer" in timeline
    assert re.search(
        r"Follow-up · .* · Rocío Paz Scheduled · Visit · \S+ \S+ [ap]\.m\. · Rocío Paz", timeline
    )
    assert "contacted" not in timeline and "no_answer" not in timeline


def test_timeline_in_spanish_and_local_time(worked, manager, client_for):
    from wagtail.users.models import UserProfile

    profile = UserProfile.get_for_user(manager)
    profile.preferred_language = "es-ar"
    profile.save()
    event = worked.events.get(kind=LeadEvent.Kind.NOTE)
    html = html_of(client_for(manager), worked)
    with translation.override("es-ar"):
        from django.utils.formats import date_format
        from django.utils.timezone import localtime

        shown = date_format(localtime(event.created_at), "SHORT_DATETIME_FORMAT")
    assert shown in html
    text = visible_text(html)
    assert "Asignado → Contactado" in text


def test_timeline_filter_by_kind_on_the_server(worked, rep, client_for):
    client = client_for(rep)
    assert set(timeline_groups(html_of(client, worked))) == {
        "status",
        "notes",
        "contacts",
        "follow_ups",
        "system",
    }
    assert 'data-filtered="false"' in html_of(client, worked)
    for kind in ("notes", "contacts", "follow_ups", "status", "system"):
        html = html_of(client, worked, kind=kind)
        assert set(timeline_groups(html)) == {kind}
        assert 'data-filtered="true"' in html
    assert "Pidió precios" in html_of(client, worked, kind="notes")
    assert "Pidió precios" not in html_of(client, worked, kind="status")


@pytest.mark.parametrize("value", ["bogus", "", "NOTES", "notes\x00", "x" * 5000, "'; drop table", "☃"])
def test_a_bad_kind_shows_the_whole_timeline(worked, rep, client_for, value):
    response = client_for(rep).get(page_url(worked), {"kind": value})
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert set(timeline_groups(response.content.decode())) == {
            "status",
            "notes",
            "contacts",
            "follow_ups",
            "system",
        }


def test_repeated_kind_parameters_never_fail(worked, rep, client_for):
    response = client_for(rep).get(page_url(worked) + "?kind=notes&kind=zzz&kind[]=1")
    assert response.status_code == 200


# Fields -----------------------------------------------------------------------------------------------


def test_fields_by_section_shown_only_when_present(make_lead, rep, client_for):
    lead = make_lead(
        assignee=rep,
        email="ana@example.com",
        message="Necesito 200 pallets",
        utm_source="google",
        raw_payload={"campo": "valor"},
    )
    html = html_of(client_for(rep), lead)
    contact_block = html.split('data-section="contact"', 1)[1].split("</section>", 1)[0]
    assert 'data-field="email"' in contact_block and 'data-field="location"' not in contact_block
    origin = html.split('data-section="origin"', 1)[1].split("</section>", 1)[0]
    assert 'data-field="utm_source"' in origin and 'data-field="utm_medium"' not in origin
    assert 'data-field="campaign"' not in origin
    system = html.split('data-section="system"', 1)[1].split("</details>", 1)[0]
    assert "valor" in system and 'data-field="first_contacted_at"' in system


@pytest.mark.parametrize("role", ["admin_user", "manager", "rep"])
def test_no_raw_values_on_the_page(request, make_lead, rep, client_for, role):
    lead = make_lead(
        "Nadie",
        rep,
        phone="+54 9 11 5555-1234",
        email="x@example.com",
        extra={"vacío": None, "sí": True},
        raw_payload={},
        tags=["wp-spam"],
    )
    duplicate = make_lead("Nadie Bis", rep, phone="+54 9 11 5555-1234")
    for shown in (lead, duplicate):
        text = visible_text(html_of(client_for(request.getfixturevalue(role)), shown))
        assert raw_values(text.split("Extra fields")[0]) == []
        assert "{}" not in text


def test_duplicates_and_merged_leads_are_linked(make_lead, manager, client_for):
    original = make_lead("Original", email="same@example.com")
    repeat = make_lead("Repetido", email="same@example.com")
    client = client_for(manager)
    html = html_of(client, original)
    assert page_url(repeat) in html and "Duplicate of this lead" in html
    services.merge_leads(repeat, original, manager)
    html = html_of(client, original)
    assert page_url(repeat) in html and "Merged into this lead" in html
    assert f"from merged lead #{repeat.pk}" in visible_text(html)
    html = html_of(client, repeat)
    assert "This lead was merged into another:" in visible_text(html) and page_url(original) in html


# Cost -----------------------------------------------------------------------------------------------------


# The conversation panel reads the brand's WhatsApp number and, since email joined it, its mail account;
# the customer box reads the lead's account and the accounts it matches in one query; the lost moves'
# reasons (the active catalogue) are one more.
MAX_QUERIES = 23


@pytest.mark.parametrize("role", ["rep", "manager", "admin_user"])
def test_query_count_is_small_and_does_not_grow(
    request, role, make_lead, rep, manager, client_for, django_assert_max_num_queries
):
    lead = make_lead(assignee=rep, phone="+54 9 11 5555-1234", email="q@example.com", tags=["web"])
    client = client_for(request.getfixturevalue(role))
    html_of(client, lead)  # warm per-process caches
    with CaptureQueriesContext(connection) as few:
        html_of(client, lead)
    soon = timezone.now() + datetime.timedelta(days=1)
    for number in range(40):
        services.add_note(lead, rep, f"Nota {number}")
        services.log_contact_attempt(lead, rep, "phone", "no_answer")
        services.change_status(lead, ["contacted", "to_quote"][number % 2], manager, follow_up_at=soon)
        services.assign(lead, [manager, rep][number % 2], manager)
    for number in range(25):
        followups.schedule_follow_up(
            lead,
            manager,
            due_at=soon + datetime.timedelta(hours=number),
            kind="visit",
            note=f"Tarea {number}",
        )
    for number in range(8):
        make_lead(f"Copia {number}", rep, phone="+54 9 11 5555-1234")
    for number in range(3):
        merged = make_lead(f"Fusionado {number}", rep, email="q@example.com")
        services.merge_leads(merged, lead, manager)
    with django_assert_max_num_queries(MAX_QUERIES):
        html = html_of(client, lead)
    with CaptureQueriesContext(connection) as many:
        html_of(client, lead)
    assert "Nota 39" in html and "Copia 7" in html and "Fusionado 2" in html and "Tarea 11" in html
    assert "The first 20 open follow-ups by due date." in html
    assert len(many) == len(few)
