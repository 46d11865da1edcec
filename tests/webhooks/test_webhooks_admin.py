"""Settings → Webhooks: admins create (the secret shown once), edit (never the secret), rotate, resume,
send a test event, read the delivery log and resend; nobody else reaches any of it."""

import pytest
from django.urls import reverse

from tests.webhooks_support import *  # noqa: F403
from webhooks.models import Delivery, Subscription
from webhooks.services import send_test

pytestmark = pytest.mark.usefixtures("fast_webhooks")


def form_data(**overrides):
    data = {"name": "ERP", "url": "https://erp.example.com/hook", "events": ["lead.created", "lead.won"]}
    data["is_active"] = "on"
    data.update(overrides)
    return data


def test_the_secret_is_shown_once_when_created_and_never_again(client_for, admin_user):
    client = client_for(admin_user)
    response = client.post(reverse("webhooks_subscription:add"), form_data())
    assert response.status_code == 200, response.content.decode()[:3000]
    subscription = Subscription.objects.get()
    assert subscription.events == ["lead.created", "lead.won"]
    assert subscription.secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    for url in (
        reverse("webhooks_subscription:edit", args=[subscription.pk]),
        reverse("webhooks_subscription:index"),
    ):
        page = client.get(url)
        assert page.status_code == 200
        assert subscription.secret not in page.content.decode()


def test_rotating_shows_the_new_secret_once(client_for, admin_user, make_subscription):
    subscription = make_subscription("https://erp.example.com/hook")
    old = subscription.secret
    client = client_for(admin_user)
    url = reverse("webhooks_subscription:act", args=[subscription.pk, "rotate"])
    assert client.get(url).status_code == 200
    response = client.post(url)
    subscription.refresh_from_db()
    assert subscription.secret != old
    assert subscription.secret in response.content.decode()


def test_the_stored_secret_is_encrypted(make_subscription):
    from django.db import connection

    subscription = make_subscription("https://erp.example.com/hook")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_subscription WHERE id = %s", [subscription.pk])
        [(stored,)] = cursor.fetchall()
    assert subscription.secret not in stored


def test_resume_test_event_log_and_resend(client_for, admin_user, make_subscription, receiver):
    from django.utils import timezone

    fake = receiver().start()
    subscription = make_subscription(fake.url, paused_at=timezone.now(), pause_reason="HTTP 500")
    client = client_for(admin_user)
    edit = client.get(reverse("webhooks_subscription:edit", args=[subscription.pk])).content.decode()
    assert reverse("webhooks_subscription:act", args=[subscription.pk, "resume"]) in edit
    response = client.post(reverse("webhooks_subscription:act", args=[subscription.pk, "resume"]))
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.paused_at is None
    client.post(reverse("webhooks_subscription:act", args=[subscription.pk, "test"]))
    delivery = Delivery.objects.get()
    listing = client.get(reverse("webhooks_delivery:index"), {"subscription": subscription.pk})
    assert listing.status_code == 200 and str(delivery.uid) in listing.content.decode()
    inspect = client.get(reverse("webhooks_delivery:inspect", args=[delivery.pk]))
    assert inspect.status_code == 200
    response = client.post(reverse("webhooks_delivery:resend", args=[delivery.pk]))
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.resend_requested


@pytest.mark.parametrize(
    "params",
    [{"subscription": "x"}, {"status": "nope"}, {"lead": "abc"}, {"event_type": "<script>"}, {"p": "-1"}],
)
def test_hostile_filters_do_not_break_the_log(client_for, admin_user, params):
    response = client_for(admin_user).get(reverse("webhooks_delivery:index"), params)
    assert response.status_code in (200, 404)


@pytest.mark.parametrize("role_fixture", ["manager", "employee", "marketer"])
def test_nobody_but_admins_reaches_any_webhook_page(request, client_for, role_fixture, make_subscription):
    subscription = make_subscription("https://erp.example.com/hook")
    delivery = send_test(subscription)
    client = client_for(request.getfixturevalue(role_fixture))
    urls = [
        reverse("webhooks_subscription:index"),
        reverse("webhooks_subscription:add"),
        reverse("webhooks_subscription:edit", args=[subscription.pk]),
        reverse("webhooks_subscription:delete", args=[subscription.pk]),
        reverse("webhooks_delivery:index"),
        reverse("webhooks_delivery:inspect", args=[delivery.pk]),
        reverse("webhooks_delivery:resend", args=[delivery.pk]),
        *(
            reverse("webhooks_subscription:act", args=[subscription.pk, a])
            for a in ("resume", "rotate", "test")
        ),
    ]
    for url in urls:
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code in (302, 403, 404), (url, response.status_code)
            if response.status_code == 302:
                assert "/webhooks/" not in response["Location"]
            assert subscription.secret not in response.content.decode()
    subscription.refresh_from_db()
    assert Subscription.objects.count() == 1 and Delivery.objects.count() == 1
    delivery.refresh_from_db()
    assert not delivery.resend_requested
