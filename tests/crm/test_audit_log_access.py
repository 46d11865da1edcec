"""Log views follow the row-level rules: site history (page, results, filters, exports) and object histories."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from wagtail.log_actions import log

from crm import people as people_service
from crm.intake import LeadData, create_lead
from crm.models import Lead, LeadLogEntry, Role, ScopedModelLogEntry, Source
from crm.services import add_note, assign

SITE_HISTORY = reverse("wagtailadmin_reports:site_history")
SITE_HISTORY_RESULTS = reverse("wagtailadmin_reports:site_history_results")


@pytest.fixture
def world(admin_user, manager, other_manager, employee, other_employee, intrapal_employee, marketer, brands):
    phone = Source.objects.get(key="phone")

    def lead(brand, name, actor, assignee):
        created = create_lead(LeadData(brand=brand, contact_name=name, source=phone), actor=actor)
        return assign(created, assignee, actor=actor)

    own = lead(brands["intralog"], "Lead Of Employee One", manager, employee)
    add_note(own, employee, "called twice")
    colleague = lead(brands["intralog"], "Lead Of Employee Two", manager, other_employee)
    foreign = lead(brands["intrapal"], "Lead Of Intrapal", other_manager, intrapal_employee)
    log(instance=intrapal_employee, action="wagtail.edit", user=other_manager)
    log(instance=employee, action="wagtail.edit", user=manager)
    intralog_invitation = people_service.invite(
        manager, "new.intralog@example.com", Role.EMPLOYEE, [brands["intralog"]]
    )
    intrapal_invitation = people_service.invite(
        other_manager, "new.intrapal@example.com", Role.EMPLOYEE, [brands["intrapal"]]
    )
    return {
        "own": own,
        "colleague": colleague,
        "foreign": foreign,
        "intralog_invitation": intralog_invitation,
        "intrapal_invitation": intrapal_invitation,
    }


def history_labels(client, url=SITE_HISTORY_RESULTS):
    response = client.get(url)
    assert response.status_code == 200
    return {entry.label for entry in response.context["object_list"]}


LEAD_LABELS = {"Lead Of Employee One", "Lead Of Employee Two", "Lead Of Intrapal"}
PEOPLE_LABELS = {"employee1", "employee3", "new.intralog@example.com", "new.intrapal@example.com"}


@pytest.mark.parametrize(
    ("role", "leads", "people"),
    [
        ("admin_user", LEAD_LABELS, PEOPLE_LABELS),
        (
            "manager",
            {"Lead Of Employee One", "Lead Of Employee Two"},
            {"employee1", "new.intralog@example.com"},
        ),
        ("other_manager", {"Lead Of Intrapal"}, {"employee3", "new.intrapal@example.com"}),
        ("employee", {"Lead Of Employee One"}, set()),
        ("other_employee", {"Lead Of Employee Two"}, set()),
        ("intrapal_employee", {"Lead Of Intrapal"}, set()),
    ],
)
def test_site_history_lists_what_the_role_may_see(request, world, client_for, role, leads, people):
    client = client_for(request.getfixturevalue(role))
    labels = history_labels(client)
    assert labels & LEAD_LABELS == leads
    assert labels & PEOPLE_LABELS == people


def test_site_history_filters_offer_only_visible_rows(world, client_for, employee, manager):
    response = client_for(employee).get(SITE_HISTORY)
    assert {ct.model for ct in response.context["filters"].form.fields["object_type"].queryset} == {"lead"}
    response = client_for(manager).get(SITE_HISTORY)
    types = {ct.model for ct in response.context["filters"].form.fields["object_type"].queryset}
    assert types == {"lead", "user", "invitation"}
    labels = history_labels(client_for(employee), SITE_HISTORY_RESULTS + "?label=Lead+Of")
    assert labels == {"Lead Of Employee One"}


def test_site_history_export_holds_only_visible_rows(world, client_for, manager):
    response = client_for(manager).get(SITE_HISTORY + "?export=csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    assert "Lead Of Employee One" in text and "new.intralog@example.com" in text
    assert "Lead Of Intrapal" not in text and "new.intrapal@example.com" not in text


def test_marketing_reads_no_lead_or_people_entries(world, marketer):
    assert not LeadLogEntry.objects.viewable_by_user(marketer).exists()
    labels = set(ScopedModelLogEntry.objects.viewable_by_user(marketer).values_list("label", flat=True))
    assert not labels & PEOPLE_LABELS


def test_lead_entries_are_filtered_by_a_subquery(world, manager, brands):
    """The visible leads are a subquery in the same SQL statement, never a list of ids read first."""
    with CaptureQueriesContext(connection) as before:
        count = LeadLogEntry.objects.viewable_by_user(manager).count()
    phone = Source.objects.get(key="phone")
    for number in range(5):
        create_lead(LeadData(brand=brands["intralog"], contact_name=f"More {number}", source=phone))
    manager = type(manager).objects.get(pk=manager.pk)
    with CaptureQueriesContext(connection) as after:
        assert LeadLogEntry.objects.viewable_by_user(manager).count() > count
    assert len(after.captured_queries) == len(before.captured_queries)
    sql = after.captured_queries[-1]["sql"]
    assert 'FROM "crm_lead"' in sql
    assert str(Lead.objects.get(contact_name="More 4").pk) not in sql.replace('"crm_lead"', "")


def test_invitation_history_outside_the_managers_reach_is_refused(world, client_for, manager):
    client = client_for(manager)
    own = reverse("crm_invitations:history", args=[world["intralog_invitation"].pk])
    assert client.get(own).status_code == 200
    for view in ("history", "usage"):
        response = client.get(reverse(f"crm_invitations:{view}", args=[world["intrapal_invitation"].pk]))
        assert response.status_code in (302, 403, 404)
        assert b"new.intrapal@example.com" not in response.content


def test_user_history_outside_the_managers_reach_is_refused(world, client_for, manager, intrapal_employee):
    response = client_for(manager).get(reverse("wagtailusers_users:history", args=[intrapal_employee.pk]))
    assert response.status_code in (302, 403, 404)


def test_lead_history_shows_only_that_lead(world, client_for, employee):
    client = client_for(employee)
    response = client.get(reverse("crm_leads:history", args=[world["own"].pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Note added" in content
    assert "Lead Of Employee Two" not in content
    response = client.get(reverse("crm_leads:history", args=[world["colleague"].pk]))
    assert response.status_code in (302, 403, 404)


def test_lead_changes_still_write_one_log_entry_each(world, employee):
    """Leads log through the proxy into Wagtail's table: one row per event, readable as before."""
    lead = world["own"]
    entries = LeadLogEntry.objects.for_instance(lead)
    assert entries.count() == lead.events.count()
    assert {"wagtail.create", "crm.lead.assigned", "crm.lead.note"} <= set(
        entries.values_list("action", flat=True)
    )


def test_site_history_counts_up_to_a_cap_and_pages_past_it(world, client_for, manager, monkeypatch):
    """The count stops at a cap ("more than N"); the newest entries come first and deeper pages load."""
    from wagtail.models import ModelLogEntry

    from crm.views import site_history

    monkeypatch.setattr(site_history, "PAGES_AHEAD", 0)
    monkeypatch.setattr(site_history.CappedReportPaginator, "minimum_cap", 50)
    invitation = world["intralog_invitation"]
    for number in range(60):
        ModelLogEntry.objects.log_action(
            invitation, "wagtail.edit", user=manager, title=f"Entry {number:02d}"
        )
    client = client_for(manager)
    response = client.get(SITE_HISTORY_RESULTS)
    assert response.status_code == 200
    assert "More than 50" in response.content.decode()
    assert [entry.label for entry in response.context["object_list"]][:2] == ["Entry 59", "Entry 58"]
    deeper = client.get(SITE_HISTORY_RESULTS + "?p=2")
    assert deeper.status_code == 200
    assert len(deeper.context["object_list"]) > 0
    assert client.get(SITE_HISTORY_RESULTS + "?p=99999999999999999999999").status_code == 200
