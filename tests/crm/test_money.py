"""Money on the pipeline: conversion, quotes, won amounts, lost reasons, the rates admin."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from crm import deals, money, services
from crm.intake import LeadData, create_lead
from crm.models import ExchangeRate, Lead, LeadEvent, LostReason, PipelineStatus

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 11, 2)


def rate(day, value):
    return ExchangeRate.objects.create(day=day, ars_per_usd=Decimal(value))


@pytest.fixture
def make_lead(brands, manager):
    def make(name="Marta Gómez", assignee=None, brand="intralog"):
        lead = create_lead(LeadData(brand=brands[brand], contact_name=name), actor=manager)
        if assignee is not None:
            services.assign(lead, assignee, manager)
        return Lead.objects.get(pk=lead.pk)

    return make


def fresh(lead):
    return Lead.objects.select_related("status", "lost_reason").get(pk=lead.pk)


def url(name, lead):
    return reverse(f"crm_leads:{name}", args=[lead.pk])


# Conversion -------------------------------------------------------------------------------------------


class TestConvert:
    def test_same_currency_is_the_amount_without_a_rate(self, django_assert_num_queries):
        with django_assert_num_queries(0):
            assert money.convert(Decimal("10.50"), "USD", DAY, "USD") == Decimal("10.50")

    def test_the_days_rate_both_ways(self):
        rate(DAY, "1000")
        assert money.convert(Decimal("2"), "USD", DAY, "ARS") == Decimal("2000.00")
        assert money.convert(Decimal("1500"), "ARS", DAY, "USD") == Decimal("1.50")

    def test_missing_rate_is_none_never_zero(self):
        assert money.convert(Decimal("2"), "USD", DAY, "ARS") is None

    def test_a_neighbouring_days_rate_is_never_used(self):
        rate(DAY - datetime.timedelta(days=1), "900")
        rate(DAY + datetime.timedelta(days=1), "2000")
        assert money.convert(Decimal("1"), "USD", DAY, "ARS") is None
        rate(DAY, "950")
        assert money.convert(Decimal("1"), "USD", DAY, "ARS") == Decimal("950.00")

    def test_bulk_reads_the_rates_once_and_reports_missing_days(self, django_assert_num_queries):
        rate(DAY, "1000")
        late = DAY + datetime.timedelta(days=30)
        with django_assert_num_queries(1):
            book = money.RateBook.for_days([DAY, late, None])
        with django_assert_num_queries(0):
            assert book.convert(Decimal("1"), "USD", DAY, "ARS") == Decimal("1000.00")
            assert book.convert(Decimal("1"), "USD", late, "ARS") is None
        assert book.missing == {late}
        with pytest.raises(money.MissingRate) as missing:
            book.convert_or_raise(Decimal("1"), "USD", late, "ARS")
        assert missing.value.day == late

    def test_unknown_currency_is_an_error(self):
        with pytest.raises(ValueError):
            money.convert(Decimal("1"), "EUR", DAY, "ARS")


# Quote ------------------------------------------------------------------------------------------------


class TestQuote:
    def test_sets_the_quote_with_an_event(self, make_lead, employee):
        lead = make_lead(assignee=employee)
        deals.set_quote(lead, employee, "1500.5", "USD", DAY, DAY + datetime.timedelta(days=30))
        lead = fresh(lead)
        assert (lead.quote_amount, lead.quote_currency, lead.quoted_on) == (Decimal("1500.50"), "USD", DAY)
        event = lead.events.get(kind=LeadEvent.Kind.QUOTED)
        assert event.actor == employee and event.to_value == "1500.50 USD"
        assert event.data["expected_close_on"] == "2026-12-02"

    def test_quote_date_defaults_to_today(self, make_lead, manager):
        lead = deals.set_quote(make_lead(), manager, 10, "ARS")
        assert lead.quoted_on == timezone.localdate()

    @pytest.mark.parametrize("amount", ["-1", "-0.01", "abc", "1e400", None])
    def test_bad_amounts_are_refused(self, make_lead, manager, amount):
        lead = make_lead()
        with pytest.raises(ValidationError):
            deals.set_quote(lead, manager, amount, "USD")
        assert fresh(lead).quote_amount is None
        assert not lead.events.filter(kind=LeadEvent.Kind.QUOTED).exists()

    def test_negative_amount_message(self, make_lead, manager):
        with pytest.raises(ValidationError, match="cannot be negative"):
            deals.set_quote(make_lead(), manager, "-5", "USD")

    def test_switching_currency_needs_clearing_first(self, make_lead, manager):
        lead = make_lead()
        deals.set_quote(lead, manager, 100, "USD", DAY)
        with pytest.raises(ValidationError, match="Clear the quote first"):
            deals.set_quote(lead, manager, 100000, "ARS", DAY)
        assert fresh(lead).quote_currency == "USD"
        deals.clear_quote(lead, manager)
        lead = fresh(lead)
        assert lead.quote_amount is None and lead.quote_currency == "" and lead.quoted_on is None
        deals.set_quote(lead, manager, 100000, "ARS", DAY)
        assert fresh(lead).quote_currency == "ARS"
        assert lead.events.filter(kind=LeadEvent.Kind.QUOTED).count() == 3

    def test_expected_close_not_before_the_quote(self, make_lead, manager):
        with pytest.raises(ValidationError, match="before the quote date"):
            deals.set_quote(make_lead(), manager, 1, "USD", DAY, DAY - datetime.timedelta(days=1))

    def test_only_people_who_may_edit_the_lead(
        self, make_lead, employee, other_employee, other_manager, marketer
    ):
        lead = make_lead(assignee=employee)
        for person in (other_employee, other_manager, marketer, None):
            with pytest.raises(PermissionDenied):
                deals.set_quote(lead, person, 1, "USD")
        assert fresh(lead).quote_amount is None


# Won and lost -----------------------------------------------------------------------------------------


class TestWonAndLost:
    def test_won_takes_the_quote_by_default(self, make_lead, manager):
        lead = make_lead()
        deals.set_quote(lead, manager, 2500, "USD", DAY)
        services.change_status(lead, "won", manager)
        lead = fresh(lead)
        assert (lead.won_amount, lead.won_currency, lead.won_on) == (
            Decimal("2500.00"),
            "USD",
            timezone.localdate(),
        )
        event = lead.events.filter(kind=LeadEvent.Kind.STATUS_CHANGED).latest("pk")
        assert event.data["won_amount"] == "2500.00" and event.data["won_currency"] == "USD"

    def test_won_with_its_own_amount(self, make_lead, manager):
        lead = make_lead()
        deals.set_quote(lead, manager, 2500, "USD", DAY)
        services.change_status(lead, "won", manager, won_amount="2000", won_currency="USD")
        assert fresh(lead).won_amount == Decimal("2000.00")

    def test_won_without_quote_records_the_day_only(self, make_lead, manager):
        lead = make_lead()
        services.change_status(lead, "won", manager)
        lead = fresh(lead)
        assert lead.won_on == timezone.localdate() and lead.won_amount is None

    def test_negative_won_amount_is_refused(self, make_lead, manager):
        lead = make_lead()
        with pytest.raises(ValidationError):
            services.change_status(lead, "won", manager, won_amount="-1", won_currency="USD")
        assert fresh(lead).status.key == "pending"

    def test_leaving_won_clears_the_won_day_and_amount(self, make_lead, manager):
        lead = make_lead()
        deals.set_quote(lead, manager, 10, "USD", DAY)
        services.change_status(lead, "won", manager)
        services.change_status(lead, "interested", manager)
        lead = fresh(lead)
        assert lead.won_on is None and lead.won_amount is None
        event = lead.events.filter(kind=LeadEvent.Kind.STATUS_CHANGED).latest("pk")
        assert event.data["cleared_won"]["amount"] == "10.00"

    def test_won_amount_corrected_later(self, make_lead, manager, employee):
        lead = make_lead(assignee=employee)
        services.change_status(lead, "won", manager)
        deals.record_won_amount(lead, employee, "300", "ARS")
        lead = fresh(lead)
        assert (lead.won_amount, lead.won_currency) == (Decimal("300.00"), "ARS")
        assert lead.events.filter(kind=LeadEvent.Kind.WON_VALUE, actor=employee).exists()

    def test_won_amount_only_on_won_leads(self, make_lead, manager):
        with pytest.raises(ValidationError):
            deals.record_won_amount(make_lead(), manager, "300", "ARS")

    def test_a_person_must_give_a_lost_reason(self, make_lead, manager):
        lead = make_lead()
        with pytest.raises(ValidationError, match="choose one from the list"):
            services.change_status(lead, "not_viable", manager, "Sin presupuesto")
        assert fresh(lead).status.key == "pending"
        services.change_status(lead, "not_viable", manager, lost_reason="competitor")
        lead = fresh(lead)
        assert lead.lost_reason.key == "competitor"
        event = lead.events.filter(kind=LeadEvent.Kind.STATUS_CHANGED).latest("pk")
        assert event.data == {"lost_reason": "competitor"}

    def test_an_inactive_reason_is_refused(self, make_lead, manager):
        LostReason.objects.filter(key="timing").update(is_active=False)
        lead = make_lead()
        with pytest.raises(ValidationError, match="from the list"):
            services.change_status(lead, "not_viable", manager, lost_reason="timing")
        with pytest.raises(ValidationError):
            services.change_status(lead, "not_viable", manager, lost_reason="nonsense")

    def test_system_moves_need_no_catalogue_reason(self, make_lead):
        lead = make_lead()
        services.change_status(lead, "not_advanced", None, "Sin respuesta en la sincronización")
        assert fresh(lead).status.key == "not_advanced" and fresh(lead).lost_reason is None

    def test_leaving_lost_clears_the_reason(self, make_lead, manager):
        lead = make_lead()
        services.change_status(lead, "not_viable", manager, lost_reason="price")
        services.change_status(lead, "contacted", manager)
        lead = fresh(lead)
        assert lead.lost_reason is None
        event = lead.events.filter(kind=LeadEvent.Kind.STATUS_CHANGED).latest("pk")
        assert event.data["cleared_lost_reason"] == "price"

    def test_bulk_needs_the_reason(self, make_lead, manager):
        leads = [make_lead("Uno"), make_lead("Dos")]
        queryset = Lead.objects.filter(pk__in=[lead.pk for lead in leads])
        with pytest.raises(ValidationError):
            services.bulk_change_status(queryset, "not_advanced", manager)
        assert not Lead.objects.filter(status__key="not_advanced").exists()
        assert services.bulk_change_status(queryset, "not_advanced", manager, lost_reason="no_answer") == 2
        assert Lead.objects.filter(lost_reason__key="no_answer").count() == 2


# Lead page and its forms ------------------------------------------------------------------------------


class TestLeadPage:
    def test_deal_section_with_the_other_currency(self, make_lead, manager, client_for):
        lead = make_lead()
        deals.set_quote(lead, manager, 1000, "USD", DAY)
        rate(DAY, "1050")
        html = client_for(manager).get(url("inspect", lead)).content.decode()
        assert 'data-section="deal"' in html
        assert "$ 1,050,000.00" in html

    def test_missing_rate_is_said(self, make_lead, manager, client_for):
        lead = make_lead()
        deals.set_quote(lead, manager, 1000, "USD", DAY)
        html = client_for(manager).get(url("inspect", lead)).content.decode()
        assert "Exchange rate missing for" in html

    def test_quote_changes_are_on_the_timeline_with_the_status_moves(self, make_lead, manager, client_for):
        lead = make_lead()
        deals.set_quote(lead, manager, 1000, "USD", DAY)
        html = client_for(manager).get(url("inspect", lead), {"kind": "status"}).content.decode()
        assert "1000.00 USD" in html

    def test_lost_reason_shown(self, make_lead, manager, client_for):
        lead = make_lead()
        services.change_status(lead, "not_viable", manager, lost_reason="coverage")
        html = client_for(manager).get(url("inspect", lead)).content.decode()
        assert 'data-field="lost_reason"' in html and "Coverage" in html

    def test_quote_form_posts(self, make_lead, employee, client_for):
        lead = make_lead(assignee=employee)
        client = client_for(employee)
        html = client.get(url("inspect", lead)).content.decode()
        assert url("quote", lead) in html
        response = client.post(url("quote", lead), {"amount": "-3", "currency": "USD"})
        assert response.status_code == 200 and "cannot be negative" in response.content.decode()
        response = client.post(
            url("quote", lead), {"amount": "12.5", "currency": "USD", "quoted_on": "2026-11-02"}
        )
        assert response.status_code == 302
        assert fresh(lead).quote_amount == Decimal("12.50")
        response = client.post(url("quote", lead), {"amount": "12.5", "currency": "ARS"})
        assert response.status_code == 200 and "Clear the quote first" in response.content.decode()
        assert client.post(url("clear_quote", lead)).status_code == 302
        assert fresh(lead).quote_amount is None

    def test_an_employee_cannot_quote_anothers_lead(self, make_lead, employee, other_employee, client_for):
        lead = make_lead(assignee=other_employee)
        client = client_for(employee)
        for name in ("quote", "clear_quote", "won_amount"):
            assert client.post(url(name, lead), {"amount": "1", "currency": "USD"}).status_code == 404
        assert fresh(lead).quote_amount is None

    def test_a_manager_of_another_brand_gets_404(self, make_lead, other_manager, client_for):
        lead = make_lead()
        response = client_for(other_manager).post(url("quote", lead), {"amount": "1", "currency": "USD"})
        assert response.status_code == 404

    def test_status_form_asks_the_reason_and_takes_a_won_amount(self, make_lead, manager, client_for):
        lead = make_lead()
        client = client_for(manager)
        lost = PipelineStatus.objects.get(key="not_advanced")
        response = client.post(url("change_status", lead), {"status": lost.pk})
        assert response.status_code == 200 and "Give a reason" in response.content.decode()
        won = PipelineStatus.objects.get(key="won")
        response = client.post(
            url("change_status", lead), {"status": won.pk, "won_amount": "-2", "won_currency": "USD"}
        )
        assert response.status_code == 200 and fresh(lead).status.key == "pending"
        response = client.post(
            url("change_status", lead), {"status": won.pk, "won_amount": "99", "won_currency": "ARS"}
        )
        assert response.status_code == 302
        assert (fresh(lead).won_amount, fresh(lead).won_currency) == (Decimal("99.00"), "ARS")

    def test_the_lead_page_lost_move_offers_the_active_reasons(self, make_lead, manager, client_for):
        LostReason.objects.filter(key="timing").update(is_active=False)
        lead = make_lead()
        html = client_for(manager).get(url("inspect", lead)).content.decode()
        assert 'name="lost_reason"' in html and "Competitor" in html and "Timing" not in html


class TestBoard:
    def test_a_lost_drop_needs_the_reason(self, make_lead, employee, client_for):
        lead = make_lead(assignee=employee)
        client = client_for(employee)
        lost = PipelineStatus.objects.get(key="not_advanced")
        data = {"status": lost.pk, "from_status": fresh(lead).status_id}
        move = reverse("crm_leads:board_move", args=[lead.pk])
        response = client.post(move, data, HTTP_ACCEPT="application/json")
        assert response.status_code == 400 and response.json()["needs"] == "lost_reason"
        reason = LostReason.objects.get(key="price")
        response = client.post(move, {**data, "lost_reason": reason.pk}, HTTP_ACCEPT="application/json")
        assert response.status_code == 200
        assert fresh(lead).lost_reason == reason

    def test_the_answer_lists_the_active_reasons_for_the_dialog(self, make_lead, employee, client_for):
        LostReason.objects.filter(key="timing").update(is_active=False)
        lead = make_lead(assignee=employee)
        html = client_for(employee).get(reverse("crm_leads:board")).content.decode()
        assert 'name="lost_reason"' in html
        lost = PipelineStatus.objects.get(key="not_viable")
        response = client_for(employee).post(
            reverse("crm_leads:board_move", args=[lead.pk]),
            {"status": lost.pk, "from_status": fresh(lead).status_id},
            HTTP_ACCEPT="application/json",
        )
        labels = [reason["label"] for reason in response.json()["reasons"]]
        assert "No answer" in labels and "Timing" not in labels


# Exchange rates admin ---------------------------------------------------------------------------------


def rates_url(name="index"):
    return reverse(f"exchange_rates:{name}")


def upload(client, text):
    return client.post(rates_url("import"), {"file": SimpleUploadedFile("rates.csv", text.encode())})


class TestRatesAdmin:
    @pytest.mark.parametrize(
        ("role", "index", "add"),
        [("admin_user", 200, 200), ("manager", 200, 302), ("employee", 302, 302), ("marketer", 302, 302)],
    )
    def test_each_roles_access(self, request, client_for, role, index, add):
        client = client_for(request.getfixturevalue(role))
        assert client.get(rates_url()).status_code == index
        assert client.get(rates_url("add")).status_code == add
        assert client.get(rates_url("import")).status_code == add
        response = upload(client, "day,ars_per_usd\n2026-11-02,1000\n")
        assert response.status_code == (302 if add == 200 else 302)
        assert ExchangeRate.objects.exists() == (add == 200)

    def test_import_adds_and_updates(self, admin_user, client_for):
        rate(DAY, "900")
        client = client_for(admin_user)
        response = upload(client, "day,ars_per_usd\n2026-11-02,1000.5\n03/11/2026;1010\n".replace(";", ","))
        assert response.status_code == 302
        assert ExchangeRate.objects.get(day=DAY).ars_per_usd == Decimal("1000.5")
        assert ExchangeRate.objects.get(day=DAY + datetime.timedelta(days=1)).origin == "csv"

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("day,ars_per_usd\n2026-11-02,1000\n2026-13-01,5\n", "Line 3"),
            ("day,ars_per_usd\n2026-11-02,1000\n2026-11-03,-5\n", "Line 3"),
            ("day,ars_per_usd\n2026-11-02,1000\n2026-11-03,0\n", "Line 3"),
            ("day,ars_per_usd\n2026-11-02,1000\n\n2026-11-02,1001\n", "Line 4"),
            ("fecha,valor\n2026-11-02,1000\n", "Line 1"),
            ("day,ars_per_usd\n2026-11-02\n", "Line 2"),
        ],
    )
    def test_a_bad_line_imports_nothing(self, admin_user, client_for, text, message):
        response = upload(client_for(admin_user), text)
        assert response.status_code == 200
        assert message in response.content.decode()
        assert not ExchangeRate.objects.exists()

    def test_export_neutralises_formulas(self, admin_user, client_for):
        rate(DAY, "1000")
        response = client_for(admin_user).get(rates_url() + "?export=csv")
        assert response.status_code == 200
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert b"2026-11-02" in body


class TestCatalogues:
    def test_admin_edits_lost_reasons_and_probability(self, admin_user, client_for):
        client = client_for(admin_user)
        response = client.get(reverse("wagtailsnippets_crm_lostreason:list"))
        assert response.status_code == 200 and "Competitor" in response.content.decode()
        status = PipelineStatus.objects.get(key="quoted")
        edit = reverse("wagtailsnippets_crm_pipelinestatus:edit", args=[status.pk])
        form = client.get(edit).content.decode()
        assert 'name="probability"' in form

    def test_probability_over_100_is_refused(self):
        status = PipelineStatus.objects.get(key="quoted")
        status.probability = 101
        with pytest.raises(ValidationError):
            status.full_clean()

    def test_manager_reads_lost_reasons_but_cannot_add(self, manager, client_for):
        client = client_for(manager)
        assert client.get(reverse("wagtailsnippets_crm_lostreason:list")).status_code == 200
        assert client.get(reverse("wagtailsnippets_crm_lostreason:add")).status_code == 302
