"""Alerts in the admin: who edits rules, who reads the delivery log and resends, personal preferences."""

import pytest
from django.urls import reverse

from alerts.models import AlertPreferences, AlertRule, Notification
from tests.alerts_support import *  # noqa: F403

pytestmark = pytest.mark.usefixtures("alerts_env")
Status = Notification.Status


def rule_form(**overrides):
    data = {
        "name": "Urgent leads",
        "is_active": "on",
        "trigger": "new_lead",
        "threshold": "0",
        "tags": "",
        "notify_brand_managers": "on",
        "role": "",
        "send_email": "on",
        "delivery": "immediate",
        "quiet_hours_start": "",
        "quiet_hours_end": "",
        "message_en": "",
        "message_es": "",
        "min_priority": "",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("role_fixture", ["manager", "admin_user"])
def test_managers_and_admins_edit_rules(request, client_for, role_fixture, brands):
    user = request.getfixturevalue(role_fixture)
    client = client_for(user)
    assert client.get(reverse("alert_rules:index")).status_code == 200
    response = client.post(reverse("alert_rules:add"), rule_form(brands=[brands["intralog"].pk]))
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = AlertRule.objects.get(name="Urgent leads")
    assert rule.notify_brand_managers and rule.send_email and not rule.send_whatsapp


@pytest.mark.parametrize("role_fixture", ["employee", "marketer"])
def test_others_cannot_edit_rules(request, client_for, role_fixture, make_rule):
    rule = make_rule()
    client = client_for(request.getfixturevalue(role_fixture))
    assert client.get(reverse("alert_rules:index")).status_code in (302, 403)
    response = client.post(reverse("alert_rules:add"), rule_form(name="Forged"))
    assert response.status_code in (302, 403)
    response = client.post(reverse("alert_rules:edit", args=[rule.pk]), rule_form(name="Forged"))
    assert response.status_code in (302, 403)
    assert not AlertRule.objects.filter(name="Forged").exists()


def test_delivery_log_with_filters_for_admins(
    alerts_env, admin_user, manager, make_rule, new_lead, client_for
):
    manager.whatsapp = "+5491155551234"
    manager.save()
    make_rule(trigger="new_lead", notify_brand_managers=True, send_whatsapp=True)
    alerts_env["whatsapp"].fail_next((401, 190))
    new_lead()
    client = client_for(admin_user)
    everything = client.get(reverse("alerts_deliveries:index"))
    assert everything.status_code == 200
    failed = client.get(reverse("alerts_deliveries:index"), {"status": "failed"})
    assert failed.status_code == 200
    assert len(failed.context["object_list"]) == 1
    assert failed.context["object_list"][0].error_code == "190"
    admin_problems = client.get(reverse("alerts_deliveries:index"), {"needs_admin": "true"})
    assert len(admin_problems.context["object_list"]) == 1
    assert "test-token" not in everything.content.decode()


def test_delivery_log_is_closed_to_managers_and_employees(
    admin_user, manager, employee, make_rule, client_for
):
    for user in (manager, employee):
        client = client_for(user)
        assert client.get(reverse("alerts_deliveries:index")).status_code in (302, 403)


def test_resend_sends_again_and_forged_posts_are_refused(
    alerts_env, admin_user, manager, make_rule, new_lead, client_for
):
    make_rule(trigger="new_lead", notify_brand_managers=True)
    alerts_env["smtp"].refuse_next((550, "Mailbox unavailable"))
    new_lead()
    notification = Notification.objects.get()
    assert notification.status == Status.FAILED
    url = reverse("alerts_deliveries:resend", args=[notification.pk])

    forged = client_for(manager).post(url)
    assert forged.status_code in (302, 403)
    assert not alerts_env["smtp"].messages

    client = client_for(admin_user)
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    notification.refresh_from_db()
    assert notification.status == Status.SENT
    assert [message["to"] for message in alerts_env["smtp"].messages] == [[manager.email]]


def test_account_preferences_panel(alerts_env, employee, client_for, make_rule, new_lead, manager):
    employee.first_name, employee.last_name = "Eva", "Empleada"
    employee.save()
    client = client_for(employee)
    page = client.get(reverse("wagtailadmin_account"))
    assert page.status_code == 200
    assert 'name="alerts-assigned__whatsapp"' in page.content.decode()
    form = page.context["panels_by_tab"]
    assert form
    data = {}
    for panels in page.context["panels_by_tab"].values():
        for panel in panels:
            bound = panel.get_form()
            for name, field in bound.fields.items():
                value = bound.initial.get(name, field.initial)
                if value is True:
                    data[f"{panel.name}-{name}"] = "on"
                elif value not in (None, False):
                    data[f"{panel.name}-{name}"] = str(value)
    data.pop("alerts-assigned__email", None)
    data["alerts-whatsapp"] = "+54 9 11 5555 4321"
    response = client.post(reverse("wagtailadmin_account"), data)
    errors = {
        panel.name: panel.get_form().errors
        for panels in (response.context or {}).get("panels_by_tab", {}).values()
        for panel in panels
    }
    assert response.status_code == 302, errors
    employee.refresh_from_db()
    assert str(employee.whatsapp) == "+5491155554321"
    assert AlertPreferences.objects.get(user=employee).muted == ["assigned:email"]


def test_account_preferences_reject_a_bad_number(employee, client_for):
    client = client_for(employee)
    response = client.post(reverse("wagtailadmin_account"), {"alerts-whatsapp": "not a number"})
    assert response.status_code == 200
    employee.refresh_from_db()
    assert not employee.whatsapp


def test_our_error_codes_are_shown_in_the_readers_language(
    alerts_env, admin_user, manager, employee, make_rule, new_lead, client_for
):
    from django.utils import translation
    from django.utils.translation import gettext
    from wagtail.users.models import UserProfile

    make_rule("chosen", "new_lead", users=[employee])
    make_rule("managers", "new_lead", notify_brand_managers=True, send_email=False, send_whatsapp=True)
    new_lead()
    hidden = Notification.objects.get(recipient=employee)
    no_phone = Notification.objects.get(recipient=manager)
    assert (hidden.status, hidden.error_code, hidden.error) == (Status.SKIPPED, "not_allowed", "")
    assert (no_phone.status, no_phone.error_code) == (Status.FAILED, "missing_phone")

    profile = UserProfile.get_for_user(admin_user)
    profile.preferred_language = "es-ar"
    profile.save()
    client = client_for(admin_user)
    with translation.override("es-ar"):
        expected = [
            gettext("The recipient may not see this lead."),
            gettext("The recipient has no WhatsApp number."),
        ]
    for notification, text in zip((hidden, no_phone), expected, strict=True):
        page = client.get(reverse("alerts_deliveries:inspect", args=[notification.pk]))
        assert page.status_code == 200
        assert text in page.content.decode()
