"""The lead listing's next action: the column in local time with overdue ones marked, the ``next_action``
filter by local day (Buenos Aires, near midnight), sorting with leads that have none last, crafted values
that never break the page; and the email and phone as ``mailto:`` and ``tel:`` links."""

import re

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from crm.models import Lead
from tests.crm.follow_up_support import (
    lead_for,
    listed_names,
    listing,
    local,
    plan,
)

pytestmark = pytest.mark.django_db

NAMES = ["Yesterday", "Tonight", "Later Today", "Just After Midnight", "Tomorrow Night", "Day After", "None"]


@pytest.fixture
def leads(clock, brands, employee, other_employee, manager):
    """Planned on Monday 9 March at 08:00; the listing is read on Tuesday 10 at 23:50."""
    intralog = brands["intralog"]
    leads = {name: lead_for(intralog, employee, name) for name in NAMES}
    for name, when in (
        ("Yesterday", local(9, 10)),
        ("Tonight", local(10, 23, 40)),
        ("Later Today", local(10, 23, 55)),
        ("Just After Midnight", local(11, 0, 5)),
        ("Tomorrow Night", local(11, 23, 59)),
        ("Day After", local(12, 0, 0)),
    ):
        plan(leads[name], employee, when)
    # A second follow-up, due tomorrow, on a lead whose next action is tonight.
    plan(leads["Later Today"], manager, local(11, 9))
    plan(lead_for(intralog, other_employee, "Not Mine"), other_employee, local(10, 23, 55))
    clock.set(local(10, 23, 50))
    return leads


@pytest.mark.parametrize(
    "value, expected",
    [
        ("overdue", {"Yesterday", "Tonight"}),
        ("today", {"Later Today"}),
        ("tomorrow", {"Just After Midnight", "Tomorrow Night", "Later Today"}),
        ("week", {"Later Today", "Just After Midnight", "Tomorrow Night", "Day After"}),
        ("none", {"None"}),
    ],
)
def test_next_action_filter_by_local_day(leads, client_for, employee, value, expected):
    page = listing(client_for(employee), f"next_action={value}")
    assert set(listed_names(page)) == expected


def test_a_manager_filters_their_brands_leads_the_same_way(leads, client_for, manager, other_manager):
    assert set(listed_names(listing(client_for(manager), "next_action=today"))) == {"Later Today", "Not Mine"}
    assert listed_names(listing(client_for(other_manager), "next_action=today")) == []


@pytest.mark.parametrize(
    "ordering, expected",
    [
        ("next_action_at", NAMES),
        ("-next_action_at", [*reversed(NAMES[:-1]), "None"]),
    ],
)
def test_sorting_by_next_action_puts_leads_without_one_last(leads, client_for, employee, ordering, expected):
    assert listed_names(listing(client_for(employee), f"ordering={ordering}")) == expected


def test_the_column_shows_local_time_and_marks_the_overdue(leads, client_for, employee):
    page = listing(client_for(employee), "ordering=next_action_at")
    table = page[page.index('class="listing crm-lead-listing"') :]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table[table.index("<tbody") : table.index("</tbody>")], re.S)
    assert len(rows) == len(NAMES)
    for row, name in zip(rows, NAMES, strict=True):
        lead = Lead.objects.get(contact_name=name)
        if lead.next_action_at is None:
            assert "crm-next-action" not in row
            continue
        shown = date_format(timezone.localtime(lead.next_action_at), "SHORT_DATETIME_FORMAT")
        assert shown in row, name
        assert ("data-overdue" in row) == (name in {"Yesterday", "Tonight"}), name
    assert "03/10/2026 11:40 p.m." in page  # Buenos Aires time, not UTC (02:40 the next day)


HOSTILE = [
    "next_action=bogus",
    "next_action=" + "9" * 40,
    "next_action=overdue&next_action=today",
    "ordering=-bogus",
    "ordering=next_action",
    "contacted=maybe",
    "stage=nope",
    "assigned_within=abc",
    "assigned_within=" + "9" * 40,
    "assigned_within=-5",
    "assigned_within=1.5",
    "assigned_within=NaN",
    "sla=bogus",
    "assignee=" + "9" * 30,
    "assignee=-1",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_crafted_values_never_break_the_listing(leads, client_for, employee, manager, query):
    for user in (employee, manager):
        page = listing(client_for(user), query)
        shown = set(listed_names(page))
        assert shown <= set(NAMES) | {"Not Mine"}


def test_a_bad_next_action_filters_nothing(leads, client_for, employee):
    assert set(listed_names(listing(client_for(employee), "next_action=bogus"))) == set(NAMES)


def test_email_and_phone_are_links(clock, brands, client_for, employee):
    given = lead_for(
        brands["intralog"], employee, "Ana Links", email="ana@example.com", phone="011 4555-1234"
    )
    local_only = lead_for(brands["intralog"], employee, "Local Number", phone="(0341) 15-420-3636")
    Lead.objects.filter(pk=local_only.pk).update(phone_e164="")
    page = listing(client_for(employee))
    given.refresh_from_db()
    assert given.phone_e164
    assert 'href="mailto:ana@example.com"' in page
    assert f'href="tel:{given.phone_e164}">011 4555-1234</a>' in page
    assert 'href="tel:0341154203636">(0341) 15-420-3636</a>' in page


def test_a_person_no_longer_offered_can_still_be_filtered_by_link(leads, client_for, manager, employee):
    employee.is_active = False
    employee.save()
    page = listing(client_for(manager), f"assignee={employee.pk}&next_action=overdue")
    assert set(listed_names(page)) == {"Yesterday", "Tonight"}
