"""The audit trail in the admin: admins read, filter and export it; nobody edits it; nobody else sees it."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from crm import audit
from crm.models import AuditEntry
from tests.two_factor_support import sign_in_fully

pytestmark = pytest.mark.django_db

INDEX = "crm_audit_trail:index"
HOSTILE_TARGET = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
def trail(admin_user, employee, manager):
    """Three entries of two actors and actions; one is old and one has a formula-like target."""
    erase = audit.record(audit.PERSONAL_DATA_ERASE, employee, target="lead 7", detail={"leads": [7]})
    export = audit.record(audit.EXPORT, manager, target=HOSTILE_TARGET, detail={"rows": 3})
    old = AuditEntry.objects.create(
        at=timezone.now() - timedelta(days=40),
        action=audit.TWO_FACTOR_RESET,
        actor_id=admin_user.pk,
        actor_name=admin_user.username,
        target="old reset",
    )
    return {"erase": erase, "export": export, "old": old}


def listed_pks(response):
    return {entry.pk for entry in response.context["object_list"]}


def csv_rows(response):
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_admin_browses_and_filters_by_action_actor_and_date(client, admin_user, employee, trail):
    sign_in_fully(client, admin_user)
    url = reverse(INDEX)
    everything = client.get(url)
    assert everything.status_code == 200
    assert {trail["erase"].pk, trail["export"].pk, trail["old"].pk} <= listed_pks(everything)
    assert "lead 7" in everything.content.decode()

    by_action = client.get(url, {"action": audit.PERSONAL_DATA_ERASE})
    assert listed_pks(by_action) == {trail["erase"].pk}
    by_actor = client.get(url, {"actor": employee.pk})
    assert trail["erase"].pk in listed_pks(by_actor) and trail["export"].pk not in listed_pks(by_actor)
    today = timezone.localdate()
    in_range = client.get(url, {"at_from": today.isoformat(), "at_to": today.isoformat()})
    assert trail["erase"].pk in listed_pks(in_range) and trail["old"].pk not in listed_pks(in_range)
    long_ago = (today - timedelta(days=41)).isoformat(), (today - timedelta(days=39)).isoformat()
    assert listed_pks(client.get(url, {"at_from": long_ago[0], "at_to": long_ago[1]})) == {trail["old"].pk}
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert listed_pks(client.get(url, {"at_from": tomorrow})) == set()
    searched = client.get(url, {"q": "lead 7"})
    assert listed_pks(searched) == {trail["erase"].pk}


@pytest.mark.parametrize(
    "params",
    [
        {"at_from": "not-a-date"},
        {"at_from": "2026-13-45", "at_to": "9999999-01-01"},
        {"actor": "abc"},
        {"actor": "99999999"},
        {"actor": "-1"},
        {"action": "no.such.action"},
        {"action": "x" * 5000},
        {"ordering": "detail__evil"},
        {"p": "-3"},
        {"p": "99999999999999999999"},
        {"q": "\x00"},
    ],
)
def test_bad_filters_answer_without_an_error(client, admin_user, trail, params):
    sign_in_fully(client, admin_user)
    client.raise_request_exception = False
    response = client.get(reverse(INDEX), params)
    assert response.status_code in (200, 400, 404)
    if response.status_code == 200 and any(key in params for key in ("at_from", "actor", "action")):
        assert listed_pks(response) == set()


def test_export_neutralises_formulas_and_is_itself_audited(client, admin_user, trail):
    sign_in_fully(client, admin_user)
    response = client.get(reverse(INDEX), {"action": audit.EXPORT, "export": "csv"}, REMOTE_ADDR="10.0.0.8")
    rows = csv_rows(response)
    hostile = [row for row in rows if "HYPERLINK" in row["Target"]]
    assert hostile and all(row["Target"] == "'" + HOSTILE_TARGET for row in hostile)
    assert {row["Action code"] for row in rows} == {audit.EXPORT}
    entry = AuditEntry.objects.filter(action=audit.EXPORT, actor_id=admin_user.pk).latest("pk")
    assert (entry.target, entry.ip_address, entry.detail["filter"]) == (
        "audit-trail",
        "10.0.0.8",
        {"action": audit.EXPORT},
    )
    assert entry.detail["rows"] == len(rows)
    xlsx = client.get(reverse(INDEX), {"export": "xlsx"})
    assert xlsx.status_code == 200
    assert (
        AuditEntry.objects.filter(action=audit.EXPORT, actor_id=admin_user.pk).latest("pk").detail["format"]
        == "xlsx"
    )


def test_inspect_page_shows_the_detail(client, admin_user, trail):
    sign_in_fully(client, admin_user)
    response = client.get(reverse("crm_audit_trail:inspect", args=[trail["erase"].pk]))
    assert response.status_code == 200
    text = response.content.decode()
    assert "lead 7" in text and "&quot;leads&quot;" in text


def test_nobody_adds_edits_or_deletes_an_entry(client, admin_user, trail):
    sign_in_fully(client, admin_user)
    entry = trail["erase"]
    index = client.get(reverse(INDEX)).content.decode()
    assert reverse("crm_audit_trail:add") not in index
    assert reverse("crm_audit_trail:edit", args=[entry.pk]) not in index
    assert reverse("crm_audit_trail:delete", args=[entry.pk]) not in index
    count = AuditEntry.objects.count()
    for response in (
        client.get(reverse("crm_audit_trail:add")),
        client.post(reverse("crm_audit_trail:add"), {"action": "forged"}),
        client.get(reverse("crm_audit_trail:edit", args=[entry.pk])),
        client.post(reverse("crm_audit_trail:edit", args=[entry.pk]), {"target": "forged"}),
        client.get(reverse("crm_audit_trail:delete", args=[entry.pk])),
        client.post(reverse("crm_audit_trail:delete", args=[entry.pk])),
    ):
        assert_denied(response)
    assert AuditEntry.objects.get(pk=entry.pk).target == "lead 7"
    assert not AuditEntry.objects.filter(action="forged").exists()
    assert AuditEntry.objects.count() == count
    codenames = set(
        Permission.objects.filter(content_type__model="auditentry").values_list("codename", flat=True)
    )
    assert codenames == {"view_auditentry"}


def assert_denied(response):
    """Wagtail answers PermissionDenied with a redirect to the dashboard (or 403)."""
    assert response.status_code in (302, 403, 404)
    if response.status_code == 302:
        assert response["Location"] == reverse("wagtailadmin_home")


@pytest.mark.parametrize("role", ["manager", "employee", "marketer"])
def test_other_roles_never_see_the_trail(request, client, trail, role):
    person = request.getfixturevalue(role)
    sign_in_fully(client, person)
    for url in (
        reverse(INDEX),
        reverse(INDEX) + "?export=csv",
        reverse(INDEX) + "?export=xlsx",
        reverse("crm_audit_trail:index_results"),
        reverse("crm_audit_trail:inspect", args=[trail["erase"].pk]),
    ):
        response = client.get(url)
        assert_denied(response)
        assert b"lead 7" not in response.content
    menu = client.get(reverse("wagtailadmin_home")).content.decode()
    assert reverse(INDEX) not in menu


def test_signed_out_visitors_are_sent_to_sign_in(client, trail):
    response = client.get(reverse(INDEX))
    assert response.status_code == 302 and response["Location"].startswith(reverse("wagtailadmin_login"))
