"""The lead service layer: every change writes exactly its LeadEvent and Wagtail log entry, atomically."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from wagtail.log_actions import registry as log_registry
from wagtail.models import ModelLogEntry

from crm import intake, services
from crm.events import LOG_ACTIONS
from crm.models import Lead, LeadEvent, PipelineStatus, Priority
from crm.signals import lead_event_recorded

pytestmark = pytest.mark.django_db


def new_lead(brand, **fields):
    return intake.create_lead(intake.LeadData(brand=brand, **fields))


def lead_logs(lead):
    return ModelLogEntry.objects.filter(object_id=str(lead.pk)).order_by("pk")


def kinds(lead):
    return list(LeadEvent.objects.filter(lead=lead).order_by("pk").values_list("kind", flat=True))


@pytest.fixture
def lead(brands):
    return new_lead(brands["intralog"], contact_name="Ana Pérez", email="ana@example.com")


@pytest.fixture
def failing_receiver():
    """Makes the next recorded event blow up inside the transaction."""

    def explode(sender, event, **kwargs):
        raise RuntimeError("boom")

    lead_event_recorded.connect(explode, dispatch_uid="test-explode")
    yield
    lead_event_recorded.disconnect(dispatch_uid="test-explode")


class TestCreateLead:
    def test_writes_created_and_classified_events_with_log_entries(self, brands, lead):
        assert kinds(lead) == ["created", "classified"]
        actions = list(lead_logs(lead).values_list("action", flat=True))
        assert actions == ["wagtail.create", "crm.lead.classified"]
        created = lead.events.get(kind="created")
        assert created.actor is None and created.to_value == "pending"
        assert lead.status.key == "pending"
        assert lead.get_classification_reason_display() == "No classification rule matched."

    def test_records_the_actor(self, brands, manager):
        lead = intake.create_lead(intake.LeadData(brand=brands["intralog"], email="x@example.com"), manager)
        assert lead.events.get(kind="created").actor == manager
        assert lead_logs(lead).get(action="wagtail.create").user_id == manager.pk

    def test_normalises_email_and_phone(self, brands):
        lead = new_lead(brands["intralog"], email="  Ana@Example.COM ", phone="011 4555-1234")
        assert lead.email == "ana@example.com"
        assert lead.phone_e164 == "+541145551234"
        assert lead.phone == "011 4555-1234"

    def test_keeps_given_tags(self, brands):
        lead = new_lead(brands["intralog"], email="t@example.com", tags=["fair-2026"])
        assert set(lead.tags.names()) == {"fair-2026"}

    def test_duplicate_external_reference_is_refused_and_nothing_is_written(self, brands):
        ref = {"external_source": "wordpress", "external_form": "3", "external_id": "77"}
        new_lead(brands["intralog"], email="a@example.com", **ref)
        events, logs = LeadEvent.objects.count(), ModelLogEntry.objects.count()
        with pytest.raises(IntegrityError):
            new_lead(brands["intralog"], email="b@example.com", **ref)
        assert Lead.objects.count() == 1
        assert (LeadEvent.objects.count(), ModelLogEntry.objects.count()) == (events, logs)

    def test_failure_rolls_back_lead_event_and_log(self, brands, failing_receiver):
        with pytest.raises(RuntimeError):
            new_lead(brands["intralog"], email="z@example.com")
        assert not Lead.objects.exists()
        assert not LeadEvent.objects.exists()
        assert not ModelLogEntry.objects.filter(content_type__model="lead").exists()


class TestSingleChanges:
    def test_change_status(self, lead, manager):
        before_logs = lead_logs(lead).count()
        services.change_status(lead, "contacted", manager, "called")
        lead.refresh_from_db()
        assert lead.status.key == "contacted"
        event = lead.events.latest("pk")
        assert (event.kind, event.from_value, event.to_value, event.note, event.actor) == (
            "status_changed",
            "pending",
            "contacted",
            "called",
            manager,
        )
        log = lead_logs(lead).last()
        assert lead_logs(lead).count() == before_logs + 1
        assert (log.action, log.user_id, log.data["event"]) == (
            "crm.lead.status_changed",
            manager.pk,
            event.pk,
        )

    def test_change_status_needs_reason_for_lost(self, lead, manager):
        with pytest.raises(ValidationError):
            services.change_status(lead, "not_viable", manager, "  ")
        assert kinds(lead) == ["created", "classified"]

    def test_change_status_rolls_back_on_failure(self, lead, manager, failing_receiver):
        logs = lead_logs(lead).count()
        with pytest.raises(RuntimeError):
            services.change_status(lead, "contacted", manager)
        lead.refresh_from_db()
        assert lead.status.key == "pending"
        assert kinds(lead) == ["created", "classified"]
        assert lead_logs(lead).count() == logs

    def test_assign_writes_assignment_and_status_events(self, lead, manager, employee):
        services.assign(lead, employee, manager, "yours")
        lead.refresh_from_db()
        assert lead.assignee == employee and lead.status.key == "assigned"
        assigned = lead.events.get(kind="assigned")
        assert assigned.actor == manager
        assert assigned.data == {"from_id": None, "to_id": employee.pk, "automatic": False}
        assert list(lead_logs(lead).values_list("action", flat=True))[-2:] == [
            "crm.lead.assigned",
            "crm.lead.status_changed",
        ]

    def test_assign_refuses_someone_outside_the_brand(self, lead, manager, intrapal_employee):
        with pytest.raises(ValidationError):
            services.assign(lead, intrapal_employee, manager)
        lead.refresh_from_db()
        assert lead.assignee is None
        assert kinds(lead) == ["created", "classified"]

    def test_assign_refuses_inactive_people(self, lead, manager, employee):
        employee.is_active = False
        employee.save()
        with pytest.raises(ValidationError):
            services.assign(lead, employee, manager)

    def test_assign_rolls_back_on_failure(self, lead, manager, employee, failing_receiver):
        with pytest.raises(RuntimeError):
            services.assign(lead, employee, manager)
        lead.refresh_from_db()
        assert lead.assignee is None and lead.status.key == "pending"
        assert kinds(lead) == ["created", "classified"]

    def test_note_and_contact_attempt(self, lead, employee):
        services.add_note(lead, employee, "Prefers mornings")
        services.log_contact_attempt(lead, employee, "phone", "no_answer", "busy")
        lead.refresh_from_db()
        assert kinds(lead)[-2:] == ["note", "contact_attempt"]
        attempt = lead.events.get(kind="contact_attempt")
        assert (attempt.channel, attempt.outcome, attempt.note) == ("phone", "no_answer", "busy")
        assert lead.first_contacted_at is not None
        assert list(lead_logs(lead).values_list("action", flat=True))[-2:] == [
            "crm.lead.note",
            "crm.lead.contact_attempt",
        ]

    def test_edit_lead_records_changes(self, lead, manager):
        services.edit_lead(lead, manager, {"company": "Acme SA", "priority": Priority.HIGH})
        event = lead.events.get(kind="edited")
        assert set(event.data["changes"]) == {"company", "priority"}
        assert lead_logs(lead).last().action == "wagtail.edit"

    def test_tag_lead_writes_classified_event_once(self, lead):
        event = services.tag_lead(lead, ["spam", "wp_trash"], note="Marked as spam in WordPress")
        assert set(lead.tags.names()) == {"spam", "wp_trash"}
        assert (event.kind, event.actor, event.data) == ("classified", None, {"tags": ["spam", "wp_trash"]})
        assert event.note == "Marked as spam in WordPress"
        assert lead_logs(lead).last().action == "crm.lead.classified"
        assert services.tag_lead(lead, "spam") is None
        assert kinds(lead).count("classified") == 2

    def test_tag_lead_rolls_back_on_failure(self, lead, failing_receiver):
        with pytest.raises(RuntimeError):
            services.tag_lead(lead, "spam")
        assert list(lead.tags.names()) == []


class TestBulk:
    @pytest.fixture
    def leads(self, brands):
        return [new_lead(brands["intralog"], email=f"bulk{i}@example.com") for i in range(3)]

    def test_bulk_assign_gives_each_lead_its_own_event(self, leads, manager, employee):
        count = services.bulk_assign(
            Lead.objects.filter(pk__in=[lead.pk for lead in leads]), employee, manager
        )
        assert count == 3
        for lead in leads:
            lead.refresh_from_db()
            assert lead.assignee == employee
            assert lead.events.filter(kind="assigned", actor=manager).count() == 1
            assert lead_logs(lead).filter(action="crm.lead.assigned").count() == 1
        assert (
            services.bulk_assign(Lead.objects.filter(pk__in=[lead.pk for lead in leads]), employee, manager)
            == 0
        )

    def test_bulk_assign_rechecks_access_all_or_nothing(
        self, leads, brands, other_manager, manager, employee
    ):
        foreign = new_lead(brands["intrapal"], email="foreign@example.com")
        with pytest.raises(PermissionDenied):
            services.bulk_assign(Lead.objects.filter(pk__in=[leads[0].pk, foreign.pk]), employee, manager)
        assert not Lead.objects.filter(assignee=employee).exists()
        assert not LeadEvent.objects.filter(kind="assigned").exists()

    def test_employees_cannot_bulk_assign(self, leads, manager, employee):
        services.assign(leads[0], employee, manager)
        with pytest.raises(PermissionDenied):
            services.bulk_assign(Lead.objects.filter(pk=leads[0].pk), None, employee)

    def test_bulk_assign_refuses_assignee_of_another_brand(self, leads, manager, intrapal_employee):
        with pytest.raises(ValidationError):
            services.bulk_assign(
                Lead.objects.filter(pk__in=[lead.pk for lead in leads]), intrapal_employee, manager
            )
        assert not LeadEvent.objects.filter(kind="assigned").exists()

    def test_bulk_change_status(self, leads, manager):
        queryset = Lead.objects.filter(pk__in=[lead.pk for lead in leads])
        assert services.bulk_change_status(queryset, "contacted", manager, "campaign call") == 3
        for lead in leads:
            event = lead.events.get(kind="status_changed")
            assert (event.to_value, event.note, event.actor) == ("contacted", "campaign call", manager)
            assert lead_logs(lead).filter(action="crm.lead.status_changed").count() == 1

    def test_bulk_change_status_pipeline_rule_is_all_or_nothing(self, leads, manager, employee):
        for lead in leads:
            services.assign(lead, employee, manager)
        services.change_status(leads[2], "quoted", manager)
        queryset = Lead.objects.filter(pk__in=[lead.pk for lead in leads])
        with pytest.raises(PermissionDenied):
            services.bulk_change_status(queryset, "contacted", employee)
        assert set(queryset.values_list("status__key", flat=True)) == {"assigned", "quoted"}
        assert not LeadEvent.objects.filter(kind="status_changed", to_value="contacted").exists()

    def test_bulk_change_status_rechecks_row_access(self, leads, employee, other_employee, manager):
        services.assign(leads[0], employee, manager)
        services.assign(leads[1], other_employee, manager)
        queryset = Lead.objects.filter(pk__in=[leads[0].pk, leads[1].pk])
        with pytest.raises(PermissionDenied):
            services.bulk_change_status(queryset, "contacted", employee)
        assert not LeadEvent.objects.filter(kind="status_changed", to_value="contacted").exists()


class TestClassifyAgain:
    def test_classify_records_event_and_applies_rules(self, lead, manager):
        lead.message = "see http://a.example http://b.example http://c.example"
        lead.save()
        outcome = services.classify(lead, manager)
        lead.refresh_from_db()
        assert [rule.name for rule in outcome.rules] == ["Link spam"]
        assert lead.status.key == "negative"
        event = lead.events.latest("pk")
        assert (event.kind, event.from_value, event.to_value, event.actor) == (
            "classified",
            "pending",
            "negative",
            manager,
        )
        assert "spam" in lead.tags.names()


def test_lead_log_actions_are_registered():
    for action in LOG_ACTIONS.values():
        assert log_registry.action_exists(action), action


def test_statuses_are_seeded():
    assert PipelineStatus.objects.count() == 12
