"""Later leads suggest the account they match: by CUIT, company email domain or phone; never free mail."""

import pytest

from customers.matching import company_domain, lead_cuit, suggestions
from customers.services import AccountData, ContactData, convert_to_customer
from tests.customers.support import GOOD_CUIT, WRONG_CUIT

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(make_lead, employee):
    lead = make_lead("Marta Gómez", assignee=employee, won=("10", "USD"))
    return convert_to_customer(
        lead,
        employee,
        account_data=AccountData("ACME S.A.", GOOD_CUIT),
        contact=ContactData("Marta Gómez", "marta@acme.com.ar", "+54 9 11 5555-1234"),
    ).account


def suggested(lead, user):
    _linked, rows = suggestions(lead, user)
    return {row.account: row.reasons for row in rows}


def test_a_lead_with_the_cuit_suggests_the_account(account, make_lead, employee):
    lead = make_lead("Juan", assignee=employee, extra={"CUIT / CUIL": "30712345671"})
    assert lead_cuit(lead) == "30712345671"
    assert suggested(lead, employee) == {account: ["same CUIT"]}


def test_a_wrong_cuit_suggests_nothing(account, make_lead, employee):
    lead = make_lead("Juan", assignee=employee, extra={"cuit": WRONG_CUIT})
    assert lead_cuit(lead) == ""
    assert suggested(lead, employee) == {}


def test_a_lead_from_the_company_domain_suggests_the_account(account, make_lead, employee):
    lead = make_lead("Juan", assignee=employee, email="juan@ACME.com.ar")
    assert suggested(lead, employee) == {account: ["same email domain"]}


def test_free_mail_domains_suggest_nothing(make_lead, employee):
    won = make_lead("Ana", assignee=employee, won=("10", "USD"))
    convert_to_customer(
        won, employee, account_data=AccountData("Ana SRL"), contact=ContactData("Ana", "ana@gmail.com")
    )
    lead = make_lead("Juan", assignee=employee, email="juan@gmail.com")
    assert company_domain("juan@gmail.com") == "" and company_domain("x@hotmail.com.ar") == ""
    assert suggested(lead, employee) == {}


def test_a_lead_with_the_phone_suggests_the_account(account, make_lead, employee):
    lead = make_lead("Juan", assignee=employee, phone="011 15 5555-1234")
    assert suggested(lead, employee) == {account: ["same phone"]}


def test_the_linked_account_is_the_lead_s_own_not_a_suggestion(account, employee):
    lead = account.lead_links.get().lead
    linked, rows = suggestions(lead, employee)
    assert linked == account and rows == []


def test_suggestions_are_only_accounts_the_reader_may_see(
    account, make_lead, other_employee, other_manager, manager
):
    lead = make_lead("Juan", assignee=other_employee, email="juan@acme.com.ar")
    assert suggested(lead, other_employee) == {}
    assert suggested(lead, manager) == {account: ["same email domain"]}
    intrapal = make_lead("Pedro", brand="intrapal", email="pedro@acme.com.ar")
    assert suggested(intrapal, other_manager) == {}


def test_suggestions_cost_one_query(account, make_lead, employee, django_assert_num_queries):
    lead = make_lead(
        "Juan",
        assignee=employee,
        email="juan@acme.com.ar",
        phone="011 15 5555-1234",
        extra={"cuit": GOOD_CUIT},
    )
    employee.refresh_from_db()
    with django_assert_num_queries(1):
        linked, rows = suggestions(lead, employee)
    assert linked is None and [row.reasons for row in rows] == [
        ["same CUIT", "same email domain", "same phone"]
    ]
