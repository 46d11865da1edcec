"""Erasing a person (privacy) removes them as a contact person of customer accounts; the account stays."""

import pytest

from customers.models import Account, Contact
from customers.services import AccountData, ContactData, convert_to_customer
from privacy import services as privacy
from tests.customers.support import GOOD_CUIT

pytestmark = pytest.mark.django_db


def test_an_erased_person_is_no_contact_any_more(make_lead, employee, admin_user):
    lead = make_lead("Marta Gómez", assignee=employee, won=("10", "USD"), email="marta@acme.com.ar")
    convert_to_customer(
        lead,
        employee,
        account_data=AccountData("ACME S.A.", GOOD_CUIT),
        contact=ContactData("Marta Gómez", "marta@acme.com.ar", "011 4555-1234"),
    )
    Contact.objects.create(account=Account.objects.get(), name="Otra persona", email="otra@acme.com.ar")
    privacy.erase_person("email", "marta@acme.com.ar", admin_user)
    assert list(Contact.objects.values_list("name", flat=True)) == ["Otra persona"]
    assert Account.objects.get().legal_name == "ACME S.A."
