"""Follow-ups: every change through crm.followups with its lead event, the lead's next action kept, the
status rule that asks for a date, closing and merging, and row-level access on every view."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from crm import followups, intake, services
from crm.models import FollowUp, Lead, LeadEvent, PipelineStatus

pytestmark = pytest.mark.django_db


def url(name, pk):
    return reverse(Lead.snippet_viewset.get_url_name(name), args=[pk])


def in_hours(hours):
    return timezone.now() + datetime.timedelta(hours=hours)


def follow_up_events(lead):
    return list(
        LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.FOLLOW_UP)
        .order_by("pk")
        .values_list("to_value", flat=True)
    )


@pytest.fixture
def lead(brands, employee):
    lead = intake.create_lead(intake.LeadData(brand=brands["intralog"], contact_name="Ana Pérez"))
    return services.assign(lead, employee)


@pytest.fixture
def others_lead(brands, other_employee):
    lead = intake.create_lead(intake.LeadData(brand=brands["intralog"], contact_name="Otro"))
    return services.assign(lead, other_employee)


class TestService:
    def test_schedule_writes_event_and_sets_next_action(self, lead, employee):
        due = in_hours(3)
        follow_up = followups.schedule_follow_up(
            lead, employee, due_at=due, kind="whatsapp", note="Send prices"
        )
        lead.refresh_from_db()
        assert lead.next_action_at == due
        assert follow_up.assignee == employee and follow_up.created_by == employee
        event = lead.events.get(kind=LeadEvent.Kind.FOLLOW_UP)
        assert event.actor == employee and event.to_value == "scheduled"
        assert event.data["follow_up"] == follow_up.pk and event.data["kind"] == "whatsapp"

    def test_next_action_is_the_earliest_open_follow_up(self, lead, employee):
        later = followups.schedule_follow_up(lead, employee, due_at=in_hours(48))
        sooner = followups.schedule_follow_up(lead, employee, due_at=in_hours(2))
        lead.refresh_from_db()
        assert lead.next_action_at == sooner.due_at
        followups.complete_follow_up(sooner, employee)
        lead.refresh_from_db()
        assert lead.next_action_at == later.due_at
        followups.reschedule_follow_up(later, employee, due_at=in_hours(5))
        lead.refresh_from_db()
        assert lead.next_action_at == FollowUp.objects.get(pk=later.pk).due_at
        followups.cancel_follow_up(later, employee, "no longer needed")
        lead.refresh_from_db()
        assert lead.next_action_at is None
        assert follow_up_events(lead) == ["scheduled", "scheduled", "done", "rescheduled", "cancelled"]

    def test_reschedule_records_the_previous_due_time(self, lead, employee):
        follow_up = followups.schedule_follow_up(lead, employee, due_at=in_hours(1))
        first_due = follow_up.due_at
        followups.reschedule_follow_up(follow_up, employee, due_at=in_hours(30))
        event = lead.events.filter(kind=LeadEvent.Kind.FOLLOW_UP).latest("pk")
        assert event.data["from_due_at"] == first_due.isoformat()

    def test_due_time_in_the_past_is_refused(self, lead, employee):
        with pytest.raises(ValidationError, match="in the past"):
            followups.schedule_follow_up(lead, employee, due_at=in_hours(-2))
        assert not FollowUp.objects.exists()

    def test_closed_follow_up_cannot_change(self, lead, employee):
        follow_up = followups.schedule_follow_up(lead, employee, due_at=in_hours(1))
        followups.complete_follow_up(follow_up, employee)
        with pytest.raises(ValidationError):
            followups.cancel_follow_up(follow_up, employee)
        with pytest.raises(ValidationError):
            followups.reschedule_follow_up(follow_up, employee, due_at=in_hours(4))

    def test_employee_cannot_plan_on_someone_elses_lead(self, others_lead, employee):
        with pytest.raises(PermissionDenied):
            followups.schedule_follow_up(others_lead, employee, due_at=in_hours(1))
        assert not FollowUp.objects.exists()

    def test_employee_plans_only_for_themselves(self, lead, employee, other_employee):
        with pytest.raises(PermissionDenied):
            followups.schedule_follow_up(lead, employee, due_at=in_hours(1), assignee=other_employee)

    def test_manager_plans_for_someone_of_the_brand_who_can_open_the_lead(
        self, lead, manager, intrapal_employee, other_employee
    ):
        assert (
            followups.schedule_follow_up(lead, manager, due_at=in_hours(1), assignee=manager).assignee
            == manager
        )
        with pytest.raises(ValidationError, match="cannot take leads"):
            followups.schedule_follow_up(lead, manager, due_at=in_hours(1), assignee=intrapal_employee)
        # A colleague of the brand who does not hold the lead could not open it from their day.
        with pytest.raises(ValidationError, match="assign the lead to them first"):
            followups.schedule_follow_up(lead, manager, due_at=in_hours(1), assignee=other_employee)
        services.assign(lead, other_employee, manager)
        lead.refresh_from_db()
        follow_up = followups.schedule_follow_up(lead, manager, due_at=in_hours(2), assignee=other_employee)
        assert follow_up.assignee == other_employee

    def test_closed_lead_takes_no_follow_up(self, lead, manager):
        services.change_status(lead, "not_viable", manager, "Out of the area", lost_reason="coverage")
        with pytest.raises(ValidationError, match="closed"):
            followups.schedule_follow_up(lead, manager, due_at=in_hours(1))


class TestStatusRule:
    def test_seeded_statuses_require_a_follow_up(self):
        assert set(PipelineStatus.objects.filter(requires_follow_up=True).values_list("key", flat=True)) == {
            "postponed",
            "to_quote",
        }

    def test_move_without_a_date_is_refused(self, lead, employee):
        with pytest.raises(ValidationError, match="follow-up"):
            services.change_status(lead, "postponed", employee)
        lead.refresh_from_db()
        assert lead.status.key == "assigned"

    def test_move_with_a_date_schedules_it(self, lead, employee):
        due = in_hours(72)
        services.change_status(lead, "postponed", employee, follow_up_at=due)
        lead.refresh_from_db()
        assert lead.status.key == "postponed" and lead.next_action_at == due
        assert lead.follow_ups.get().assignee == employee

    def test_open_follow_up_satisfies_the_rule(self, lead, employee):
        followups.schedule_follow_up(lead, employee, due_at=in_hours(5))
        services.change_status(lead, "to_quote", employee)
        assert Lead.objects.get(pk=lead.pk).status.key == "to_quote"

    def test_rule_is_editable(self, lead, employee):
        PipelineStatus.objects.filter(key="postponed").update(requires_follow_up=False)
        services.change_status(lead, "postponed", employee)
        assert Lead.objects.get(pk=lead.pk).status.key == "postponed"

    @pytest.mark.parametrize("status, note", [("won", ""), ("not_viable", "No budget"), ("negative", "")])
    def test_closing_cancels_open_follow_ups(self, lead, manager, status, note):
        first = followups.schedule_follow_up(lead, manager, due_at=in_hours(5))
        second = followups.schedule_follow_up(lead, manager, due_at=in_hours(9))
        services.change_status(lead, status, manager, note, lost_reason="price")
        lead.refresh_from_db()
        assert lead.next_action_at is None
        assert set(FollowUp.objects.filter(pk__in=[first.pk, second.pk]).values_list("state", flat=True)) == {
            "cancelled"
        }
        assert follow_up_events(lead)[-2:] == ["cancelled", "cancelled"]

    def test_contact_attempt_schedules_the_next_follow_up(self, lead, employee):
        due = in_hours(24)
        services.log_contact_attempt(
            lead, employee, "phone", "no_answer", follow_up_at=due, follow_up_kind="call"
        )
        lead.refresh_from_db()
        assert lead.first_contacted_at is not None and lead.next_action_at == due
        assert lead.follow_ups.get().kind == "call"


class TestHandOverAndMerge:
    def test_reassignment_hands_open_follow_ups_over(self, lead, employee, other_employee, manager):
        follow_up = followups.schedule_follow_up(lead, employee, due_at=in_hours(5))
        services.assign(lead, other_employee, manager)
        assert FollowUp.objects.get(pk=follow_up.pk).assignee == other_employee

    def test_merge_moves_open_follow_ups_to_the_lead_that_stays(self, brands, lead, employee, manager):
        other = services.assign(
            intake.create_lead(intake.LeadData(brand=brands["intralog"], contact_name="Ana P.")), employee
        )
        follow_up = followups.schedule_follow_up(other, employee, due_at=in_hours(5))
        services.merge_leads(other, lead, manager)
        other.refresh_from_db()
        lead.refresh_from_db()
        assert FollowUp.objects.get(pk=follow_up.pk).lead_id == lead.pk
        assert lead.next_action_at == follow_up.due_at and other.next_action_at is None


class TestViews:
    def form_time(self, hours):
        return timezone.localtime(in_hours(hours)).strftime("%Y-%m-%d %H:%M")

    def test_employee_schedules_completes_from_the_lead(self, client_for, lead, employee):
        client = client_for(employee)
        assert client.get(url("follow_up", lead.pk)).status_code == 200
        response = client.post(
            url("follow_up", lead.pk), {"kind": "call", "due_at": self.form_time(4), "assignee": employee.pk}
        )
        assert response.status_code == 302
        follow_up = lead.follow_ups.get()
        assert client.post(url("follow_up_done", follow_up.pk), {}).status_code == 302
        assert FollowUp.objects.get(pk=follow_up.pk).state == "done"

    def test_past_date_gives_a_clear_error_in_both_languages(self, client_for, lead, employee):
        client = client_for(employee)
        data = {"kind": "call", "due_at": self.form_time(-3), "assignee": employee.pk}
        assert "in the past" in client.post(url("follow_up", lead.pk), data).content.decode()
        with override("es-ar"):
            response = client.post(url("follow_up", lead.pk), data, HTTP_ACCEPT_LANGUAGE="es-AR")
        assert "pasado" in response.content.decode()
        assert not FollowUp.objects.exists()

    def test_bad_input_is_a_form_error(self, client_for, lead, employee):
        client = client_for(employee)
        response = client.post(url("follow_up", lead.pk), {"kind": "fax", "due_at": "tomorrow-ish"})
        assert response.status_code == 200 and not FollowUp.objects.exists()

    def test_forged_posts_on_someone_elses_lead_change_nothing(
        self, client_for, others_lead, employee, manager
    ):
        follow_up = followups.schedule_follow_up(others_lead, manager, due_at=in_hours(6))
        client = client_for(employee)
        assert (
            client.post(
                url("follow_up", others_lead.pk), {"kind": "call", "due_at": self.form_time(4)}
            ).status_code
            == 404
        )
        for name in ("follow_up_done", "follow_up_cancel", "follow_up_edit"):
            assert (
                client.post(
                    url(name, follow_up.pk), {"due_at": self.form_time(9), "kind": "call"}
                ).status_code
                == 404
            )
        assert FollowUp.objects.get(pk=follow_up.pk).state == "open"
        assert others_lead.follow_ups.count() == 1

    def test_manager_of_another_brand_cannot_reach_the_follow_up(
        self, client_for, lead, other_manager, employee
    ):
        follow_up = followups.schedule_follow_up(lead, employee, due_at=in_hours(6))
        assert client_for(other_manager).post(url("follow_up_done", follow_up.pk), {}).status_code == 404
        assert FollowUp.objects.get(pk=follow_up.pk).is_open

    def test_status_form_asks_the_date(self, client_for, lead, employee):
        client = client_for(employee)
        postponed = PipelineStatus.objects.get(key="postponed")
        response = client.post(url("change_status", lead.pk), {"status": postponed.pk})
        assert response.status_code == 200 and "needs the date" in response.content.decode()
        response = client.post(
            url("change_status", lead.pk), {"status": postponed.pk, "follow_up_at": self.form_time(30)}
        )
        assert response.status_code == 302
        assert Lead.objects.get(pk=lead.pk).status.key == "postponed"

    def test_lead_page_offers_the_follow_up_action(self, client_for, lead, employee):
        response = client_for(employee).get(url("inspect", lead.pk))
        assert url("follow_up", lead.pk) in response.content.decode()

    def test_unknown_follow_up_is_404(self, client_for, admin_user):
        assert client_for(admin_user).get(url("follow_up_edit", 987654)).status_code == 404
