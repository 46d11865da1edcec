"""First classification: each rule condition and action, rule order, and the seeded rules."""

import pytest
from django.core.exceptions import ValidationError

from crm import intake
from crm.classification import evaluate
from crm.models import ClassificationRule, PipelineStatus, Priority, Service, Source
from crm.system_notes import render

pytestmark = pytest.mark.django_db

JOB_SEEKER_OPTION = "Busco trabajo/ Ofrezco productos o servicios"


def new_lead(brand, **fields):
    return intake.create_lead(intake.LeadData(brand=brand, **fields))


def status(key):
    return PipelineStatus.objects.get(key=key)


@pytest.fixture
def no_seeded_rules(db):
    ClassificationRule.objects.all().delete()


def rule(**fields):
    fields.setdefault("name", "Test rule")
    fields.setdefault("add_tags", "hit")
    return ClassificationRule.objects.create(**fields)


class TestSeededRules:
    def test_job_seeker_or_vendor_is_negative(self, brands):
        lead = new_lead(brands["intralog"], service_text=JOB_SEEKER_OPTION, email="cv@example.com")
        assert lead.status.key == "negative"
        assert set(lead.tags.names()) == {"job_seeker_or_vendor"}
        assert "Job seeker or vendor" in lead.get_classification_reason_display()
        event = lead.events.get(kind="classified")
        assert (event.from_value, event.to_value) == ("pending", "negative")
        assert event.data["tags"] == ["job_seeker_or_vendor"]

    def test_job_seeker_option_with_other_spacing(self, brands):
        lead = new_lead(brands["intrapal"], service_text="busco trabajo / ofrezco productos o servicios")
        assert lead.status.key == "negative"

    def test_link_spam_is_junk(self, brands):
        message = "Great offer https://x.example/1 http://y.example www.z.example"
        lead = new_lead(brands["intralog"], message=message)
        assert lead.status.key == "negative" and lead.status.stage == "junk"
        assert set(lead.tags.names()) == {"spam"}
        assert lead.skip_alerts is True

    def test_spam_keywords_are_junk(self, brands):
        lead = new_lead(brands["intralog"], message="We sell SEO services and backlinks")
        assert lead.status.key == "negative"
        assert "spam" in lead.tags.names()

    def test_ordinary_lead_stays_pending(self, brands):
        message = "Necesito cotizar almacenamiento para 200 pallets, ver https://acme.example"
        lead = new_lead(brands["intralog"], message=message, service_text="Almacenamiento y depósito")
        assert lead.status.key == "pending"
        assert list(lead.tags.names()) == []
        assert lead.skip_alerts is False
        event = lead.events.get(kind="classified")
        assert event.data["rules"] == [] and render(event.note) == "No classification rule matched."

    def test_junk_is_not_auto_assigned(self, brands, employee):
        from crm.models import AssignmentRule

        AssignmentRule.objects.create(name="All", brand=brands["intralog"], mode="fixed", owner=employee)
        junk = new_lead(brands["intralog"], service_text=JOB_SEEKER_OPTION)
        good = new_lead(brands["intralog"], email="good@example.com")
        assert junk.assignee is None
        assert good.assignee == employee


@pytest.mark.usefixtures("no_seeded_rules")
class TestConditions:
    def test_brand(self, brands):
        rule(brand=brands["intrapal"])
        assert not new_lead(brands["intralog"]).tags.names()
        assert list(new_lead(brands["intrapal"]).tags.names()) == ["hit"]

    def test_form(self, brands):
        rule(external_form="7")
        assert not new_lead(brands["intralog"], external_form="3").tags.names()
        assert list(new_lead(brands["intralog"], external_form="7").tags.names()) == ["hit"]

    def test_service(self, brands):
        rental = Service.objects.get(name="Alquiler de pallets")
        purchase = Service.objects.get(name="Compra de pallets")
        rule(service=rental)
        assert not new_lead(brands["intrapal"], service=purchase).tags.names()
        assert list(new_lead(brands["intrapal"], service=rental).tags.names()) == ["hit"]

    def test_source(self, brands):
        rule(source=Source.objects.get(key="whatsapp"))
        assert not new_lead(brands["intralog"], source=Source.objects.get(key="phone")).tags.names()
        assert new_lead(brands["intralog"], source=Source.objects.get(key="whatsapp")).tags.names()

    def test_field_contains_ignores_case(self, brands):
        rule(field="company", pattern="logística")
        assert not new_lead(brands["intralog"], company="Acme").tags.names()
        assert new_lead(brands["intralog"], company="LOGÍSTICA del Sur").tags.names()

    def test_field_regex(self, brands):
        rule(field="email", match="regex", pattern=r"@(gmail|hotmail)\.com$")
        assert not new_lead(brands["intralog"], email="ana@acme.com.ar").tags.names()
        assert new_lead(brands["intralog"], email="ana@Gmail.com").tags.names()

    def test_field_only_looks_in_its_field(self, brands):
        rule(field="message", pattern="urgent")
        assert not new_lead(brands["intralog"], company="urgent SA").tags.names()

    def test_min_links(self, brands):
        rule(min_links=2)
        assert not new_lead(brands["intralog"], message="one https://a.example").tags.names()
        assert new_lead(brands["intralog"], message="https://a.example and www.b.example").tags.names()

    def test_all_conditions_must_hold(self, brands):
        rule(brand=brands["intralog"], field="message", pattern="pallets")
        assert not new_lead(brands["intrapal"], message="pallets").tags.names()
        assert not new_lead(brands["intralog"], message="transporte").tags.names()
        assert new_lead(brands["intralog"], message="pallets").tags.names()


@pytest.mark.usefixtures("no_seeded_rules")
class TestActions:
    def test_set_status(self, brands):
        rule(set_status=status("to_quote"), add_tags="")
        lead = new_lead(brands["intralog"])
        assert lead.status.key == "to_quote"
        assert lead.events.get(kind="created").to_value == "to_quote"

    def test_add_several_tags(self, brands):
        rule(add_tags="vip, fair ,")
        assert set(new_lead(brands["intralog"]).tags.names()) == {"vip", "fair"}

    def test_set_priority(self, brands):
        rule(set_priority=Priority.URGENT)
        assert new_lead(brands["intralog"]).priority == Priority.URGENT

    def test_skip_alerts(self, brands):
        rule(skip_alerts=True, add_tags="")
        assert new_lead(brands["intralog"]).skip_alerts is True

    def test_rules_run_in_order_and_later_status_wins(self, brands):
        rule(name="second", order=20, set_status=status("quoted"), add_tags="b")
        rule(name="first", order=10, set_status=status("contacted"), add_tags="a")
        lead = new_lead(brands["intralog"])
        assert lead.status.key == "quoted"
        assert set(lead.tags.names()) == {"a", "b"}
        assert lead.get_classification_reason_display() == "Matched rules: “first”, “second”."

    def test_stop_processing(self, brands):
        rule(name="first", order=10, add_tags="a", stop_processing=True)
        rule(name="second", order=20, add_tags="b")
        assert set(new_lead(brands["intralog"]).tags.names()) == {"a"}

    def test_disabled_rules_are_ignored(self, brands):
        rule(is_enabled=False)
        assert not new_lead(brands["intralog"]).tags.names()

    def test_evaluate_works_on_an_unsaved_lead(self, brands):
        from crm.models import Lead

        rule(field="message", pattern="hola")
        outcome = evaluate(Lead(brand=brands["intralog"], message="Hola!"))
        assert outcome.tags == ["hit"] and len(outcome.rules) == 1


class TestRuleValidation:
    def test_invalid_regex(self):
        candidate = ClassificationRule(name="x", field="message", match="regex", pattern="(", add_tags="t")
        with pytest.raises(ValidationError) as error:
            candidate.full_clean()
        assert "pattern" in error.value.message_dict

    def test_pattern_needs_field(self):
        with pytest.raises(ValidationError) as error:
            ClassificationRule(name="x", pattern="abc", add_tags="t").full_clean()
        assert "field" in error.value.message_dict

    def test_needs_an_action(self):
        with pytest.raises(ValidationError):
            ClassificationRule(name="x", min_links=2).full_clean()

    def test_valid_rule(self):
        ClassificationRule(
            name="x", field="message", match="regex", pattern=r"\bhola\b", add_tags="t"
        ).full_clean()


def test_rules_cost_no_query_each(brands):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    new_lead(brands["intralog"], email="warm-up@example.com")
    with CaptureQueriesContext(connection) as few_rules:
        new_lead(brands["intralog"], email="one@example.com")
    for number in range(10):
        rule(name=f"never {number}", field="message", pattern=f"no-such-text-{number}")
    with CaptureQueriesContext(connection) as many_rules:
        new_lead(brands["intralog"], email="two@example.com")
    assert len(many_rules.captured_queries) == len(few_rules.captured_queries)
