"""Creating leads through the API: the same intake as every channel, once per Idempotency-Key."""

import json

from crm.models import Lead, LeadEvent, Role
from tests.api.conftest import ApiClient


def body(brands, **extra):
    return {
        "brand": brands["intralog"].pk,
        "contact_name": "Nueva Persona",
        "email": "n@example.com",
        **extra,
    }


def test_a_retry_returns_the_same_lead(api_for, manager, brands):
    api = api_for(manager)
    first = api.post("/leads", body(brands, source="phone"), HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == 201, first.content
    again = api.post("/leads", body(brands, source="phone"), HTTP_IDEMPOTENCY_KEY="abc-1")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["replayed"] is True
    assert Lead.objects.count() == 1
    lead = Lead.objects.get()
    assert lead.created_by == manager and lead.source.key == "phone"
    assert LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.CREATED).count() == 1
    other_token = ApiClient(api_for(manager).token)
    assert (
        other_token.post("/leads", body(brands, source="phone"), HTTP_IDEMPOTENCY_KEY="abc-1").json()["id"]
        == lead.pk
    )


def test_the_same_key_with_another_body_is_a_conflict(api_for, manager, brands):
    api = api_for(manager)
    assert api.post("/leads", body(brands), HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    forged = api.post("/leads", body(brands, contact_name="Otra"), HTTP_IDEMPOTENCY_KEY="k")
    assert forged.status_code == 409
    assert Lead.objects.count() == 1


def test_the_key_is_required_and_per_person(api_for, manager, admin_user, brands):
    assert api_for(manager).post("/leads", body(brands)).status_code == 422
    assert api_for(manager).post("/leads", body(brands), HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    assert api_for(admin_user).post("/leads", body(brands), HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    assert Lead.objects.count() == 2


def test_refusals_keep_no_key(api_for, manager, brands):
    api = api_for(manager)
    assert api.post("/leads", {"brand": brands["intralog"].pk}, HTTP_IDEMPOTENCY_KEY="r").status_code == 422
    assert api.post("/leads", body(brands), HTTP_IDEMPOTENCY_KEY="r").status_code == 201


def test_who_may_create_what(api_for, employee, other_manager, marketer, brands):
    mine = api_for(employee).post("/leads", body(brands), HTTP_IDEMPOTENCY_KEY="e")
    assert mine.status_code == 201
    assert Lead.objects.get(pk=mine.json()["id"]).assignee == employee
    assert mine.json()["lead"]["assignee_id"] == employee.pk
    assert employee.role == Role.EMPLOYEE
    foreign = api_for(other_manager).post("/leads", body(brands), HTTP_IDEMPOTENCY_KEY="m")
    assert foreign.status_code == 422
    assert api_for(marketer).post("/leads", body(brands), HTTP_IDEMPOTENCY_KEY="x").status_code == 403
    raw = json.dumps(body(brands, service=999999))
    assert api_for(employee).post("/leads", raw, HTTP_IDEMPOTENCY_KEY="s").status_code == 422
    assert Lead.objects.count() == 1


def test_keys_are_forgotten_after_the_kept_days_and_their_leads_stay(api_for, manager, brands, settings):
    from datetime import timedelta

    from django.utils import timezone

    from api.models import IdempotencyRecord
    from api.services import purge_idempotency_records

    settings.API_IDEMPOTENCY_KEEP_DAYS = 30
    api = api_for(manager)
    assert api.post("/leads", body(brands), HTTP_IDEMPOTENCY_KEY="old").status_code == 201
    assert (
        api.post("/leads", body(brands, email="m@example.com"), HTTP_IDEMPOTENCY_KEY="new").status_code == 201
    )
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(days=31))
    assert purge_idempotency_records() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    assert Lead.objects.count() == 2
    again = api.post("/leads", body(brands), HTTP_IDEMPOTENCY_KEY="new")
    assert again.status_code == 409, "a kept key still guards against another body"
    assert purge_idempotency_records() == 0
