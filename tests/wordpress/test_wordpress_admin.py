"""The "WordPress" admin menu: admins only, write-only password, Sync now, token rotation, quarantine."""

import pytest
from django.urls import reverse

from crm.models import Lead
from tests.fake_wordpress import *  # noqa: F403 - fixtures
from tests.fake_wordpress import run_queued_jobs
from wordpress.models import SourceForm, Submission, SyncRun, WordPressSource

SECRET = "zzzz YYYY xxxx WWWW vvvv UUUU"


@pytest.fixture
def source(brands):
    source = WordPressSource.objects.create(
        name="Sitio",
        slug="sitio",
        shape="legacy",
        url="http://127.0.0.1:9/forms",
        username="u",
        app_password=SECRET,
    )
    SourceForm.objects.create(source=source, form_id="3", brand=brands["intralog"])
    return source


@pytest.fixture
def quarantined(source):
    return Submission.objects.create(
        source=source,
        form_id="3",
        external_id="77",
        payload={"id": 77, "created_at": "2025-06-01 10:00:00", "Email": "q@example.com"},
        state=Submission.State.QUARANTINED,
        reason="The submission has no readable date.",
    )


def urls(source, quarantined):
    return [
        reverse("wordpress_source:index"),
        reverse("wordpress_source:edit", args=[source.pk]),
        reverse("wordpress_source:inspect", args=[source.pk]),
        reverse("wordpress_source:add"),
        reverse("wordpress_source:sync_now", args=[source.pk]),
        reverse("wordpress_source:rotate", args=[source.pk, "token"]),
        reverse("wordpress_run:index"),
        reverse("wordpress_quarantine:index"),
        reverse("wordpress_quarantine:inspect", args=[quarantined.pk]),
        reverse("wordpress_quarantine:act", args=[quarantined.pk, "dismiss"]),
    ]


def test_admin_sees_every_page_and_never_the_password(admin_user, client_for, source, quarantined):
    client = client_for(admin_user)
    for url in urls(source, quarantined):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert SECRET not in body and SECRET.replace(" ", "") not in body
    assert "Sitio" in client.get(reverse("wordpress_source:index")).content.decode()
    assert "77" in client.get(reverse("wordpress_quarantine:index")).content.decode()


@pytest.mark.parametrize("who", ["manager", "employee", "marketer"])
def test_other_roles_cannot_see_or_post(request, client_for, source, quarantined, who):
    client = client_for(request.getfixturevalue(who))
    for url in urls(source, quarantined):
        assert client.get(url).status_code in (302, 403), url
    token = source.webhook_token
    for url in (
        reverse("wordpress_source:sync_now", args=[source.pk]),
        reverse("wordpress_source:rotate", args=[source.pk, "token"]),
        reverse("wordpress_quarantine:act", args=[quarantined.pk, "dismiss"]),
        reverse("wordpress_quarantine:act", args=[quarantined.pk, "retry"]),
        reverse("wordpress_source:edit", args=[source.pk]),
        reverse("wordpress_source:delete", args=[source.pk]),
    ):
        assert client.post(url, {"name": "hacked"}).status_code in (302, 403), url
    source.refresh_from_db()
    quarantined.refresh_from_db()
    assert source.webhook_token == token and source.name == "Sitio"
    assert quarantined.state == Submission.State.QUARANTINED
    assert not SyncRun.objects.exists()


def _edit_data(source, password=""):
    form = source.forms.get()
    return {
        "name": source.name,
        "slug": source.slug,
        "shape": source.shape,
        "url": source.url,
        "timezone": source.timezone,
        "username": source.username,
        "new_app_password": password,
        "enabled": "on",
        "interval_minutes": "10",
        "page_size": "100",
        "rescan_hours": "72",
        "forms-TOTAL_FORMS": "1",
        "forms-INITIAL_FORMS": "1",
        "forms-MIN_NUM_FORMS": "1",
        "forms-MAX_NUM_FORMS": "1000",
        "forms-0-id": str(form.pk),
        "forms-0-form_id": "3",
        "forms-0-brand": str(form.brand_id),
        "forms-0-default_service": "",
        "forms-0-field_mapping": '{"Cargo": "company"}',
    }


def test_editing_keeps_or_replaces_the_password_and_clears_invalid_credentials(
    admin_user, client_for, source
):
    client = client_for(admin_user)
    WordPressSource.objects.filter(pk=source.pk).update(health=WordPressSource.Health.CREDENTIALS_INVALID)
    response = client.post(reverse("wordpress_source:edit", args=[source.pk]), _edit_data(source))
    assert response.status_code == 302, response.content.decode()[:3000]
    source.refresh_from_db()
    assert source.app_password == SECRET and source.interval_minutes == 10
    assert source.health == WordPressSource.Health.UNKNOWN
    assert source.forms.get().field_mapping == {"Cargo": "company"}
    client.post(reverse("wordpress_source:edit", args=[source.pk]), _edit_data(source, "new pass word"))
    source.refresh_from_db()
    assert source.app_password == "new pass word"


def test_sync_now_runs_the_job(
    admin_user, client_for, fake_wp, make_source, fast_retries, django_capture_on_commit_callbacks
):
    site_source = make_source(fake_wp, "collection")
    client = client_for(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("wordpress_source:sync_now", args=[site_source.pk]))
    run_queued_jobs("default")
    assert response.status_code == 302
    run = SyncRun.objects.get(source=site_source)
    assert run.trigger == SyncRun.Trigger.MANUAL and run.status == SyncRun.Status.SUCCEEDED
    assert Lead.objects.filter(external_source=site_source.external_key).count() == 17
    page = client.get(reverse("wordpress_run:inspect", args=[run.pk])).content.decode()
    assert "succeeded" in page.lower() or "Succeeded" in page


def test_rotate_token(admin_user, client_for, source):
    old = source.webhook_token
    client_for(admin_user).post(reverse("wordpress_source:rotate", args=[source.pk, "token"]))
    source.refresh_from_db()
    assert source.webhook_token != old and len(source.webhook_token) >= 40


def test_quarantine_retry_and_dismiss(admin_user, client_for, source, quarantined, brands):
    client = client_for(admin_user)
    response = client.post(reverse("wordpress_quarantine:act", args=[quarantined.pk, "retry"]))
    assert response.status_code == 302
    quarantined.refresh_from_db()
    assert quarantined.state == Submission.State.STORED
    lead = Lead.objects.get(external_source=source.external_key, external_id="77")
    assert lead.email == "q@example.com"

    other = Submission.objects.create(
        source=source, form_id="3", external_id="78", payload={"id": 78}, state="quarantined", reason="x"
    )
    client.post(reverse("wordpress_quarantine:act", args=[other.pk, "retry"]))
    other.refresh_from_db()
    assert other.state == Submission.State.QUARANTINED
    retry_url = reverse("wordpress_quarantine:act", args=[other.pk, "retry"])
    assert retry_url in client.get(reverse("wordpress_quarantine:index")).content.decode()
    client.post(reverse("wordpress_quarantine:act", args=[other.pk, "dismiss"]))
    other.refresh_from_db()
    assert other.state == Submission.State.DISMISSED
    assert retry_url not in client.get(reverse("wordpress_quarantine:index")).content.decode()
