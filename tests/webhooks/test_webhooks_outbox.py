"""The outbox: lead events become outbox rows and one delivery per matching subscription, in the change's
own transaction, on every path (one lead, batches, bulk actions); nothing at all without subscribers."""

import pytest
from django.db import transaction

from crm import services
from crm.intake import LeadData, create_lead, create_leads
from crm.models import Lead, LeadEvent, Source
from tests.webhooks_support import *  # noqa: F403
from webhooks import outbox
from webhooks.models import Delivery, EventType, OutboxEvent

pytestmark = pytest.mark.usefixtures("fast_webhooks")


def draft(brands, index, brand="intralog"):
    return LeadData(
        brand=brands[brand],
        contact_name=f"Persona {index}",
        email=f"persona{index}@example.com",
        source=Source.objects.get(key="phone"),
        external_source="test",
        external_id=str(index),
    )


def types_of(lead):
    return sorted(OutboxEvent.objects.filter(lead=lead).values_list("event_type", flat=True))


def test_each_event_of_interest_is_queued_once_per_subscription(
    brands, admin_user, employee, make_subscription
):
    everything = make_subscription("http://127.0.0.1:9/a")
    only_won = make_subscription("http://127.0.0.1:9/b", events=[EventType.LEAD_WON], name="Ganados")
    lead = create_lead(draft(brands, 1))
    services.assign(lead, employee, admin_user)
    services.change_status(lead, "contacted", admin_user)
    services.change_status(lead, "won", admin_user)
    services.add_note(lead, admin_user, "Una nota")
    assert types_of(lead) == sorted(
        [
            "lead.created",
            "lead.assigned",
            "lead.status_changed",  # pending -> assigned
            "lead.status_changed",  # assigned -> contacted
            "lead.status_changed",  # contacted -> won
            "lead.won",
        ]
    )
    assert Delivery.objects.filter(subscription=everything).count() == 6
    assert list(
        Delivery.objects.filter(subscription=only_won).values_list("event__event_type", flat=True)
    ) == ["lead.won"]
    won = OutboxEvent.objects.get(event_type="lead.won")
    assert won.payload["lead"]["status"] == "won" and won.payload["lead"]["assignee_id"] == employee.pk


def test_a_lost_lead(brands, admin_user, make_subscription):
    make_subscription("http://127.0.0.1:9/a", events=[EventType.LEAD_LOST])
    lead = create_lead(draft(brands, 1))
    services.change_status(lead, "not_viable", admin_user, note="Sin presupuesto", lost_reason="price")
    assert types_of(lead) == ["lead.lost"]


def test_a_rolled_back_change_queues_nothing(brands, make_subscription):
    make_subscription("http://127.0.0.1:9/a")
    with pytest.raises(RuntimeError), transaction.atomic():
        create_lead(draft(brands, 1))
        assert OutboxEvent.objects.count() == 1
        raise RuntimeError
    assert not OutboxEvent.objects.exists() and not Delivery.objects.exists()


def test_brand_filter(brands, make_subscription):
    make_subscription("http://127.0.0.1:9/a", brands=[brands["intrapal"]])
    create_lead(draft(brands, 1))
    create_lead(draft(brands, 2, "intrapal"))
    assert list(Delivery.objects.values_list("event__lead__brand__code", flat=True)) == ["intrapal"]


def test_batches_and_bulk_actions_queue_every_event(brands, admin_user, employee, make_subscription):
    make_subscription("http://127.0.0.1:9/a")
    leads = [lead for lead in create_leads([draft(brands, index) for index in range(30)]) if lead]
    assert OutboxEvent.objects.filter(event_type="lead.created").count() == 30
    queryset = Lead.objects.filter(pk__in=[lead.pk for lead in leads])
    assert services.bulk_assign(queryset, employee, admin_user) == 30
    assert services.bulk_change_status(queryset, "won", admin_user) == 30
    assert OutboxEvent.objects.filter(event_type="lead.assigned").count() == 30
    assert OutboxEvent.objects.filter(event_type="lead.won").count() == 30
    events = LeadEvent.objects.filter(kind__in=["created", "assigned", "status_changed"]).count()
    assert OutboxEvent.objects.exclude(event_type="lead.won").count() == events
    assert Delivery.objects.count() == OutboxEvent.objects.count()


def test_no_subscriber_no_query(brands, django_assert_num_queries):
    lead = create_lead(draft(brands, 1))
    event = LeadEvent.objects.filter(lead=lead).first()
    with django_assert_num_queries(0):
        assert outbox.record([event]) == 0
    assert not OutboxEvent.objects.exists()


def test_money_fields_in_the_payload(brands, admin_user, make_subscription):
    make_subscription("http://127.0.0.1:9/a", events=[EventType.LEAD_WON])
    lead = create_lead(draft(brands, 1))
    Lead.objects.filter(pk=lead.pk).update(won_amount="1500.50", won_currency="USD")
    lead.refresh_from_db()
    services.change_status(lead, "won", admin_user)
    payload = OutboxEvent.objects.get().payload["lead"]
    assert payload["won_amount"] == "1500.50" and payload["won_currency"] == "USD"
    assert "quote_amount" not in payload
