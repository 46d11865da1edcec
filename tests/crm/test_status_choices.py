"""Status selectors offer exactly the moves the pipeline rule (``crm.services.change_status``) allows."""

import datetime
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from crm import intake, services
from crm.forms.leads import BulkStatusForm, ChangeStatusForm
from crm.models import Lead, PipelineStatus

pytestmark = pytest.mark.django_db

OPEN_KEYS = ["assigned", "contacted", "to_quote", "quoted", "interested", "postponed"]
CLOSED_KEYS = ["won", "not_advanced", "not_viable", "new_client", "negative"]


def SOON():  # noqa: N802 - reads as a constant
    return timezone.now() + datetime.timedelta(days=1)


@pytest.fixture
def make_lead(brands, manager, employee):
    def make(key, name="Cliente"):
        lead = intake.create_lead(intake.LeadData(brand=brands["intralog"], contact_name=name))
        services.assign(lead, employee, manager)
        if key != "assigned":
            services.change_status(
                lead, key, manager, note="preparado", follow_up_at=SOON(), lost_reason="other"
            )
        return Lead.objects.select_related("status").get(pk=lead.pk)

    return make


def allowed_by_service(lead, actor):
    """The statuses ``change_status`` accepts for ``actor`` on ``lead``, each tried and rolled back."""
    allowed = set()
    for status in PipelineStatus.objects.exclude(pk=lead.status_id):
        try:
            with transaction.atomic():
                services.change_status(
                    lead, status, actor, note="prueba", follow_up_at=SOON(), lost_reason="other"
                )
                allowed.add(status.key)
                transaction.set_rollback(True)
        except PermissionDenied:
            pass
    return allowed


def offered(form):
    return {status.key for status in form.fields["status"].queryset}


def page_moves(html):
    """The statuses the lead page offers as one-click moves."""
    return {int(pk) for pk in re.findall(r'data-status-move="(\d+)"', html)}


def select_options(html):
    select = re.search(r'<select name="status"[^>]*>(.*?)</select>', html, re.S).group(1)
    return {int(pk) for pk in re.findall(r'<option value="(\d+)"', select)}


@pytest.mark.parametrize("key", OPEN_KEYS + CLOSED_KEYS)
@pytest.mark.parametrize("role_fixture", ["employee", "manager", "admin_user"])
def test_offered_statuses_are_exactly_the_allowed_moves(request, make_lead, key, role_fixture):
    actor = request.getfixturevalue(role_fixture)
    lead = make_lead(key)
    assert offered(ChangeStatusForm(user=actor, leads=[lead])) == allowed_by_service(lead, actor)


def test_employee_is_not_offered_backward_statuses(make_lead, employee, client_for):
    lead = make_lead("quoted")
    html = client_for(employee).get(reverse("crm_leads:inspect", args=[lead.pk])).content.decode()
    keys = dict(PipelineStatus.objects.values_list("pk", "key"))
    shown = {keys[pk] for pk in page_moves(html)}
    assert shown == {"interested", "won", "postponed", "not_advanced", "not_viable", "new_client", "negative"}


def test_employee_sees_no_status_action_on_a_closed_lead(make_lead, employee, client_for):
    lead = make_lead("won")
    client = client_for(employee)
    html = client.get(reverse("crm_leads:inspect", args=[lead.pk])).content.decode()
    assert page_moves(html) == set()
    assert 'data-action-name="note"' in html
    page = client.get(reverse("crm_leads:change_status", args=[lead.pk])).content.decode()
    assert select_options(page) == set()
    assert "only a manager can move a lead back or reopen it" in page


def test_manager_is_offered_every_other_status(make_lead, manager, client_for):
    lead = make_lead("quoted")
    client = client_for(manager)
    html = client.get(reverse("crm_leads:change_status", args=[lead.pk])).content.decode()
    others = set(PipelineStatus.objects.exclude(key="quoted").values_list("pk", flat=True))
    assert select_options(html) == others
    page = client.get(reverse("crm_leads:inspect", args=[lead.pk])).content.decode()
    assert page_moves(page) == others


@pytest.mark.parametrize("key", OPEN_KEYS + CLOSED_KEYS)
@pytest.mark.parametrize("role_fixture", ["employee", "manager"])
def test_the_lead_page_offers_exactly_the_allowed_moves(request, make_lead, client_for, key, role_fixture):
    actor = request.getfixturevalue(role_fixture)
    lead = make_lead(key)
    html = client_for(actor).get(reverse("crm_leads:inspect", args=[lead.pk])).content.decode()
    keys = dict(PipelineStatus.objects.values_list("pk", "key"))
    assert {keys[pk] for pk in page_moves(html)} == allowed_by_service(lead, actor)


def test_bulk_status_offers_the_moves_allowed_for_every_selected_lead(make_lead, employee, client_for):
    contacted, quoted = make_lead("contacted", "Uno"), make_lead("quoted", "Dos")
    form = BulkStatusForm(user=employee, leads=[contacted, quoted])
    assert offered(form) == allowed_by_service(contacted, employee) & allowed_by_service(quoted, employee)
    assert "to_quote" not in offered(form) and "interested" in offered(form)

    bulk = reverse("wagtail_bulk_action", args=("crm", "lead", "change_status"))
    html = client_for(employee).get(f"{bulk}?id={contacted.pk}&id={quoted.pk}").content.decode()
    assert select_options(html) == {status.pk for status in form.fields["status"].queryset}


def test_every_offered_bulk_move_succeeds(make_lead, employee, client_for):
    leads = [make_lead("contacted", "Uno"), make_lead("quoted", "Dos")]
    client = client_for(employee)
    bulk = reverse("wagtail_bulk_action", args=("crm", "lead", "change_status"))
    query = "?" + "&".join(f"id={lead.pk}" for lead in leads)
    choice = PipelineStatus.objects.get(pk=min(select_options(client.get(bulk + query).content.decode())))
    response = client.post(bulk + query, {"status": choice.pk, "note": "avanzamos"})
    assert response.status_code == 302
    assert set(
        Lead.objects.filter(pk__in=[lead.pk for lead in leads]).values_list("status__key", flat=True)
    ) == {choice.key}
