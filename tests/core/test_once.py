"""POSTs carried out once (``core.once``): the same POST again, a double click or a proxy's retry after its
app server died, does nothing twice; a POST whose work failed is carried out when sent again."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from core import once
from core.models import OnceKey
from crm.intake import LeadData, create_lead
from crm.models import LeadEvent, PipelineStatus
from crm.services import assign
from tests.threads import in_thread

ACTION = re.compile(r'<form action="([^"]*[?&]once=[^"]+)" method="POST"')


@pytest.fixture
def lead(brands, manager, employee):
    made = create_lead(LeadData(brand=brands["intralog"], contact_name="Una Vez"), actor=manager)
    return assign(made, employee, actor=manager)


def action_url(client, url):
    """The ``once`` action of the form on the page at ``url``, as the browser would post to it."""
    page = client.get(url)
    assert page.status_code == 200
    return unescape(ACTION.search(page.content.decode()).group(1))


def notes(lead):
    return LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.NOTE).count()


def test_a_note_sent_twice_from_one_rendering_is_added_once(lead, employee, client_for):
    client = client_for(employee)
    url = action_url(client, reverse("crm_leads:note", args=[lead.pk]))

    first = client.post(url, {"note": "Llamé, pide cotización"}, follow=True)
    again = client.post(url, {"note": "Llamé, pide cotización"}, follow=True)

    assert notes(lead) == 1
    assert first.redirect_chain[-1][0] == reverse("crm_leads:inspect", args=[lead.pk])
    assert again.redirect_chain[-1][0] == reverse("crm_leads:inspect", args=[lead.pk])
    assert "This was done already." in again.content.decode()


def test_each_rendering_has_its_own_key_and_a_page_sent_with_other_values_is_carried_out(
    lead, employee, client_for
):
    client = client_for(employee)
    page = reverse("crm_leads:note", args=[lead.pk])
    assert action_url(client, page) != action_url(client, page)
    url = action_url(client, page)

    client.post(url, {"note": "Primera"})
    # The browser's back button shows the page with the same key; what is sent now differs.
    client.post(url, {"note": "Segunda"})

    assert notes(lead) == 2


def test_the_lead_pages_status_move_is_carried_out_once(lead, employee, client_for):
    client = client_for(employee)
    url = action_url(client, reverse("crm_leads:inspect", args=[lead.pk]))
    contacted = PipelineStatus.objects.get(key="contacted")

    for _attempt in range(2):
        assert client.post(url, {"status": contacted.pk}).status_code == 302

    moves = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.STATUS_CHANGED)
    assert list(moves.order_by("pk").values_list("to_value", flat=True)) == ["assigned", "contacted"]


def test_an_action_that_fails_leaves_its_key_unclaimed(lead, employee, client_for, monkeypatch):
    """The service refuses (here once, as a rule edited meanwhile would): the user sees why, nothing is
    claimed, and the same form sent again is carried out."""
    from crm import services

    client = client_for(employee)
    url = action_url(client, reverse("crm_leads:note", args=[lead.pk]))
    real = services.add_note

    def refuses_once(*args, **kwargs):
        monkeypatch.setattr(services, "add_note", real)
        raise ValidationError("Nope, not now.")

    monkeypatch.setattr(services, "add_note", refuses_once)
    refused = client.post(url, {"note": "Llamé"})
    assert refused.status_code == 200 and "Nope, not now." in refused.content.decode()
    assert not OnceKey.objects.exists()

    assert client.post(url, {"note": "Llamé"}).status_code == 302
    assert notes(lead) == 1


@pytest.mark.django_db
def test_a_claim_goes_with_the_work_that_fails():
    with pytest.raises(RuntimeError), transaction.atomic():
        assert once.claim("scope:key")
        raise RuntimeError

    assert not once.claimed("scope:key")
    with transaction.atomic():
        assert once.claim("scope:key")
        assert not once.claim("scope:key")
    assert once.claimed("scope:key")


@pytest.mark.django_db
def test_a_key_too_long_for_the_column_is_claimed_by_its_digest():
    key = "lead-form:" + "x" * 400
    assert once.claim(key)
    assert not once.claim(key)
    assert len(OnceKey.objects.get().key) == 64


@pytest.mark.django_db
def test_claims_past_their_time_are_forgotten():
    once.claim("old", keep=timedelta(hours=1))
    once.claim("new", keep=timedelta(days=2))

    assert once.purge_expired(timezone.now() + timedelta(days=1)) == 1
    assert list(OnceKey.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.parametrize("value", ["", "short", "x" * 65, "bad key with spaces!!", "😀" * 20])
def test_a_malformed_key_is_no_key(rf, value):
    assert once.key_of(rf.post(f"/?{once.PARAMETER}={value}")) is None
    assert once.key_of(rf.post("/?once=" + "a" * 22)) == "a" * 22


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_of_simultaneous_claims_of_one_key_exactly_one_wins():
    """Eight requests with one key at once, each in its own transaction: one claims it, the others wait
    for its commit and find it claimed."""

    def claim():
        with transaction.atomic():
            return once.claim("race:one")

    started = [in_thread(claim) for _ in range(8)]
    for thread, _result in started:
        thread.join(timeout=30)
    assert sorted(result["value"] for _thread, result in started) == [False] * 7 + [True]
