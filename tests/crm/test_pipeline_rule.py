"""The pipeline rule: employees only move their leads forward and cannot reopen closed ones."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from crm import intake, services
from crm.access import check_status_change, is_forward
from crm.models import LeadEvent, PipelineStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(brands, manager, employee):
    lead = intake.create_lead(intake.LeadData(brand=brands["intralog"], email="p@example.com"))
    services.assign(lead, employee, manager)
    lead.refresh_from_db()
    return lead


def tomorrow():
    return timezone.now() + datetime.timedelta(days=1)


def at_status(lead, key, manager):
    services.change_status(lead, key, manager, note="set up", follow_up_at=tomorrow(), lost_reason="other")
    lead.refresh_from_db()
    return lead


def status(key):
    return PipelineStatus.objects.get(key=key)


class TestEmployee:
    @pytest.mark.parametrize("target", ["contacted", "to_quote", "quoted", "interested", "won", "postponed"])
    def test_moves_forward(self, lead, employee, target):
        services.change_status(lead, target, employee, note="ok", follow_up_at=tomorrow())
        lead.refresh_from_db()
        assert lead.status.key == target

    @pytest.mark.parametrize("target", ["not_advanced", "not_viable", "negative", "new_client"])
    def test_may_close_an_open_lead(self, lead, employee, manager, target):
        at_status(lead, "interested", manager)
        services.change_status(lead, target, employee, note="reason", lost_reason="price")
        lead.refresh_from_db()
        assert lead.status.key == target

    @pytest.mark.parametrize(
        ("start", "target"), [("quoted", "contacted"), ("contacted", "pending"), ("postponed", "interested")]
    )
    def test_cannot_move_backward(self, lead, employee, manager, start, target):
        at_status(lead, start, manager)
        events = LeadEvent.objects.count()
        with pytest.raises(PermissionDenied):
            services.change_status(lead, target, employee)
        lead.refresh_from_db()
        assert lead.status.key == start
        assert LeadEvent.objects.count() == events

    @pytest.mark.parametrize("closed", ["won", "not_advanced", "not_viable", "new_client", "negative"])
    @pytest.mark.parametrize("target", ["contacted", "interested", "postponed"])
    def test_cannot_reopen_closed(self, lead, employee, manager, closed, target):
        at_status(lead, closed, manager)
        with pytest.raises(PermissionDenied):
            services.change_status(lead, target, employee)
        lead.refresh_from_db()
        assert lead.status.key == closed

    def test_cannot_move_between_closed_statuses(self, lead, employee, manager):
        at_status(lead, "won", manager)
        with pytest.raises(PermissionDenied):
            services.change_status(lead, "negative", employee)


@pytest.mark.parametrize("role_fixture", ["manager", "admin_user"])
class TestManagement:
    def test_can_move_backward(self, request, lead, manager, role_fixture):
        actor = request.getfixturevalue(role_fixture)
        at_status(lead, "quoted", manager)
        services.change_status(lead, "contacted", actor, note="back")
        lead.refresh_from_db()
        assert lead.status.key == "contacted"

    @pytest.mark.parametrize("closed", ["won", "not_viable", "negative"])
    def test_can_reopen(self, request, lead, manager, role_fixture, closed):
        actor = request.getfixturevalue(role_fixture)
        at_status(lead, closed, manager)
        services.change_status(lead, "interested", actor, note="reopened")
        lead.refresh_from_db()
        assert lead.status.key == "interested"
        assert lead.events.latest("pk").from_value == closed


def test_marketing_cannot_change_status(lead, marketer):
    with pytest.raises(PermissionDenied):
        check_status_change(marketer, lead, status("contacted"))


def test_system_changes_are_not_limited(lead, manager):
    at_status(lead, "won", manager)
    services.change_status(lead, "contacted", None)
    lead.refresh_from_db()
    assert lead.status.key == "contacted"


def test_forward_is_by_stage_then_order():
    assert is_forward(status("pending"), status("assigned"))
    assert is_forward(status("postponed"), status("not_advanced"))
    assert is_forward(status("interested"), status("won"))
    assert not is_forward(status("quoted"), status("contacted"))
    assert not is_forward(status("assigned"), status("pending"))
