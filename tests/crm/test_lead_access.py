"""Row-level access helpers for leads, and who reaches the CRM settings in the admin."""

import pytest
from django.urls import reverse

from crm import intake, services
from crm.access import ACTIONS, can_act_on_lead, can_see_lead, leads_for, role_may
from crm.models import AssignmentRule, ClassificationRule, PipelineStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def leads(brands, manager, employee, other_employee):
    def make(brand, email, assignee=None):
        lead = intake.create_lead(intake.LeadData(brand=brands[brand], email=email))
        if assignee:
            services.assign(lead, assignee, None)
            lead.refresh_from_db()
        return lead

    return {
        "mine": make("intralog", "mine@example.com", employee),
        "colleague": make("intralog", "col@example.com", other_employee),
        "unassigned": make("intralog", "none@example.com"),
        "intrapal": make("intrapal", "pal@example.com"),
    }


def visible(user, leads):
    return {
        name for name, lead in leads.items() if lead.pk in set(leads_for(user).values_list("pk", flat=True))
    }


def test_scopes(leads, admin_user, manager, other_manager, employee, marketer):
    assert visible(admin_user, leads) == set(leads)
    assert visible(manager, leads) == {"mine", "colleague", "unassigned"}
    assert visible(other_manager, leads) == {"intrapal"}
    assert visible(employee, leads) == {"mine"}
    assert visible(marketer, leads) == set()


def test_inactive_and_anonymous_see_nothing(leads, employee):
    from django.contrib.auth.models import AnonymousUser

    employee.is_active = False
    employee.save()
    assert not leads_for(employee).exists()
    assert not leads_for(AnonymousUser()).exists()
    assert not can_see_lead(AnonymousUser(), leads["mine"])
    assert not can_act_on_lead(AnonymousUser(), leads["mine"], "note")


def test_can_see_matches_leads_for(
    leads, admin_user, manager, other_manager, employee, other_employee, marketer
):
    for user in (admin_user, manager, other_manager, employee, other_employee, marketer):
        for lead in leads.values():
            assert can_see_lead(user, lead) == leads_for(user).filter(pk=lead.pk).exists()


EMPLOYEE_ACTIONS = {"change_status", "note", "contact", "follow_up", "edit"}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_action_matrix(leads, action, admin_user, manager, other_manager, employee, marketer):
    for name, lead in leads.items():
        assert can_act_on_lead(admin_user, lead, action)
        assert can_act_on_lead(manager, lead, action) == (name != "intrapal")
        assert can_act_on_lead(other_manager, lead, action) == (name == "intrapal")
        assert can_act_on_lead(employee, lead, action) == (name == "mine" and action in EMPLOYEE_ACTIONS)
        assert not can_act_on_lead(marketer, lead, action)


def test_unknown_action_is_an_error(employee):
    with pytest.raises(ValueError):
        role_may(employee, "delete")


def test_can_act_uses_no_query_for_employees(leads, employee, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert can_act_on_lead(employee, leads["mine"], "note")


class TestCRMSettingsAdmin:
    def url(self, model, view="list", *args):
        return reverse(f"wagtailsnippets_crm_{model}:{view}", args=args)

    @pytest.mark.parametrize(
        "model", ["service", "source", "campaign", "pipelinestatus", "classificationrule", "assignmentrule"]
    )
    def test_managers_and_admins_reach_the_lists(self, client_for, manager, admin_user, model):
        for user in (manager, admin_user):
            response = client_for(user).get(self.url(model))
            assert response.status_code == 200, (user, model)

    @pytest.mark.parametrize("model", ["classificationrule", "assignmentrule", "pipelinestatus", "service"])
    def test_employees_are_refused(self, client_for, employee, model):
        assert refused(client_for(employee).get(self.url(model)))

    def test_seeded_rules_are_listed(self, client_for, admin_user):
        response = client_for(admin_user).get(self.url("classificationrule"))
        assert b"Link spam" in response.content and b"Job seeker or vendor" in response.content

    def test_only_admins_edit_statuses(self, client_for, manager, admin_user):
        pending = PipelineStatus.objects.get(key="pending")
        edit = self.url("pipelinestatus", "edit", pending.pk)
        response = client_for(manager).post(
            edit,
            {
                "key": "pending",
                "label": "Hacked",
                "label_es": "x",
                "order": 1,
                "colour": "#000000",
                "stage": "new",
            },
        )
        assert refused(response)
        pending.refresh_from_db()
        assert pending.label == "Pending"
        assert client_for(admin_user).get(edit).status_code == 200

    def test_manager_creates_a_classification_rule(self, client_for, manager, brands):
        data = {
            "brand": brands["intralog"].pk,
            "name": "Gmail leads",
            "order": 50,
            "is_enabled": "on",
            "field": "email",
            "match": "regex",
            "pattern": r"@gmail\.com$",
            "add_tags": "gmail",
        }
        response = client_for(manager).post(self.url("classificationrule", "add"), data)
        assert response.status_code == 302
        assert ClassificationRule.objects.filter(name="Gmail leads", add_tags="gmail").exists()

    def test_invalid_regex_is_a_form_error(self, client_for, manager):
        data = {
            "name": "Broken",
            "order": 50,
            "field": "message",
            "match": "regex",
            "pattern": "(",
            "add_tags": "x",
        }
        response = client_for(manager).post(self.url("classificationrule", "add"), data)
        assert response.status_code == 200
        assert not ClassificationRule.objects.filter(name="Broken").exists()

    def test_manager_creates_an_assignment_rule(self, client_for, manager, employee, brands):
        data = {
            "name": "Intralog RR",
            "order": 10,
            "is_enabled": "on",
            "brand": brands["intralog"].pk,
            "mode": "round_robin",
        }
        response = client_for(manager).post(self.url("assignmentrule", "add"), data)
        assert response.status_code == 302
        assert AssignmentRule.objects.filter(name="Intralog RR").exists()


def refused(response):
    """Wagtail turns PermissionDenied into a redirect to the dashboard with an error message."""
    return response.status_code == 403 or (response.status_code == 302 and response["Location"] == "/admin/")


class TestRuleScope:
    """Managers only reach the rules of their brands; rules for every brand are the admins'."""

    def url(self, model, view="list", *args):
        return reverse(f"wagtailsnippets_crm_{model}:{view}", args=args)

    @pytest.fixture
    def intralog_rule(self, brands, employee):
        return AssignmentRule.objects.create(
            name="Intralog fixed", brand=brands["intralog"], mode="fixed", owner=employee
        )

    def test_listing_hides_other_brands(self, client_for, other_manager, manager, intralog_rule):
        assert b"Intralog fixed" not in client_for(other_manager).get(self.url("assignmentrule")).content
        assert b"Intralog fixed" in client_for(manager).get(self.url("assignmentrule")).content

    @pytest.mark.parametrize("view", ["edit", "delete", "copy", "history", "usage"])
    def test_object_views_refuse_other_brands(self, client_for, other_manager, intralog_rule, view):
        response = client_for(other_manager).get(self.url("assignmentrule", view, intralog_rule.pk))
        assert refused(response)

    def test_forged_posts_change_nothing(
        self, client_for, other_manager, intralog_rule, brands, intrapal_employee
    ):
        client = client_for(other_manager)
        data = {
            "name": "Stolen",
            "order": 1,
            "brand": brands["intrapal"].pk,
            "mode": "fixed",
            "owner": intrapal_employee.pk,
        }
        assert refused(client.post(self.url("assignmentrule", "edit", intralog_rule.pk), data))
        assert refused(client.post(self.url("assignmentrule", "delete", intralog_rule.pk)))
        assert AssignmentRule.objects.filter(pk=intralog_rule.pk).exists()
        intralog_rule.refresh_from_db()
        assert intralog_rule.name == "Intralog fixed"

    def test_cannot_create_a_rule_for_another_brand(self, client_for, other_manager, brands):
        data = {"name": "Sneaky", "order": 1, "brand": brands["intralog"].pk, "mode": "round_robin"}
        response = client_for(other_manager).post(self.url("assignmentrule", "add"), data)
        assert response.status_code == 200
        assert not AssignmentRule.objects.filter(name="Sneaky").exists()

    def test_global_classification_rules_are_admin_only(self, client_for, other_manager, admin_user):
        rule = ClassificationRule.objects.get(name="Link spam")
        assert refused(client_for(other_manager).get(self.url("classificationrule", "edit", rule.pk)))
        assert client_for(admin_user).get(self.url("classificationrule", "edit", rule.pk)).status_code == 200

    def test_admin_reaches_every_rule(self, client_for, admin_user, intralog_rule):
        assert (
            client_for(admin_user).get(self.url("assignmentrule", "edit", intralog_rule.pk)).status_code
            == 200
        )

    def test_services_of_other_brands_are_out_of_reach(self, client_for, other_manager, manager):
        from crm.models import Service

        transport = Service.objects.get(name="Transporte")
        data = {"brand": transport.brand_id, "name": "Hacked", "form_option": "x"}
        assert refused(client_for(other_manager).post(self.url("service", "edit", transport.pk), data))
        transport.refresh_from_db()
        assert transport.name == "Transporte"
        listing = client_for(other_manager).get(self.url("service")).content
        assert b"Compra de pallets" in listing and b"Transporte" not in listing
        assert client_for(manager).get(self.url("service", "edit", transport.pk)).status_code == 200
