"""Row-level access to accounts, role by role: listing, search, the account page, the editor, the chooser,
the conversion page and the lead page's customer box. Crafted parameters never cause a server error."""

import pytest
from django.urls import reverse

from crm.models import Role
from customers.models import Account, AccountLead
from customers.services import AccountData, ContactData, convert_to_customer
from tests.customers.support import GOOD_CUIT, OTHER_CUIT, WRONG_CUIT

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(Account.snippet_viewset.get_url_name(name), args=args)


def chooser_url(name, *args):
    return reverse(Account.snippet_viewset.chooser_viewset.get_url_name(name), args=args)


@pytest.fixture
def world(make_lead, employee, other_employee, intrapal_employee, manager):
    """ACME: two intralog leads (the employee's, won in pesos and dollars; the other employee's, won in
    pesos). Andes: an intrapal lead."""
    mine = make_lead("Marta", assignee=employee, won=("1000", "ARS"), email="marta@acme.com.ar")
    acme = convert_to_customer(
        mine,
        employee,
        account_data=AccountData("ACME S.A.", GOOD_CUIT),
        contact=ContactData("Marta", "marta@acme.com.ar"),
    ).account
    theirs = make_lead("Pablo", assignee=other_employee, won=("250", "ARS"))
    convert_to_customer(theirs, other_employee, account_data=AccountData("Acme", GOOD_CUIT))  # by its CUIT
    third = make_lead("Lía", assignee=employee, won=("99.5", "USD"))
    convert_to_customer(third, employee, account=acme)
    andes_lead = make_lead("Sol", assignee=intrapal_employee, brand="intrapal", won=("7", "USD"))
    andes = convert_to_customer(
        andes_lead, intrapal_employee, account_data=AccountData("Andes SRL", OTHER_CUIT)
    ).account
    return {
        "acme": acme,
        "andes": andes,
        "mine": mine,
        "theirs": theirs,
        "third": third,
        "andes_lead": andes_lead,
    }


def listed(client, **params):
    response = client.get(url("list"), params)
    assert response.status_code == 200
    html = response.content.decode()
    return {name for name in ("ACME S.A.", "Andes SRL") if name in html}


@pytest.mark.parametrize(
    "who, sees",
    [
        ("admin_user", {"ACME S.A.", "Andes SRL"}),
        ("manager", {"ACME S.A."}),
        ("other_manager", {"Andes SRL"}),
        ("employee", {"ACME S.A."}),
        ("other_employee", {"ACME S.A."}),
        ("intrapal_employee", {"Andes SRL"}),
    ],
)
def test_listing_and_search_show_only_accounts_in_reach(request, world, client_for, who, sees):
    client = client_for(request.getfixturevalue(who))
    assert listed(client) == sees
    assert listed(client, q="andes") == sees & {"Andes SRL"}
    assert listed(client, q="30712345671") == sees & {"ACME S.A."}


def test_an_employee_with_no_linked_lead_sees_no_account(world, make_user, client_for):
    newcomer = make_user("newcomer", Role.EMPLOYEE, ("intralog",))
    client = client_for(newcomer)
    assert listed(client) == set()
    assert client.get(url("inspect", world["acme"].pk)).status_code in (302, 403, 404)


def test_marketing_has_no_accounts(world, marketer, client_for):
    client = client_for(marketer)
    assert client.get(url("list")).status_code in (302, 403)
    assert client.get(url("inspect", world["acme"].pk)).status_code in (302, 403, 404)


def test_the_account_page_shows_only_the_reader_s_leads_and_their_won_value_per_currency(
    world, employee, other_employee, manager, client_for
):
    client = client_for(employee)
    html = client.get(url("inspect", world["acme"].pk)).content.decode()
    assert f'data-account-lead="{world["mine"].pk}"' in html
    assert f'data-account-lead="{world["third"].pk}"' in html
    assert f'data-account-lead="{world["theirs"].pk}"' not in html
    assert 'data-won-currency="ARS">$ 1,000.00' in html and 'data-won-currency="USD">US$ 99.50' in html
    assert "marta@acme.com.ar" in html
    html = client_for(manager).get(url("inspect", world["acme"].pk)).content.decode()
    assert f'data-account-lead="{world["theirs"].pk}"' in html
    assert 'data-won-currency="ARS">$ 1,250.00' in html


@pytest.mark.parametrize("who", ["employee", "other_manager", "manager"])
def test_out_of_reach_account_pages_are_refused(request, world, client_for, who):
    client = client_for(request.getfixturevalue(who))
    outside = world["andes"] if who != "other_manager" else world["acme"]
    for name in ("inspect", "edit", "delete", "history", "usage"):
        assert client.get(url(name, outside.pk)).status_code in (302, 403, 404), name


def test_employees_read_accounts_but_do_not_edit_them(world, employee, manager, client_for):
    client = client_for(employee)
    assert client.get(url("edit", world["acme"].pk)).status_code in (302, 403)
    assert client.get(url("add")).status_code in (302, 403)
    assert client_for(manager).get(url("edit", world["acme"].pk)).status_code == 200


def test_the_chooser_offers_only_accounts_in_reach(world, manager, client_for):
    client = client_for(manager)
    html = client.get(chooser_url("choose_results")).content.decode()
    assert "ACME S.A." in html and "Andes SRL" not in html
    assert client.get(chooser_url("chosen", world["andes"].pk)).status_code in (403, 404)


def test_the_editor_refuses_a_wrong_check_digit(world, manager, client_for):
    client = client_for(manager)
    data = {
        "legal_name": "ACME S.A.",
        "cuit": WRONG_CUIT,
        "address": "",
        "brands": [],
        "contacts-TOTAL_FORMS": "0",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
    }
    response = client.post(url("edit", world["acme"].pk), data)
    assert response.status_code == 200
    assert "check digit is wrong" in response.content.decode().replace("&#x27;", "'")
    world["acme"].refresh_from_db()
    assert world["acme"].cuit == "30712345671"


# The lead page and the conversion page ---------------------------------------------------------------


def lead_html(client, lead):
    response = client.get(reverse("crm_leads:inspect", args=[lead.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_won_lead_offers_the_conversion_and_a_matching_lead_the_account(
    world, make_lead, employee, client_for
):
    client = client_for(employee)
    won = make_lead("Nuevo", assignee=employee, won=("5", "USD"), email="nuevo@acme.com.ar")
    html = lead_html(client, won)
    assert "data-customer-convert" in html and f'data-customer-suggestion="{world["acme"].pk}"' in html
    html = lead_html(client, world["mine"])
    assert "data-customer-account" in html and "data-customer-convert" not in html
    plain = make_lead("Otro", assignee=employee, email="otro@gmail.com")
    assert 'id="crm-customer"' not in lead_html(client, plain)


def test_the_conversion_page_links_a_suggested_account(world, make_lead, employee, client_for):
    client = client_for(employee)
    won = make_lead("Nuevo", assignee=employee, won=("5", "USD"), email="nuevo@acme.com.ar")
    convert = reverse("customers:convert", args=[won.pk])
    assert "ACME S.A." in client.get(convert).content.decode()
    response = client.post(convert, {"account": str(world["acme"].pk), "contact_name": "Nuevo"})
    assert response.status_code == 302
    assert AccountLead.objects.get(lead=won).account == world["acme"]


def test_the_conversion_page_refuses_a_wrong_check_digit(make_lead, employee, client_for):
    client = client_for(employee)
    won = make_lead("Nuevo", assignee=employee, won=("5", "USD"))
    response = client.post(
        reverse("customers:convert", args=[won.pk]),
        {"account": "new", "legal_name": "Nueva SA", "cuit": WRONG_CUIT},
    )
    assert response.status_code == 200 and "check digit is wrong" in response.content.decode().replace(
        "&#x27;", "'"
    )
    assert not AccountLead.objects.filter(lead=won).exists()


def test_the_conversion_page_creates_an_account(make_lead, employee, client_for):
    client = client_for(employee)
    won = make_lead("Nuevo", assignee=employee, won=("5", "USD"), company="Nueva SA")
    response = client.post(
        reverse("customers:convert", args=[won.pk]),
        {"account": "new", "legal_name": "Nueva SA", "cuit": GOOD_CUIT},
    )
    assert response.status_code == 302
    assert AccountLead.objects.get(lead=won).account.cuit == "30712345671"


def test_the_conversion_page_is_refused_out_of_reach_or_not_won(
    world, make_lead, employee, other_employee, client_for
):
    client = client_for(other_employee)
    mine = make_lead("Nuevo", assignee=employee, won=("5", "USD"))
    assert client.get(reverse("customers:convert", args=[mine.pk])).status_code == 404
    assert (
        client.post(
            reverse("customers:convert", args=[mine.pk]), {"account": "new", "legal_name": "X"}
        ).status_code
        == 404
    )
    open_lead = make_lead("Abierto", assignee=other_employee)
    response = client.post(
        reverse("customers:convert", args=[open_lead.pk]), {"account": "new", "legal_name": "X"}
    )
    assert response.status_code == 302 and not Account.objects.filter(legal_name="X").exists()


@pytest.mark.parametrize(
    "params",
    [
        {"account": "9" * 30, "legal_name": "X", "cuit": "😀'\"<"},
        {"account": "-1", "cuit": "9" * 300},
        {"account": ["1", "2"], "legal_name": "x" * 1000},
    ],
)
def test_crafted_parameters_never_cause_a_server_error(world, make_lead, employee, client_for, params):
    client = client_for(employee)
    won = make_lead("Nuevo", assignee=employee, won=("5", "USD"))
    assert client.post(reverse("customers:convert", args=[won.pk]), params).status_code == 200
    assert client.get(reverse("customers:convert", args=["9" * 30])).status_code == 404
    assert client.get(
        url("list"), {"q": "😀'\"< AND OR", "p": "9" * 30, "ordering": "-nope"}
    ).status_code in (200, 404)
    assert client.get(url("inspect", "9" * 30)).status_code == 404


def test_a_manager_edits_only_their_brands_and_keeps_the_others(world, manager, brands, client_for):
    acme = world["acme"]
    Account.brands.through.objects.create(account=acme, brand=brands["intrapal"])
    data = {
        "legal_name": "ACME SA",
        "cuit": "30.71234567.1",
        "address": "Calle 1",
        "brands": [],
        "contacts-TOTAL_FORMS": "0",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
    }
    contacts = acme.contacts.count()
    data["contacts-TOTAL_FORMS"] = data["contacts-INITIAL_FORMS"] = str(contacts)
    for index, contact in enumerate(acme.contacts.all()):
        data.update(
            {
                f"contacts-{index}-id": str(contact.pk),
                f"contacts-{index}-name": contact.name,
                f"contacts-{index}-email": contact.email,
                f"contacts-{index}-phone": contact.phone,
                f"contacts-{index}-role": contact.role,
                f"contacts-{index}-ORDER": str(index),
                f"contacts-{index}-DELETE": "",
            }
        )
    response = client_for(manager).post(url("edit", acme.pk), data)
    assert response.status_code == 302
    acme = Account.objects.get(pk=acme.pk)
    assert (acme.legal_name, acme.cuit) == ("ACME SA", "30712345671")
    assert set(acme.brands.all()) == {brands["intrapal"]}
