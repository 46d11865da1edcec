"""Retention: the dry run counts the rows due per table, a run changes exactly those rows (and logs itself),
anonymised leads keep what the dashboards count, bad periods are refused, and only admins reach it."""

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from wagtail.models import ModelLogEntry

from conversations.models import Conversation, Message
from conversations.models import WebhookDelivery as WhatsAppWebhook
from crm.intake import LeadData, create_lead
from crm.models import Campaign, FollowUp, Lead, LeadEvent, PipelineStatus, Service
from crm.services import add_note
from dashboards import metrics
from dashboards.filters import load_catalogue, read_filters
from dashboards.models import DashboardSettings
from forms_builder.models import LeadFormSubmission
from retention import runs
from retention.models import RetentionRun, RetentionSettings
from retention.policy import months_before
from retention.services import anonymise_leads
from tests.fake_wordpress import run_queued_jobs
from tests.forms_support import make_form_page
from tests.two_factor_support import sign_in_fully
from wordpress.models import Submission, WordPressSource
from wordpress.models import WebhookDelivery as WordPressWebhook

PERSONAL = ("contact_name", "company", "email", "phone", "phone_e164", "location", "message", "search_text")


def _lead(brand, name, *, status=None, closed_days_ago=0, received_days_ago=0, **extra):
    lead = create_lead(
        LeadData(
            brand,
            contact_name=name,
            company=f"{name} SA",
            email=f"{name.lower().replace(' ', '.')}@example.com",
            phone="011 4444-5555",
            message=f"Mensaje de {name}",
            raw_payload={"name": name},
            service=Service.objects.filter(brand=brand).first(),
            campaign=extra.pop("campaign", None),
        )
    )
    now = timezone.now()
    changes = {"received_at": now - timedelta(days=received_days_ago)}
    if status:
        changes.update(
            status=PipelineStatus.objects.get(key=status),
            status_changed_at=now - timedelta(days=closed_days_ago),
        )
    Lead.objects.filter(pk=lead.pk).update(**changes)
    return Lead.objects.get(pk=lead.pk)


@pytest.fixture
def world(brands):
    """Leads of both brands, old and new, junk, lost and open, and raw records of every kind."""
    intralog, intrapal = brands["intralog"], brands["intrapal"]
    campaign = Campaign.objects.create(name="Campaña retención", brand=intralog)
    leads = {
        "old_junk": _lead(intralog, "Juana Vieja", status="negative", closed_days_ago=400, campaign=campaign),
        "old_junk_other_brand": _lead(intrapal, "Pedro Viejo", status="negative", closed_days_ago=400),
        "new_junk": _lead(intralog, "Nina Nueva", status="negative", closed_days_ago=10),
        "old_lost": _lead(
            intralog, "Luis Perdido", status="not_viable", closed_days_ago=400, received_days_ago=400
        ),
        "old_open": _lead(intrapal, "Olga Abierta", received_days_ago=200),
        "new_open": _lead(intralog, "Nico Reciente"),
    }
    source = WordPressSource.objects.create(
        name="Sitio", slug="sitio", shape="legacy", url="http://127.0.0.1:9/x"
    )
    old = timezone.now() - timedelta(days=100)
    submissions = {
        "old_stored": Submission.objects.create(
            source=source, form_id="3", external_id="1", payload={"n": "a"}, state="stored", received_at=old
        ),
        "old_of_junk": Submission.objects.create(
            source=source,
            form_id="3",
            external_id="2",
            payload={"n": "b"},
            state="stored",
            received_at=old,
            lead=leads["old_junk"],
        ),
        "old_quarantined": Submission.objects.create(
            source=source,
            form_id="3",
            external_id="3",
            payload={"n": "c"},
            state="quarantined",
            received_at=old,
        ),
        "new_stored": Submission.objects.create(
            source=source, form_id="3", external_id="4", payload={"n": "d"}, state="stored"
        ),
    }
    wp_hooks = {
        state: WordPressWebhook.objects.create(
            source=source,
            body=b'{"x": 1}',
            body_sha256=state,
            authenticated_by="token",
            state=state,
            received_at=old,
        )
        for state in ("processed", "pending")
    }
    wa_hooks = {
        state: WhatsAppWebhook.objects.create(
            body=state.encode(),
            body_sha256=hashlib.sha256(state.encode()).hexdigest(),
            state=state,
            received_at=old,
        )
        for state in ("processed", "ignored", "pending")
    }
    page = make_form_page(intralog)
    form_sub = LeadFormSubmission.objects.create(
        page=page, form_data={"nombre": "Fede"}, lead=leads["new_open"]
    )
    LeadFormSubmission.objects.filter(pk=form_sub.pk).update(submit_time=old)
    return {
        "leads": leads,
        "submissions": submissions,
        "wp_hooks": wp_hooks,
        "wa_hooks": wa_hooks,
        "form": form_sub,
    }


def _set(**periods):
    settings = RetentionSettings.load()
    for name, value in periods.items():
        setattr(settings, name, value)
    settings.save()
    return settings


def _settings_url():
    settings = RetentionSettings.load()
    return reverse("wagtailsettings:edit", args=["retention", "retentionsettings", settings.pk])


def _snapshot():
    """Every row the retention touches, as comparable values."""
    return {
        "leads": {
            lead.pk: tuple(getattr(lead, f) for f in (*PERSONAL, "raw_payload"))
            for lead in Lead.objects.all()
        },
        "submissions": dict(Submission.objects.values_list("pk", "payload")),
        "wp_hooks": {pk: bytes(body) for pk, body in WordPressWebhook.objects.values_list("pk", "body")},
        "wa_hooks": {pk: bytes(body) for pk, body in WhatsAppWebhook.objects.values_list("pk", "body")},
        "forms": dict(LeadFormSubmission.objects.values_list("pk", "form_data")),
    }


def _changed(before, after):
    return {table: {pk for pk in before[table] if before[table][pk] != after[table][pk]} for table in before}


@pytest.mark.django_db
def test_with_no_periods_nothing_is_due_and_a_run_changes_nothing(world):
    assert all(line.due is None for line in runs.report())
    before = _snapshot()
    log = runs.run()
    assert log is not None and log.status == RetentionRun.Status.SUCCEEDED and log.counts == {}
    assert _snapshot() == before


@pytest.mark.django_db
def test_the_dry_run_counts_match_and_the_run_changes_exactly_those_rows(world):
    _set(junk_months=12, lost_months=12, payload_days=30)
    leads = world["leads"]
    report = {line.key: line.due for line in runs.report()}
    assert report == {
        "junk_leads": 2,
        "lost_leads": 1,
        "lead_payloads": 1,  # old_open; the old lost lead's payload goes with its anonymisation
        "wordpress_submissions": 1,  # old_stored; old_of_junk goes with its lead, quarantine and new stay
        "wordpress_webhooks": 1,
        "whatsapp_webhooks": 2,
        "form_submissions": 1,
    }
    before = _snapshot()
    log = runs.run(RetentionRun.Trigger.COMMAND)
    assert log.counts == report
    assert log.status == RetentionRun.Status.SUCCEEDED and log.finished_at and log.total == 9
    assert log.settings == {"junk_months": 12, "lost_months": 12, "payload_days": 30}
    changed = _changed(before, _snapshot())
    assert changed["leads"] == {
        leads[key].pk for key in ("old_junk", "old_junk_other_brand", "old_lost", "old_open")
    }
    subs = world["submissions"]
    assert changed["submissions"] == {subs["old_stored"].pk, subs["old_of_junk"].pk}
    assert changed["wp_hooks"] == {world["wp_hooks"]["processed"].pk}
    assert changed["wa_hooks"] == {world["wa_hooks"]["processed"].pk, world["wa_hooks"]["ignored"].pk}
    assert changed["forms"] == {world["form"].pk}
    old_open = Lead.objects.get(pk=leads["old_open"].pk)
    assert old_open.raw_payload == {} and old_open.contact_name == "Olga Abierta"
    assert all(line.due == 0 for line in runs.report())
    again = runs.run()
    assert again.total == 0


def _dashboard_figures(user):
    """The dashboards' own figures for the last month (every lead of ``world`` was submitted today): leads
    per status, and per brand, service and source."""
    catalogue = load_catalogue(user)
    today = timezone.localdate()
    period = {"period": "custom", "start": str(today - timedelta(days=30)), "end": str(today)}
    form, flt = read_filters(period, catalogue)
    assert not form.errors, form.errors
    groups = metrics.StatusGroups.from_catalogue(catalogue)
    distribution = metrics.status_distribution(user, flt, groups, DashboardSettings.load())
    return {status: row["leads"] for status, row in distribution.items()}, metrics.breakdowns(user, flt)


@pytest.mark.django_db
def test_anonymising_keeps_what_the_dashboards_count(world, admin_user):
    _set(junk_months=12, lost_months=12)

    def per_brand_and_status():
        return sorted(Lead.objects.values_list("brand__code", "status__key").annotate(n=Count("pk")))

    def facts():
        return {
            lead.pk: (lead.brand_id, lead.status_id, lead.service_id, lead.campaign_id, lead.submitted_at)
            for lead in Lead.objects.all()
        }

    before, facts_before, figures_before = per_brand_and_status(), facts(), _dashboard_figures(admin_user)
    assert runs.run().counts["junk_leads"] == 2
    assert per_brand_and_status() == before
    assert facts() == facts_before
    assert _dashboard_figures(admin_user) == figures_before
    assert Lead.objects.get(pk=world["leads"]["old_junk"].pk).campaign.name == "Campaña retención"


@pytest.mark.django_db
def test_anonymise_leads_blanks_personal_data_and_writes_one_event_each(world, admin_user):
    leads = world["leads"]
    target = leads["old_junk"]
    add_note(target, admin_user, "Llamar a Juana Vieja al 4444-5555")
    FollowUp.objects.create(lead=target, assignee=admin_user, due_at=timezone.now(), note="Juana Vieja")
    conversation = Conversation.objects.create(lead=target, channel="whatsapp", address="+5491144445555")
    Message.objects.create(
        conversation=conversation,
        lead=target,
        channel="whatsapp",
        direction="in",
        status="received",
        body="Hola, soy Juana Vieja",
        template_parameters=["Juana"],
    )
    events_before = LeadEvent.objects.filter(lead=target).count()
    done = anonymise_leads(
        Lead.objects.filter(pk__in=[target.pk, leads["new_open"].pk]), admin_user, "request"
    )
    assert done == 2
    lead = Lead.objects.get(pk=target.pk)
    assert all(getattr(lead, field) == "" for field in PERSONAL)
    assert lead.raw_payload == {} and lead.extra == {}
    assert lead.status.key == "negative" and lead.brand.code == "intralog"
    events = LeadEvent.objects.filter(lead=target)
    assert events.count() == events_before + 1
    event = events.filter(kind=LeadEvent.Kind.ANONYMISED).get()
    assert event.actor == admin_user
    assert event.data["anonymised"] == {"reason": "request"}
    # A classification's note is the system's (the rule that matched), as an erasure keeps it.
    assert not events.exclude(note="").exclude(kind=LeadEvent.Kind.CLASSIFIED).exists()
    assert FollowUp.objects.get(lead=target).note == ""
    assert Conversation.objects.get(lead=target).address == ""
    assert Message.objects.filter(lead=target).values_list("body", "template_parameters").get() == ("", [])
    labels = ModelLogEntry.objects.filter(object_id=str(target.pk), content_type__model="lead")
    assert labels.exists() and set(labels.values_list("label", flat=True)) == {f"#{target.pk}"}
    assert Submission.objects.get(pk=world["submissions"]["old_of_junk"].pk).payload == {}
    assert LeadFormSubmission.objects.get(pk=world["form"].pk).form_data == {}
    assert "Juana" not in str(list(LeadEvent.objects.filter(lead=target).values_list("data", flat=True)))
    assert Lead.objects.get(pk=leads["new_junk"].pk).contact_name == "Nina Nueva"


@pytest.mark.django_db
def test_runs_work_in_id_windows(world):
    _set(junk_months=12, payload_days=30)
    due = {line.key: line.due for line in runs.report()}
    log = runs.run(window=1)
    assert log.counts == {key: value for key, value in due.items() if value is not None}


@pytest.mark.django_db
def test_the_command_reports_then_applies(world):
    _set(junk_months=12)
    out = StringIO()
    call_command("retention", stdout=out)
    assert "junk_leads\t2" in out.getvalue() and "lead_payloads\toff" in out.getvalue()
    assert not RetentionRun.objects.exists()
    out = StringIO()
    call_command("retention", "--apply", stdout=out)
    assert "junk_leads\t2" in out.getvalue()
    assert RetentionRun.objects.get().trigger == RetentionRun.Trigger.COMMAND


def test_months_before_clamps_the_day():
    moment = timezone.now().replace(year=2026, month=3, day=31)
    assert months_before(moment, 1).date().isoformat() == "2026-02-28"
    assert months_before(moment, 15).date().isoformat() == "2024-12-31"


@pytest.mark.django_db
def test_the_admin_page_shows_the_report_and_runs_on_demand(
    client, world, admin_user, django_capture_on_commit_callbacks
):
    _set(junk_months=12)
    sign_in_fully(client, admin_user)
    page = client.get(reverse("retention_report"))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-target="junk_leads"' in body and 'data-due="2"' in body
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("retention_report"))
    assert response.status_code == 302
    run_queued_jobs()
    run = RetentionRun.objects.get()
    assert (
        run.trigger == RetentionRun.Trigger.ADMIN
        and run.actor == admin_user
        and run.counts["junk_leads"] == 2
    )
    assert "Juana Vieja" not in client.get(reverse("retention_report")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["manager", "employee", "marketer"])
def test_only_admins_reach_retention(client, request, role, world):
    user = request.getfixturevalue(role)
    sign_in_fully(client, user)
    for url in (
        reverse("retention_report"),
        reverse("wagtailsettings:edit", args=["retention", "retentionsettings"]),
    ):
        response = client.get(url)
        assert response.status_code in (302, 403), url
    assert client.post(reverse("retention_report")).status_code in (302, 403)
    assert not RetentionRun.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("junk_months", "-3"), ("lost_months", "0"), ("payload_days", "-1"), ("junk_months", "abc")],
)
def test_bad_periods_are_refused(client, admin_user, field, value):
    sign_in_fully(client, admin_user)
    url = _settings_url()
    data = {"junk_months": "", "lost_months": "", "payload_days": "", field: value}
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.context["form"].errors.get(field)
    assert getattr(RetentionSettings.load(), field) is None


@pytest.mark.django_db
def test_good_periods_are_saved(client, admin_user):
    sign_in_fully(client, admin_user)
    response = client.post(_settings_url(), {"junk_months": "6", "lost_months": "", "payload_days": "90"})
    assert response.status_code == 302
    settings = RetentionSettings.load()
    assert (settings.junk_months, settings.lost_months, settings.payload_days) == (6, None, 90)


def test_the_nightly_job_is_scheduled():
    from core.jobs import cron_scheduler

    names = {cron_job.func_name for cron_job in cron_scheduler().get_jobs()}
    assert "retention.jobs.apply_retention" in names


@pytest.mark.django_db
def test_the_job_applies_the_settings_and_logs_a_scheduled_run(world):
    from retention.jobs import apply_retention

    _set(payload_days=30)
    assert apply_retention() == 8
    run = RetentionRun.objects.get()
    assert run.trigger == RetentionRun.Trigger.SCHEDULE and run.actor is None
    assert run.counts == {
        "lead_payloads": 2,
        "wordpress_submissions": 2,
        "wordpress_webhooks": 1,
        "whatsapp_webhooks": 2,
        "form_submissions": 1,
    }


@pytest.mark.django_db
def test_a_second_run_while_one_is_under_way_does_nothing(world):
    RetentionRun.objects.create()
    _set(junk_months=12)
    assert runs.run() is None
    assert Lead.objects.get(pk=world["leads"]["old_junk"].pk).contact_name == "Juana Vieja"
