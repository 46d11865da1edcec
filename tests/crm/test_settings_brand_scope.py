"""Managers manage the alert, classification and assignment rules of their own brands only.

Rules of another brand, of several brands including another, and rules for every brand (no brand) are
out of a manager's reach: not listed, not offered in choosers, and forged GETs and POSTs by URL are
refused with nothing changed. Recipients and owners offered are people of the manager's brands.
"""

import pytest
from django.urls import NoReverseMatch, reverse

from alerts.models import AlertRule, Trigger
from crm.models import AssignmentRule, ClassificationRule, PipelineStatus, Role, User

ALERT_FORM = {
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


@pytest.fixture
def sellers(brands):
    def seller(username, brand):
        user = User.objects.create_user(
            username=username, email=f"{username}@example.com", role=Role.EMPLOYEE
        )
        user.brands.set([brands[brand]])
        return user

    return {
        "intralog": seller("seller.intralog", "intralog"),
        "intrapal": seller("seller.intrapal", "intrapal"),
    }


@pytest.fixture
def rules(brands, sellers):
    intralog, intrapal = brands["intralog"], brands["intrapal"]

    def alert(name, *brand_list):
        rule = AlertRule.objects.create(name=name, trigger=Trigger.NEW_LEAD, is_active=False)
        rule.brands.set(brand_list)
        return rule

    def classification(name, brand):
        return ClassificationRule.objects.create(
            name=name, brand=brand, pattern="zzz-never", add_tags="x", is_enabled=False
        )

    def assignment(name, brand, owner):
        return AssignmentRule.objects.create(
            name=name, brand=brand, mode="fixed", owner=owner, is_enabled=False
        )

    return {
        "alert_own": alert("Alert own brand", intralog),
        "alert_other": alert("Alert other brand", intrapal),
        "alert_both": alert("Alert both brands", intralog, intrapal),
        "alert_global": alert("Alert every brand"),
        "classification_own": classification("Classify own brand", intralog),
        "classification_other": classification("Classify other brand", intrapal),
        "classification_global": classification("Classify every brand", None),
        "assignment_own": assignment("Assign own brand", intralog, sellers["intralog"]),
        "assignment_other": assignment("Assign other brand", intrapal, sellers["intrapal"]),
    }


OUT_OF_REACH = ["alert_other", "alert_both", "alert_global", "classification_other", "classification_global"]
OUT_OF_REACH += ["assignment_other"]


def url_name(rule, view):
    if isinstance(rule, AlertRule):
        return f"alert_rules:{view}"
    return rule.snippet_viewset.get_url_name(view)


def object_urls(rule):
    """Every single-object admin URL the rule's viewset has."""
    urls = {}
    for view in ("edit", "delete", "history", "usage", "copy", "inspect"):
        try:
            urls[view] = reverse(url_name(rule, view), args=[rule.pk])
        except NoReverseMatch:
            continue
    return urls


def is_refused(response):
    return response.status_code in (403, 404) or (
        response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")
    )


def snapshot():
    return (
        sorted(AlertRule.objects.values_list("pk", "name", "is_active")),
        sorted(
            (rule.pk, sorted(rule.brands.values_list("pk", flat=True))) for rule in AlertRule.objects.all()
        ),
        sorted(ClassificationRule.objects.values_list("pk", "name", "brand_id", "is_enabled")),
        sorted(AssignmentRule.objects.values_list("pk", "name", "brand_id", "owner_id", "is_enabled")),
    )


def listing(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    return response.content.decode()


def test_listings_hold_only_the_managers_brand(rules, manager, client_for):
    client = client_for(manager)
    alerts = listing(client, "alert_rules:index")
    classifications = listing(client, ClassificationRule.snippet_viewset.get_url_name("list"))
    assignments = listing(client, AssignmentRule.snippet_viewset.get_url_name("list"))
    assert "Alert own brand" in alerts
    assert "Classify own brand" in classifications
    assert "Assign own brand" in assignments
    for key in OUT_OF_REACH:
        assert rules[key].name not in alerts + classifications + assignments, key


def test_admins_list_every_rule(rules, admin_user, client_for):
    client = client_for(admin_user)
    text = listing(client, "alert_rules:index") + listing(
        client, ClassificationRule.snippet_viewset.get_url_name("list")
    )
    assert {"Alert other brand", "Alert every brand", "Classify every brand"} <= {
        name for name in (rule.name for rule in rules.values()) if name in text
    }


@pytest.mark.parametrize("key", OUT_OF_REACH)
def test_forged_gets_are_refused(rules, manager, client_for, key):
    client = client_for(manager)
    rule = rules[key]
    urls = object_urls(rule)
    assert {"edit", "delete", "history", "usage"} <= set(urls)
    for view, url in urls.items():
        response = client.get(url)
        assert is_refused(response), (view, response.status_code)
        assert rule.name.encode() not in response.content


@pytest.mark.parametrize("key", ["alert_own", "classification_own", "assignment_own"])
def test_own_rules_open(rules, manager, client_for, key):
    client = client_for(manager)
    rule = rules[key]
    for view in ("edit", "delete", "history"):
        assert client.get(reverse(url_name(rule, view), args=[rule.pk])).status_code == 200, view


def classification_form(**overrides):
    data = {
        "name": "Forged rule",
        "order": "0",
        "is_enabled": "on",
        "brand": "",
        "external_form": "",
        "service": "",
        "source": "",
        "field": "message",
        "match": "contains",
        "pattern": "a",
        "min_links": "",
        "set_status": PipelineStatus.objects.get(key="negative").pk,
        "add_tags": "",
        "set_priority": "",
    }
    data.update(overrides)
    return data


def assignment_form(owner, **overrides):
    data = {
        "name": "Forged rule",
        "order": "0",
        "is_enabled": "on",
        "brand": "",
        "service": "",
        "external_form": "",
        "mode": "fixed",
        "owner": owner.pk,
    }
    data.update(overrides)
    return data


def forged_posts(rules, brands, sellers):
    """(url, data) of POSTs a manager of INTRALOG may not make: edits, deletions and out-of-reach creations."""
    intrapal, intralog = brands["intrapal"].pk, brands["intralog"].pk
    posts = []
    for key in OUT_OF_REACH:
        rule = rules[key]
        if isinstance(rule, AlertRule):
            data = {**ALERT_FORM, "name": "Forged rule", "brands": [intralog]}
        elif isinstance(rule, ClassificationRule):
            data = classification_form(brand=intralog)
        else:
            data = assignment_form(sellers["intralog"], brand=intralog)
        posts.append((reverse(url_name(rule, "edit"), args=[rule.pk]), data))
        posts.append((reverse(url_name(rule, "delete"), args=[rule.pk]), {}))
    classification_add = reverse(ClassificationRule.snippet_viewset.get_url_name("add"))
    assignment_add = reverse(AssignmentRule.snippet_viewset.get_url_name("add"))
    posts += [
        (reverse("alert_rules:add"), {**ALERT_FORM, "name": "Forged rule"}),
        (reverse("alert_rules:add"), {**ALERT_FORM, "name": "Forged rule", "brands": [intrapal]}),
        (reverse("alert_rules:add"), {**ALERT_FORM, "name": "Forged rule", "brands": [intralog, intrapal]}),
        (
            reverse("alert_rules:add"),
            {**ALERT_FORM, "name": "Forged rule", "brands": [intralog], "users": [sellers["intrapal"].pk]},
        ),
        (classification_add, classification_form()),
        (classification_add, classification_form(brand=intrapal)),
        (assignment_add, assignment_form(sellers["intrapal"], brand=intrapal)),
        (assignment_add, assignment_form(sellers["intrapal"], brand=intralog)),
    ]
    for model, key in ((ClassificationRule, "classification_other"), (AssignmentRule, "assignment_other")):
        bulk = reverse("wagtail_bulk_action", args=("crm", model._meta.model_name, "delete"))
        posts.append((f"{bulk}?id={rules[key].pk}", {}))
    return posts


def test_forged_posts_change_nothing(rules, manager, client_for, brands, sellers):
    client = client_for(manager)
    before = snapshot()
    accepted = []
    for url, data in forged_posts(rules, brands, sellers):
        response = client.post(url, data)
        if response.status_code == 302 and response["Location"] != reverse("wagtailadmin_home"):
            accepted.append((url, data.get("brand"), data.get("brands"), response.status_code))
    assert accepted == []
    assert snapshot() == before
    assert not AlertRule.objects.filter(name="Forged rule").exists()


def test_bulk_delete_does_not_name_rules_out_of_reach(rules, manager, client_for):
    bulk = reverse("wagtail_bulk_action", args=("crm", "classificationrule", "delete"))
    client = client_for(manager)
    response = client.get(f"{bulk}?id={rules['classification_other'].pk}&id={rules['classification_own'].pk}")
    assert response.status_code == 200
    assert b"Classify other brand" not in response.content
    assert b"Classify own brand" in response.content


def test_managers_create_rules_for_their_brand(rules, manager, client_for, brands, sellers):
    client = client_for(manager)
    intralog = brands["intralog"].pk
    response = client.post(
        reverse("alert_rules:add"),
        {**ALERT_FORM, "name": "New own alert", "brands": [intralog], "users": [sellers["intralog"].pk]},
    )
    assert response.status_code == 302
    rule = AlertRule.objects.get(name="New own alert")
    assert list(rule.brands.values_list("pk", flat=True)) == [intralog]
    response = client.post(
        reverse(ClassificationRule.snippet_viewset.get_url_name("add")),
        classification_form(name="New own classification", brand=intralog),
    )
    assert response.status_code == 302
    assert ClassificationRule.objects.get(name="New own classification").brand_id == intralog


def test_only_admins_create_rules_for_every_brand(admin_user, client_for):
    client = client_for(admin_user)
    response = client.post(
        reverse(ClassificationRule.snippet_viewset.get_url_name("add")), classification_form(name="Global")
    )
    assert response.status_code == 302
    assert ClassificationRule.objects.get(name="Global").brand_id is None
    response = client.post(reverse("alert_rules:add"), {**ALERT_FORM, "name": "Global alert"})
    assert response.status_code == 302
    assert not AlertRule.objects.get(name="Global alert").brands.exists()


def test_recipients_and_choices_offered_are_of_the_managers_brands(rules, manager, client_for, sellers):
    client = client_for(manager)
    form = client.get(reverse("alert_rules:add")).context["form"]
    assert sellers["intralog"] in form.fields["users"].queryset
    assert sellers["intrapal"] not in form.fields["users"].queryset
    assert {brand.code for brand in form.fields["brands"].queryset} == {"intralog"}
    assert all(service.brand.code == "intralog" for service in form.fields["services"].queryset)
    form = client.get(reverse(AssignmentRule.snippet_viewset.get_url_name("add"))).context["form"]
    assert sellers["intrapal"] not in form.fields["owner"].queryset
    assert form.fields["brand"].required


def test_editing_keeps_recipients_an_admin_chose_out_of_reach(rules, manager, client_for, brands, sellers):
    rule = rules["alert_own"]
    rule.users.set([sellers["intralog"], sellers["intrapal"]])
    response = client_for(manager).post(
        reverse("alert_rules:edit", args=[rule.pk]),
        {
            **ALERT_FORM,
            "name": "Renamed",
            "brands": [brands["intralog"].pk],
            "users": [sellers["intralog"].pk],
        },
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.name == "Renamed"
    assert set(rule.users.all()) == {sellers["intralog"], sellers["intrapal"]}


@pytest.mark.parametrize("model", [ClassificationRule, AssignmentRule])
def test_choosers_offer_only_rules_within_reach(rules, manager, marketer, client_for, model):
    namespace = model.snippet_viewset.get_chooser_admin_url_namespace()
    own = rules[f"{model._meta.model_name.removesuffix('rule')}_own"]
    other = rules[f"{model._meta.model_name.removesuffix('rule')}_other"]
    client = client_for(manager)
    content = client.get(reverse(f"{namespace}:choose_results")).content.decode()
    assert own.name in content and other.name not in content
    assert client.get(reverse(f"{namespace}:chosen", args=[other.pk])).status_code == 404
    assert client.get(reverse(f"{namespace}:chosen", args=["abc"])).status_code == 404
    response = client.get(reverse(f"{namespace}:chosen_multiple") + f"?id={other.pk}&id=abc")
    assert other.name.encode() not in response.content
    content = client_for(marketer).get(reverse(f"{namespace}:choose_results")).content.decode()
    assert own.name not in content


def test_other_manager_reaches_their_own_brand(rules, other_manager, client_for):
    client = client_for(other_manager)
    rule = rules["alert_other"]
    assert client.get(reverse("alert_rules:edit", args=[rule.pk])).status_code == 200
    assert is_refused(client.get(reverse("alert_rules:edit", args=[rules["alert_own"].pk])))
