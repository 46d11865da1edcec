"""Converting a won lead: a new account or an existing one, its contact, the lead event; refusals."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from crm.models import LeadEvent
from customers.models import Account, AccountLead, Contact
from customers.services import EVENT_DATA_KEY, AccountData, ContactData, convert_to_customer
from tests.customers.support import GOOD_CUIT, WRONG_CUIT

pytestmark = pytest.mark.django_db


def test_a_won_lead_becomes_a_new_account_with_its_contact_and_an_event(make_lead, employee, brands):
    lead = make_lead(
        assignee=employee, won=("1500.50", "ARS"), email="marta@acme.com.ar", phone="011 4555-1234"
    )
    result = convert_to_customer(
        lead,
        employee,
        account_data=AccountData("ACME S.A.", GOOD_CUIT, "Av. Siempreviva 742"),
        contact=ContactData("Marta Gómez", "Marta@ACME.com.ar", "011 4555-1234", "Compras"),
    )
    account = Account.objects.get()
    assert result.created and result.account == account
    assert (account.legal_name, account.cuit, account.created_by) == ("ACME S.A.", "30712345671", employee)
    assert list(account.brands.all()) == [brands["intralog"]]
    contact = Contact.objects.get()
    assert (contact.email, contact.email_domain, contact.phone_e164) == (
        "marta@acme.com.ar",
        "acme.com.ar",
        "+541145551234",
    )
    assert AccountLead.objects.get().lead == lead
    event = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.NOTE).get()
    assert event.actor == employee and event.data[EVENT_DATA_KEY] == account.pk and "ACME S.A." in event.note


def test_a_second_won_lead_links_to_the_existing_account(make_lead, manager, employee, brands):
    first = make_lead(assignee=employee, won=("10", "USD"))
    account = convert_to_customer(first, employee, account_data=AccountData("ACME S.A.", GOOD_CUIT)).account
    second = make_lead("Otro", assignee=employee, won=("20", "USD"), brand="intralog")
    result = convert_to_customer(second, employee, account=account, contact=ContactData())
    assert not result.created and result.account == account
    assert Account.objects.count() == 1 and account.lead_links.count() == 2
    assert not Contact.objects.exists()


def test_a_new_account_with_a_known_cuit_links_to_that_account(make_lead, employee, other_employee, manager):
    first = make_lead(assignee=other_employee, won=("10", "USD"))
    account = convert_to_customer(
        first, other_employee, account_data=AccountData("ACME S.A.", GOOD_CUIT)
    ).account
    second = make_lead("Otro", assignee=employee, won=("20", "USD"))
    result = convert_to_customer(second, employee, account_data=AccountData("Acme", "30712345671"))
    assert result.account == account and not result.created and result.messages
    assert Account.objects.count() == 1


def test_a_wrong_check_digit_is_refused_and_nothing_is_written(make_lead, employee):
    lead = make_lead(assignee=employee, won=("10", "USD"))
    with pytest.raises(ValidationError) as raised:
        convert_to_customer(lead, employee, account_data=AccountData("ACME S.A.", WRONG_CUIT))
    assert raised.value.code == "cuit_check_digit"
    assert not Account.objects.exists() and not AccountLead.objects.exists()
    assert not LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.NOTE).exists()


def test_a_lead_that_is_not_won_is_refused(make_lead, employee):
    lead = make_lead(assignee=employee)
    with pytest.raises(ValidationError) as raised:
        convert_to_customer(lead, employee, account_data=AccountData("ACME S.A."))
    assert raised.value.code == "not_won"
    assert not Account.objects.exists()


def test_a_lead_is_converted_once(make_lead, employee):
    lead = make_lead(assignee=employee, won=("10", "USD"))
    convert_to_customer(lead, employee, account_data=AccountData("ACME S.A."))
    with pytest.raises(ValidationError):
        convert_to_customer(lead, employee, account_data=AccountData("Otra S.A."))
    assert Account.objects.count() == 1


def test_only_people_who_may_edit_the_lead_convert_it(
    make_lead, employee, other_employee, other_manager, marketer
):
    lead = make_lead(assignee=employee, won=("10", "USD"))
    for outsider in (other_employee, other_manager, marketer):
        with pytest.raises(PermissionDenied):
            convert_to_customer(lead, outsider, account_data=AccountData("ACME S.A."))
    assert not Account.objects.exists()


def test_an_account_out_of_reach_cannot_be_chosen(make_lead, employee, other_employee):
    theirs = make_lead("Suyo", assignee=other_employee, won=("10", "USD"))
    account = convert_to_customer(theirs, other_employee, account_data=AccountData("Ajena S.A.")).account
    mine = make_lead(assignee=employee, won=("10", "USD"))
    with pytest.raises(PermissionDenied):
        convert_to_customer(mine, employee, account=account)
    assert not AccountLead.objects.filter(lead=mine).exists()
