"""``crm.access.events_for``: the events of exactly the leads ``leads_for`` shows each person."""

import pytest

from crm.access import events_for, leads_for
from crm.models import LeadEvent
from tests.dashboards.test_dashboards_dataset import build


@pytest.fixture
def data(brands, manager, employee, other_employee):
    return build(brands, manager, employee, other_employee)


def lead_names(events):
    return sorted({event.lead.contact_name for event in events.select_related("lead")})


@pytest.mark.parametrize(
    "who", ["admin_user", "manager", "other_manager", "employee", "other_employee", "marketer"]
)
def test_events_follow_the_lead_rules(who, data, request):
    user = request.getfixturevalue(who)
    expected = sorted(leads_for(user).values_list("contact_name", flat=True))
    assert lead_names(events_for(user)) == expected
    assert events_for(user).count() == LeadEvent.objects.filter(lead__in=leads_for(user)).count()


def test_who_sees_what(data, manager, other_manager, employee, marketer):
    assert lead_names(events_for(manager)) == ["L1", "L2", "L3", "L4", "L6", "L7", "O1", "P1", "P2"]
    assert lead_names(events_for(other_manager)) == ["L5"]
    assert lead_names(events_for(employee)) == ["L1", "L2", "L6", "L7"]
    assert not events_for(marketer).exists()


def test_inactive_people_see_no_events(data, manager):
    manager.is_active = False
    assert not events_for(manager).exists()


def test_events_for_narrows_a_given_queryset(data, employee):
    contacts = LeadEvent.objects.filter(kind=LeadEvent.Kind.CONTACT_ATTEMPT)
    assert lead_names(events_for(employee, contacts)) == ["L1", "L2", "L7"]
