"""Every role against every lead URL, with another person's lead: GETs and forged POSTs.

The lead under test belongs to INTRALOG and is assigned to ``employee1``. Roles outside its scope
(the INTRAPAL manager, another employee, marketing) must get a 403 or 404, and a forged POST must
leave the lead and its events exactly as they were. The board's further cards and saved views are
covered the same way, and anonymous visitors are sent to sign in from every URL.
"""

from io import BytesIO

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from openpyxl import load_workbook

from conversations.models import Conversation, Message, WhatsAppNumber, WhatsAppTemplate
from crm.board import cursor_of
from crm.intake import LeadData, create_lead
from crm.models import DefaultView, Lead, LeadEvent, PipelineStatus, SavedView, Source
from crm.saved_views import save_view
from crm.services import assign
from tests.two_factor_support import sign_in_fully

ROLES = ["admin", "manager", "other_manager", "employee", "other_employee", "marketer"]
SEES = {"admin", "manager", "employee"}
MANAGES = {"admin", "manager"}
ADMINS = {"admin"}
EXPORTERS = {"admin", "manager", "other_manager"}
WORKERS = {"admin", "manager", "other_manager", "employee", "other_employee"}
"""Everyone who works leads: each has a board (of their own leads)."""


def is_denied(response):
    """403/404, or Wagtail's answer to PermissionDenied in the admin: a redirect to the dashboard."""
    return response.status_code in (403, 404) or (
        response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")
    )


@pytest.fixture
def people(admin_user, manager, other_manager, employee, other_employee, marketer):
    return {
        "admin": admin_user,
        "manager": manager,
        "other_manager": other_manager,
        "employee": employee,
        "other_employee": other_employee,
        "marketer": marketer,
    }


@pytest.fixture
def leads(people, brands, settings, tmp_path):
    phone = Source.objects.get(key="phone")
    victim = create_lead(
        LeadData(
            brand=brands["intralog"],
            contact_name="Victima Uno",
            company="Acme SA",
            phone="+54 9 11 5555-1234",
            source=phone,
        ),
        actor=people["manager"],
    )
    victim = assign(victim, people["employee"], actor=people["manager"])
    conversation = seed_conversation(victim, brands, settings, tmp_path)
    target = create_lead(
        LeadData(brand=brands["intralog"], contact_name="Destino Dos", company="Beta SRL", source=phone),
        actor=people["manager"],
    )
    target = assign(target, people["employee"], actor=people["manager"])
    intrapal = create_lead(
        LeadData(brand=brands["intrapal"], contact_name="Intrapal Tres", source=phone),
        actor=people["other_manager"],
    )
    return {"victim": victim, "target": target, "intrapal": intrapal, **conversation}


def seed_conversation(lead, brands, settings, tmp_path):
    """The brand's WhatsApp number and template, and on ``lead`` a failed message and a received file."""
    settings.CONVERSATIONS_MEDIA_ROOT = tmp_path / "conversations"
    number = WhatsAppNumber.objects.create(brand=brands["intralog"], phone_number_id="1", display_number="+1")
    template = WhatsAppTemplate.objects.create(number=number, label="Hola", name="hola")
    conversation = Conversation.objects.create(lead=lead, channel="whatsapp", address=lead.phone_e164)
    common = {"conversation": conversation, "lead": lead, "channel": "whatsapp"}
    failed = Message.objects.create(**common, direction="out", kind="template", status="failed", error="x")
    received = Message.objects.create(
        **common,
        direction="in",
        kind="document",
        status="received",
        media_state="stored",
        media_type="text/plain",
    )
    received.media_file.save("nota.txt", ContentFile(b"privado"))
    return {"template": template, "failed_message": failed, "file_message": received}


def url(name, lead=None):
    return reverse(f"crm_leads:{name}", args=[lead.pk] if lead else [])


def bulk_url(action, *leads):
    ids = "&".join(f"id={lead.pk}" for lead in leads)
    return reverse("wagtail_bulk_action", args=("crm", "lead", action)) + f"?{ids}"


def snapshot(lead):
    fresh = Lead.objects.get(pk=lead.pk)
    return (
        {
            field.attname: getattr(fresh, field.attname)
            for field in Lead._meta.concrete_fields
            if field.attname not in ("updated_at",)
        },
        LeadEvent.objects.filter(lead=lead).count(),
        sorted(fresh.tags.names()),
    )


GET_ENDPOINTS = {
    "inspect": (lambda leads: url("inspect", leads["victim"]), SEES),
    "edit": (lambda leads: url("edit", leads["victim"]), SEES),
    "delete": (lambda leads: url("delete", leads["victim"]), ADMINS),
    "history": (lambda leads: url("history", leads["victim"]), SEES),
    "usage": (lambda leads: url("usage", leads["victim"]), SEES),
    "change_status": (lambda leads: url("change_status", leads["victim"]), SEES),
    "note": (lambda leads: url("note", leads["victim"]), SEES),
    "contact": (lambda leads: url("contact", leads["victim"]), SEES),
    "assign": (lambda leads: url("assign", leads["victim"]), MANAGES),
    "merge": (lambda leads: url("merge", leads["victim"]), MANAGES),
    "export_csv": (lambda leads: url("list") + "?export=csv", EXPORTERS),
    "export_xlsx": (lambda leads: url("list") + "?export=xlsx", EXPORTERS),
    "chosen": (lambda leads: reverse("crm_lead_chooser:chosen", args=[leads["victim"].pk]), SEES),
    "bulk_assign": (lambda leads: bulk_url("assign", leads["victim"]), SEES),
    "bulk_status": (lambda leads: bulk_url("change_status", leads["victim"]), SEES),
    "bulk_delete": (lambda leads: bulk_url("delete", leads["victim"]), SEES),
    "board": (lambda leads: url("board"), WORKERS),
    "board_results": (lambda leads: url("board_results"), WORKERS),
    "conversation_messages": (
        lambda leads: reverse("conversations:messages", args=[leads["victim"].pk]),
        SEES,
    ),
    "conversation_file": (
        lambda leads: reverse("conversations:media", args=[leads["file_message"].pk]),
        SEES,
    ),
}


@pytest.mark.parametrize("role", ROLES)
def test_get_every_lead_url(role, people, leads, client_for):
    client = client_for(people[role])
    wrong = []
    for endpoint, (build_url, allowed) in sorted(GET_ENDPOINTS.items()):
        response = client.get(build_url(leads))
        expected_ok = role in allowed
        if (response.status_code == 200) != expected_ok or (not expected_ok and not is_denied(response)):
            wrong.append((endpoint, response.status_code))
    assert wrong == []


@pytest.mark.parametrize("role", ROLES)
def test_listing_shows_only_allowed_rows(role, people, leads, client_for):
    response = client_for(people[role]).get(url("list"))
    if role == "marketer":
        assert is_denied(response)
        return
    assert response.status_code == 200
    content = response.content.decode()
    assert ("Victima Uno" in content) == (role in SEES)
    assert ("Intrapal Tres" in content) == (role in {"admin", "other_manager"})


@pytest.mark.parametrize("role", ROLES)
def test_board_shows_only_allowed_cards(role, people, leads, client_for):
    client = client_for(people[role])
    for name in ("board", "board_results"):
        response = client.get(url(name))
        if role == "marketer":
            assert is_denied(response)
            continue
        assert response.status_code == 200
        content = response.content.decode()
        assert ("Victima Uno" in content) == (role in SEES)
        assert ("Intrapal Tres" in content) == (role in {"admin", "other_manager"})


@pytest.mark.parametrize("role", ROLES)
def test_export_holds_only_allowed_rows(role, people, leads, client_for):
    client = client_for(people[role])
    for export_format in ("csv", "xlsx"):
        response = client.get(url("list") + f"?export={export_format}")
        if role not in EXPORTERS:
            assert is_denied(response)
            continue
        assert response.status_code == 200
        body = b"".join(response.streaming_content) if response.streaming else response.getvalue()
        if export_format == "csv":
            text = body.decode()
        else:
            sheet = load_workbook(BytesIO(body)).active
            text = "\n".join(str(cell.value) for row in sheet.iter_rows() for cell in row)
        assert ("Victima Uno" in text) == (role in MANAGES)
        assert ("Intrapal Tres" in text) == (role in {"admin", "other_manager"})


@pytest.mark.parametrize("role", ROLES)
def test_chooser_lists_only_allowed_rows(role, people, leads, client_for):
    client = client_for(people[role])
    for name in ("choose", "choose_results"):
        response = client.get(reverse(f"crm_lead_chooser:{name}"))
        if role == "marketer":
            assert is_denied(response)
            continue
        assert response.status_code == 200
        content = response.content.decode()
        assert ("Victima Uno" in content) == (role in SEES)
        assert ("Intrapal Tres" in content) == (role in {"admin", "other_manager"})


@pytest.mark.parametrize("role", ROLES)
def test_chosen_multiple_drops_unseen_leads(role, people, leads, client_for):
    response = client_for(people[role]).get(
        reverse("crm_lead_chooser:chosen_multiple") + f"?id={leads['victim'].pk}"
    )
    if role == "marketer":
        assert is_denied(response)
        return
    assert response.status_code == 200
    assert ("Victima Uno" in response.content.decode()) == (role in SEES)


def edit_data(leads):
    victim = leads["victim"]
    return {
        "contact_name": "Forged Name",
        "company": victim.company,
        "email": victim.email,
        "phone": victim.phone,
        "location": victim.location,
        "brand": victim.brand_id,
        "service": "",
        "source": victim.source_id or "",
        "campaign": "",
        "priority": victim.priority,
        "message": victim.message,
        "management_note": "",
    }


def changed_name(leads):
    return Lead.objects.get(pk=leads["victim"].pk).contact_name == "Forged Name"


def status_is(key):
    return lambda leads: Lead.objects.get(pk=leads["victim"].pk).status.key == key


def has_event(kind):
    return lambda leads: LeadEvent.objects.filter(lead=leads["victim"], kind=kind).exists()


POST_ENDPOINTS = {
    "edit": (lambda leads: url("edit", leads["victim"]), edit_data, SEES, changed_name),
    "delete": (
        lambda leads: url("delete", leads["victim"]),
        lambda leads: {},
        ADMINS,
        lambda leads: not Lead.objects.filter(pk=leads["victim"].pk).exists(),
    ),
    "change_status": (
        lambda leads: url("change_status", leads["victim"]),
        lambda leads: {"status": PipelineStatus.objects.get(key="contacted").pk, "note": "called"},
        SEES,
        status_is("contacted"),
    ),
    "note": (
        lambda leads: url("note", leads["victim"]),
        lambda leads: {"note": "forged note"},
        SEES,
        has_event(LeadEvent.Kind.NOTE),
    ),
    "contact": (
        lambda leads: url("contact", leads["victim"]),
        lambda leads: {"channel": "phone", "outcome": "reached", "note": ""},
        SEES,
        has_event(LeadEvent.Kind.CONTACT_ATTEMPT),
    ),
    "assign": (
        lambda leads: url("assign", leads["victim"]),
        lambda leads: {"assignee": leads["other_employee"].pk, "note": ""},
        MANAGES,
        lambda leads: Lead.objects.get(pk=leads["victim"].pk).assignee_id == leads["other_employee"].pk,
    ),
    "merge": (
        lambda leads: url("merge", leads["victim"]),
        lambda leads: {"into": leads["target"].pk},
        MANAGES,
        has_event(LeadEvent.Kind.MERGED),
    ),
    "bulk_assign": (
        lambda leads: bulk_url("assign", leads["victim"]),
        lambda leads: {"assignee": leads["other_employee"].pk, "note": ""},
        MANAGES,
        lambda leads: Lead.objects.get(pk=leads["victim"].pk).assignee_id == leads["other_employee"].pk,
    ),
    "bulk_status": (
        lambda leads: bulk_url("change_status", leads["victim"]),
        lambda leads: {"status": PipelineStatus.objects.get(key="contacted").pk, "note": ""},
        SEES,
        status_is("contacted"),
    ),
    "board_move": (
        lambda leads: url("board_move", leads["victim"]),
        lambda leads: {
            "status": PipelineStatus.objects.get(key="contacted").pk,
            "from_status": leads["victim"].status_id,
            "next": url("board"),
        },
        SEES,
        status_is("contacted"),
    ),
    "conversation_send": (
        lambda leads: reverse("conversations:send", args=[leads["victim"].pk]),
        lambda leads: {"template": leads["template"].pk},
        SEES,
        lambda leads: Message.objects.filter(lead=leads["victim"], status="queued").exists(),
    ),
    "conversation_retry": (
        lambda leads: reverse("conversations:retry", args=[leads["failed_message"].pk]),
        lambda leads: {},
        SEES,
        lambda leads: Message.objects.get(pk=leads["failed_message"].pk).status == "queued",
    ),
    "bulk_delete": (
        lambda leads: bulk_url("delete", leads["victim"]),
        lambda leads: {},
        ADMINS,
        lambda leads: not Lead.objects.filter(pk=leads["victim"].pk).exists(),
    ),
}


@pytest.mark.parametrize("role", ROLES)
def test_forged_posts(role, people, leads, client_for):
    """Each POST runs inside a savepoint that is rolled back, so every one starts from the same lead."""
    client = client_for(people[role])
    leads = {**leads, "other_employee": people["other_employee"]}
    before = snapshot(leads["victim"])
    wrong = []
    for endpoint, (build_url, build_data, allowed, done) in sorted(POST_ENDPOINTS.items()):
        savepoint = transaction.savepoint()
        response = client.post(build_url(leads), build_data(leads))
        if role in allowed:
            if response.status_code != 302 or not done(leads):
                wrong.append((endpoint, "not done", response.status_code))
        elif not is_denied(response) or snapshot(leads["victim"]) != before or done(leads):
            wrong.append((endpoint, "changed or not denied", response.status_code))
        transaction.savepoint_rollback(savepoint)
        assert snapshot(leads["victim"]) == before
    assert wrong == []


# The board's further cards, saved views, and anonymous visitors ------------------------------------------

ALL_ROLES = [*ROLES, "anonymous"]
OPENS_TEAM_VIEW = {"admin", "manager", "employee", "other_employee"}
"""Who may open ``manager``'s view shared with the INTRALOG team (admins see every shared view)."""


def is_sent_to_sign_in(response):
    return response.status_code == 302 and response["Location"].startswith(reverse("wagtailadmin_login"))


def refused(role, response):
    return is_sent_to_sign_in(response) if role == "anonymous" else is_denied(response)


@pytest.fixture
def saved(people, brands):
    team = save_view(
        people["manager"],
        name="Equipo Intralog",
        kind="listing",
        query="stage=active",
        visibility=SavedView.Visibility.BRAND,
        brands=[brands["intralog"]],
    )
    private = save_view(people["manager"], name="Privada", kind="board", query="stage=active")
    return {"team": team, "private": private}


def client_as(role, people, client):
    if role != "anonymous":
        sign_in_fully(client, people[role])
    return client


def view_url(name, view=None, *args):
    return reverse(f"crm_leads:{name}", args=[view.pk] if view is not None else list(args))


SAVED_VIEW_GETS = {
    "views": (lambda saved: view_url("views"), WORKERS, 200),
    "leads_home": (lambda saved: reverse("crm_leads_home"), WORKERS, 302),
    "view_save_listing": (
        lambda saved: view_url("view_save", None, "listing") + "?stage=active",
        WORKERS,
        200,
    ),
    "view_save_board": (lambda saved: view_url("view_save", None, "board"), WORKERS, 200),
    "view_open_team": (lambda saved: view_url("view_open", saved["team"]), OPENS_TEAM_VIEW, 302),
    "view_open_private": (lambda saved: view_url("view_open", saved["private"]), {"manager"}, 302),
    "view_edit_team": (lambda saved: view_url("view_edit", saved["team"]), {"manager"}, 200),
    "view_delete_team": (lambda saved: view_url("view_delete", saved["team"]), {"admin", "manager"}, 200),
    "view_delete_private": (lambda saved: view_url("view_delete", saved["private"]), {"manager"}, 200),
}


@pytest.mark.parametrize("role", ALL_ROLES)
def test_get_every_saved_view_url(role, people, saved, client):
    client = client_as(role, people, client)
    wrong = []
    for endpoint, (build_url, allowed, code) in sorted(SAVED_VIEW_GETS.items()):
        response = client.get(build_url(saved))
        if role in allowed:
            if response.status_code != code:
                wrong.append((endpoint, "not served", response.status_code))
        elif not refused(role, response):
            wrong.append((endpoint, "not refused", response.status_code))
    assert wrong == []


def saved_state():
    views = SavedView.objects.order_by("pk")
    return (
        list(views.values_list("pk", "name", "visibility", "query")),
        [list(view.brands.values_list("pk", flat=True)) for view in views],
        list(DefaultView.objects.values_list("user_id", "saved_view_id", "builtin")),
    )


def gone(key):
    return lambda saved: not SavedView.objects.filter(pk=saved[key].pk).exists()


def default_is(key):
    return lambda saved: DefaultView.objects.filter(saved_view=saved[key]).exists()


SAVED_VIEW_POSTS = {
    "rename_team": (
        lambda saved: view_url("view_edit", saved["team"]),
        lambda saved: {"name": "Forjada", "visibility": "private"},
        {"manager"},
        lambda saved: SavedView.objects.get(pk=saved["team"].pk).name == "Forjada",
    ),
    "rename_private": (
        lambda saved: view_url("view_edit", saved["private"]),
        lambda saved: {"name": "Forjada", "visibility": "private"},
        {"manager"},
        lambda saved: SavedView.objects.get(pk=saved["private"].pk).name == "Forjada",
    ),
    "delete_team": (
        lambda saved: view_url("view_delete", saved["team"]),
        lambda saved: {},
        {"admin", "manager"},
        gone("team"),
    ),
    "delete_private": (
        lambda saved: view_url("view_delete", saved["private"]),
        lambda saved: {},
        {"manager"},
        gone("private"),
    ),
    "default_team": (
        lambda saved: view_url("view_default"),
        lambda saved: {"view": saved["team"].pk},
        OPENS_TEAM_VIEW,
        default_is("team"),
    ),
    "default_private": (
        lambda saved: view_url("view_default"),
        lambda saved: {"view": saved["private"].pk},
        {"manager"},
        default_is("private"),
    ),
    "save": (
        lambda saved: view_url("view_save", None, "listing") + "?stage=active",
        lambda saved: {"name": "Nueva", "visibility": "private"},
        WORKERS,
        lambda saved: SavedView.objects.filter(name="Nueva").exists(),
    ),
}


@pytest.mark.parametrize("role", ALL_ROLES)
def test_forged_saved_view_posts(role, people, saved, client):
    """Renaming, deleting or choosing as default a view that is not one's own (or shared with one) is a
    404 that changes nothing; each POST is rolled back, so every one starts from the same views."""
    client = client_as(role, people, client)
    before = saved_state()
    wrong = []
    for endpoint, (build_url, build_data, allowed, done) in sorted(SAVED_VIEW_POSTS.items()):
        savepoint = transaction.savepoint()
        response = client.post(build_url(saved), build_data(saved))
        if role in allowed:
            if response.status_code != 302 or not done(saved):
                wrong.append((endpoint, "not done", response.status_code))
        elif not refused(role, response) or saved_state() != before:
            wrong.append((endpoint, "changed or not refused", response.status_code))
        elif role != "anonymous" and role != "marketer" and response.status_code != 404:
            wrong.append((endpoint, "not a 404", response.status_code))
        transaction.savepoint_rollback(savepoint)
        assert saved_state() == before
    assert wrong == []


def test_the_board_reads_further_cards_of_ones_own_leads_only(people, leads, client_for):
    victim = leads["victim"]
    query = f"?column={victim.status_id}&after={cursor_of(victim).split('-')[0]}-{victim.pk + 1000}"
    for role in ROLES:
        response = client_for(people[role]).get(url("board_more") + query)
        if role not in WORKERS:
            assert is_denied(response), role
            continue
        assert response.status_code == 200, role
        assert ("Victima Uno" in response.json()["html"]) == (role in SEES), role


@pytest.mark.parametrize(
    "build_url",
    [*(endpoint[0] for endpoint in GET_ENDPOINTS.values()), lambda leads: url("board_more")],
)
def test_anonymous_gets_are_sent_to_sign_in(build_url, leads, client):
    assert is_sent_to_sign_in(client.get(build_url(leads)))


def test_anonymous_posts_are_sent_to_sign_in_and_change_nothing(people, leads, client):
    leads = {**leads, "other_employee": people["other_employee"]}
    before = snapshot(leads["victim"])
    for build_url, build_data, _allowed, _done in POST_ENDPOINTS.values():
        assert is_sent_to_sign_in(client.post(build_url(leads), build_data(leads)))
    assert snapshot(leads["victim"]) == before
