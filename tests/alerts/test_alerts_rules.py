"""Alert rules end to end over real SMTP and HTTP: triggers, conditions, recipients, language, privacy."""

import pytest

from alerts.models import AlertPreferences, Notification
from crm import services
from crm.models import Campaign, Priority, Role, Service
from crm.services import edit_lead
from tests.alerts_support import *  # noqa: F403
from tests.alerts_support import run_jobs

pytestmark = pytest.mark.usefixtures("alerts_env")


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    def run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            result = func(*args, **kwargs)
        run_jobs()
        return result

    return run


def emails_to(smtp, address):
    return [message for message in smtp.messages if address in message["to"]]


def whatsapp_to(server, number):
    return [request for request in server.requests if request["json"]["to"] == number]


def test_new_lead_emails_the_brand_managers_with_html_text_and_a_link(
    alerts_env, make_rule, manager, new_lead
):
    make_rule(trigger="new_lead", notify_brand_managers=True)
    lead = new_lead(contact_name="Juan <script>alert(1)</script>", message="x" * 5000)

    [received] = emails_to(alerts_env["smtp"], manager.email)
    message = received["message"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = f"http://testserver/admin/leads/inspect/{lead.pk}/"
    assert link in text
    assert f'href="{link}"' in html
    assert "&lt;script&gt;" in html
    assert "<script>" not in html
    assert "x" * 400 not in text
    assert Notification.objects.get(recipient=manager).status == Notification.Status.SENT


def test_new_lead_of_another_brand_does_not_reach_this_brands_manager(
    alerts_env, make_rule, manager, other_manager, new_lead
):
    make_rule(trigger="new_lead", notify_brand_managers=True)
    new_lead("intrapal")
    assert emails_to(alerts_env["smtp"], other_manager.email)
    assert not emails_to(alerts_env["smtp"], manager.email)


def test_assigned_alerts_the_assignee_only(
    alerts_env, make_rule, manager, employee, other_employee, new_lead, commit
):
    make_rule(trigger="assigned", notify_assignee=True, send_whatsapp=True)
    employee.whatsapp = "+5491155551234"
    employee.save()
    lead = new_lead()
    commit(services.assign, lead, employee, manager)

    assert len(emails_to(alerts_env["smtp"], employee.email)) == 1
    assert not emails_to(alerts_env["smtp"], other_employee.email)
    [request] = whatsapp_to(alerts_env["whatsapp"], "5491155551234")
    assert request["path"] == "/v21.0/1234567890/messages"
    assert request["authorization"] == "Bearer test-token"
    assert request["json"]["type"] == "template"
    parameters = request["json"]["template"]["components"][0]["parameters"]
    assert any(f"http://testserver/admin/leads/inspect/{lead.pk}/" in p["text"] for p in parameters)


def test_status_changed_only_for_chosen_statuses(alerts_env, make_rule, manager, new_lead, commit):
    make_rule(trigger="status_changed", statuses=["won"], notify_brand_managers=True)
    lead = new_lead()
    commit(services.change_status, lead, "contacted", manager)
    assert not emails_to(alerts_env["smtp"], manager.email)
    commit(services.change_status, lead, "won", manager)
    [message] = emails_to(alerts_env["smtp"], manager.email)
    assert "status" in message["message"]["Subject"].lower()


def _alerted(alerts_env, manager, new_lead, **fields):
    alerts_env["smtp"].clear()
    new_lead(**fields)
    return len(emails_to(alerts_env["smtp"], manager.email))


def test_condition_source(alerts_env, make_rule, manager, new_lead):
    from crm.models import Source

    rule = make_rule(trigger="new_lead", notify_brand_managers=True)
    rule.sources.set([Source.objects.get(key="phone")])
    assert _alerted(alerts_env, manager, new_lead, source_key="phone") == 1
    assert _alerted(alerts_env, manager, new_lead, source_key="web_form") == 0


def test_condition_service(alerts_env, make_rule, manager, new_lead, brands):
    pallets = Service.objects.create(brand=brands["intralog"], name="Bench pallets")
    storage = Service.objects.create(brand=brands["intralog"], name="Bench storage")
    rule = make_rule(trigger="new_lead", notify_brand_managers=True)
    rule.services.set([pallets])
    assert _alerted(alerts_env, manager, new_lead, service=pallets) == 1
    assert _alerted(alerts_env, manager, new_lead, service=storage) == 0


def test_condition_campaign(alerts_env, make_rule, manager, new_lead):
    spring, autumn = Campaign.objects.create(name="Spring"), Campaign.objects.create(name="Autumn")
    rule = make_rule(trigger="new_lead", notify_brand_managers=True)
    rule.campaigns.set([spring])
    assert _alerted(alerts_env, manager, new_lead, campaign=spring) == 1
    assert _alerted(alerts_env, manager, new_lead, campaign=autumn) == 0


def test_condition_tags_checked_after_the_lead_is_tagged(alerts_env, make_rule, manager, new_lead):
    make_rule(trigger="new_lead", notify_brand_managers=True, tags="VIP, key account")
    assert _alerted(alerts_env, manager, new_lead, tags=["vip"]) == 1
    assert _alerted(alerts_env, manager, new_lead, tags=["cold"]) == 0
    assert Notification.objects.filter(error_code="conditions").count() == 1


def test_condition_minimum_priority(alerts_env, make_rule, manager, new_lead, commit):
    make_rule(trigger="status_changed", notify_brand_managers=True, min_priority=Priority.HIGH)
    for priority, expected in ((Priority.URGENT, 1), (Priority.LOW, 0)):
        lead = new_lead()
        commit(edit_lead, lead, manager, {"priority": priority})
        alerts_env["smtp"].clear()
        commit(services.change_status, lead, "contacted", manager)
        assert len(emails_to(alerts_env["smtp"], manager.email)) == expected


def test_junk_leads_are_excluded_by_default(alerts_env, make_rule, manager, new_lead, commit):
    rule = make_rule(trigger="status_changed", notify_brand_managers=True)
    commit(services.change_status, new_lead(), "negative", manager)
    assert not emails_to(alerts_env["smtp"], manager.email)
    rule.include_junk = True
    rule.save()
    commit(services.change_status, new_lead(), "negative", manager)
    assert len(emails_to(alerts_env["smtp"], manager.email)) == 1


def test_chosen_users_and_role_recipients(alerts_env, make_rule, make_user, admin_user, marketer, new_lead):
    chosen = make_user("chosen", Role.MANAGER, ("intralog", "intrapal"))
    make_rule(name="chosen", trigger="new_lead", users=[chosen])
    make_rule(name="role", trigger="new_lead", role=Role.ADMIN)
    new_lead()
    assert len(emails_to(alerts_env["smtp"], chosen.email)) == 1
    assert len(emails_to(alerts_env["smtp"], admin_user.email)) == 1
    assert not emails_to(alerts_env["smtp"], marketer.email)


def test_nobody_gets_details_of_a_lead_they_may_not_see(
    alerts_env, make_rule, employee, marketer, other_manager, new_lead
):
    make_rule(trigger="new_lead", users=[employee, marketer, other_manager], send_whatsapp=True)
    for user, number in ((employee, "+5491155550001"), (marketer, "+5491155550002")):
        user.whatsapp = number
        user.save()
    new_lead(contact_name="Secret Contact")
    assert not alerts_env["smtp"].messages
    assert not alerts_env["whatsapp"].requests
    skipped = Notification.objects.filter(status=Notification.Status.SKIPPED)
    assert skipped.count() == 6
    assert set(skipped.values_list("error_code", flat=True)) == {"not_allowed"}


def test_message_in_the_recipients_language(alerts_env, make_rule, manager, admin_user, new_lead):
    from wagtail.users.models import UserProfile

    profile = UserProfile.get_for_user(manager)
    profile.preferred_language = "es-ar"
    profile.save()
    make_rule(
        trigger="new_lead", notify_brand_managers=True, role=Role.ADMIN, message_es="Hola {contact_name}"
    )
    new_lead(contact_name="Ana")
    [spanish] = emails_to(alerts_env["smtp"], manager.email)
    [english] = emails_to(alerts_env["smtp"], admin_user.email)
    assert "Hola Ana" in spanish["message"].get_body(("plain",)).get_content()
    assert "New lead" in english["message"]["Subject"]


def test_personal_preferences_mute_a_channel(alerts_env, make_rule, manager, new_lead):
    manager.whatsapp = "+5491155551111"
    manager.save()
    AlertPreferences.objects.create(user=manager, muted=["new_lead:email"])
    make_rule(trigger="new_lead", notify_brand_managers=True, send_whatsapp=True)
    new_lead()
    assert not emails_to(alerts_env["smtp"], manager.email)
    assert len(whatsapp_to(alerts_env["whatsapp"], "5491155551111")) == 1


def test_lead_with_alerts_skipped_sends_nothing(alerts_env, make_rule, manager, new_lead, commit):
    make_rule(trigger="status_changed", notify_brand_managers=True)
    lead = new_lead()
    lead.skip_alerts = True
    lead.save()
    commit(services.change_status, lead, "contacted", manager)
    assert not alerts_env["smtp"].messages


def test_missing_email_is_reported_not_retried(alerts_env, make_rule, manager, new_lead):
    manager.email = ""
    manager.save()
    make_rule(trigger="new_lead", notify_brand_managers=True)
    new_lead()
    notification = Notification.objects.get(recipient=manager)
    assert notification.status == Notification.Status.FAILED
    assert notification.error_code == "missing_email"


def test_smtp_refusal_is_permanent_and_4xx_is_retried(alerts_env, make_rule, manager, new_lead):
    make_rule(trigger="new_lead", notify_brand_managers=True)
    alerts_env["smtp"].refuse_next((550, "No such user"))
    new_lead()
    assert Notification.objects.get().error_code == "smtp_550"
    assert Notification.objects.get().status == Notification.Status.FAILED
    Notification.objects.all().delete()
    alerts_env["smtp"].refuse_next((451, "Try later"))
    new_lead()
    notification = Notification.objects.get()
    assert notification.status == Notification.Status.PENDING
    assert notification.error_code == "smtp_451"
    assert notification.next_attempt_at is not None
