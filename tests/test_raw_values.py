"""No raw values on screen: booleans read Yes/No, nothing reads "—", tags by their labels, people by
their names, no "pending → pending" in a timeline, a sync run's per-form counts as a table."""

import re

import pytest
from django.urls import reverse

from alerts.models import AlertRule, Trigger
from crm.intake import LeadData, create_lead
from crm.models import Campaign, Lead, Role
from crm.services import assign, change_status, tag_lead
from tests.admin_urls import argless_admin_urls
from tests.page_text import visible_text
from wordpress.models import SourceForm, SyncRun, WordPressSource

RAW_PYTHON = re.compile(r"(?<![\w-])(True|False|None)(?![\w-])")
TAG_KEYS = ("job_seeker_or_vendor", "wp-spam", "unknown-service")
JOB_SEEKER_OPTION = "Busco trabajo / Ofrezco productos o servicios"


def raw_values(text):
    found = [match.group(0) for match in RAW_PYTHON.finditer(text)]
    found += [key for key in TAG_KEYS if key in text]
    found += re.findall(r"\{'[^']*':", text)
    return found


@pytest.fixture
def named(make_user):
    def make(username, role, brands=("intralog",), first="", last=""):
        return make_user(username, role, brands, first_name=first, last_name=last)

    return make


@pytest.fixture
def people(named):
    return {
        "admin": named("ana", Role.ADMIN, ("intralog", "intrapal"), "Ana", "Administradora"),
        "manager": named("martin", Role.MANAGER, ("intralog",), "Martín", "Gerente"),
        "employee": named("elena", Role.EMPLOYEE, ("intralog",), "Elena", "Vendedora"),
        "marketing": named("mariana", Role.MARKETING, ("intralog", "intrapal"), "Mariana", "Marketing"),
    }


@pytest.fixture
def data(brands, people):
    """A little of everything the admin lists: leads with tags and a history, rules, a source and a run."""
    manager, employee = people["manager"], people["employee"]
    plain = create_lead(
        LeadData(brand=brands["intralog"], contact_name="Lía Común", email="lia@example.com"), actor=manager
    )
    plain = assign(plain, employee, actor=manager)
    change_status(plain, "contacted", employee)
    tag_lead(plain, ["wp-spam"])
    create_lead(LeadData(brand=brands["intralog"], contact_name="Lía Repetida", email="lia@example.com"))
    create_lead(
        LeadData(
            brand=brands["intralog"],
            contact_name="Juan Busca",
            service_text=JOB_SEEKER_OPTION,
            tags=["unknown-service"],
            created_by=manager,
        )
    )
    Campaign.objects.create(name="Otoño", brand=brands["intralog"], is_active=False)
    AlertRule.objects.create(name="Todo nuevo", trigger=Trigger.NEW_LEAD, notify_brand_managers=True)
    source = WordPressSource.objects.create(
        name="Sitio", slug="sitio", shape="legacy", url="http://127.0.0.1:9/forms", username="u"
    )
    SourceForm.objects.create(source=source, form_id="3", brand=brands["intralog"])
    SyncRun.objects.create(
        source=source,
        status=SyncRun.Status.SUCCEEDED,
        fetched=2,
        created=2,
        form_counts={
            "3": {"fetched": 2, "created": 2, "updated": 0, "duplicates": 0, "quarantined": 0, "error": ""}
        },
    )
    return {"plain": plain, "seeker": Lead.objects.get(contact_name="Juan Busca")}


def page_text(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return visible_text(response.content.decode())


def test_a_user_reads_as_their_full_name_or_else_their_username(people, named):
    assert str(people["employee"]) == "Elena Vendedora"
    assert str(named("sinnombre", Role.EMPLOYEE)) == "sinnombre"


def test_lead_page_reads_in_words(data, people, client_for):
    seeker = data["seeker"]
    text = page_text(client_for(people["admin"]), reverse("crm_leads:inspect", args=[seeker.pk]))
    assert raw_values(text) == []
    assert "Job seeker or vendor" in text and "Unknown service" in text
    assert "Assignee Unassigned" in text
    system = text.split("System details")[1]
    assert "Skip alerts Yes" in system and "Assigned —" in system
    assert "Created by Martín Gerente" in system
    assert "Campaign" not in text.split("System details")[0]  # origin fields show only when present


def test_lead_listing_shows_tag_labels_and_a_duplicate_once(data, people, client_for):
    html = client_for(people["admin"]).get(reverse("crm_leads:list")).content.decode()
    rows = [visible_text("<tr" + row) for row in html.split("<tbody", 1)[1].split("<tr")[1:]]

    def row(name):
        return next(text for text in rows if name in text)

    assert "Job seeker or vendor" in row("Juan Busca") and "Unknown service" in row("Juan Busca")
    assert "Spam in WordPress" in row("Lía Común")
    assert row("Lía Repetida").count("Duplicate") == 1


def test_timeline_shows_labels_and_names_and_no_transition_that_changed_nothing(data, people, client_for):
    plain = data["plain"]
    text = page_text(client_for(people["admin"]), reverse("crm_leads:inspect", args=[plain.pk]))
    timeline = text.split("Timeline")[1]
    assert "→ Pending" not in timeline and "pending" not in timeline
    assert "Pending → Assigned" in timeline and "Assigned → Contacted" in timeline
    assert "Elena Vendedora" in timeline and "elena" not in timeline
    assert "Spam in WordPress" in timeline
    assert "No classification rule matched." in timeline


def test_lead_history_reads_in_words(data, people, client_for):
    plain = data["plain"]
    text = page_text(client_for(people["admin"]), reverse("crm_leads:history_results", args=[plain.pk]))
    assert raw_values(text) == []
    assert "Lead assigned: Elena Vendedora" in text
    assert "Lead status changed: Pending → Assigned" in text
    assert "Lead classified: Spam in WordPress" in text
    assert "pending → pending" not in text.lower()


def test_sync_run_page_shows_counts_per_form_as_a_table(data, people, client_for):
    run = SyncRun.objects.get()
    response = client_for(people["admin"]).get(reverse("wordpress_run:inspect", args=[run.pk]))
    html = response.content.decode()
    assert "{'" not in html and "&#x27;fetched&#x27;" not in html
    table = html.split('<table class="listing">', 1)[1].split("</table>")[0]
    assert "Fetched" in table and "Quarantined" in table and '<th scope="row">3</th>' in table


@pytest.mark.parametrize("role", ["admin", "manager", "employee", "marketing"])
def test_no_admin_page_shows_raw_values(data, people, client_for, role):
    client = client_for(people[role])
    lead_pages = [reverse("crm_leads:inspect", args=[lead.pk]) for lead in Lead.objects.all()]
    shown = {}
    for path, _name in argless_admin_urls():
        if any(part in path for part in ("logout", "failwhale", "test404", "sprite", "jsi18n", "/api/")):
            continue
        response = client.get(path)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        found = raw_values(visible_text(response.content.decode()))
        if found:
            shown[path] = found
    for path in lead_pages if role != "marketing" else []:
        response = client.get(path)
        if response.status_code == 200 and (found := raw_values(visible_text(response.content.decode()))):
            shown[path] = found
    assert shown == {}


def test_a_move_to_the_status_a_lead_has_writes_no_event(data, people):
    plain, employee = data["plain"], people["employee"]
    before = plain.events.count()
    change_status(plain, "contacted", employee)
    assign(plain, employee, actor=people["manager"])
    assert plain.events.count() == before
