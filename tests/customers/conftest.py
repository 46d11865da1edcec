"""Fixtures of the customers tests."""

from decimal import Decimal

import pytest

from crm import services
from crm.intake import LeadData, create_lead
from crm.models import Lead


@pytest.fixture
def make_lead(brands, manager):
    def make(name="Marta Gómez", assignee=None, brand="intralog", won=None, **fields):
        lead = create_lead(LeadData(brand=brands[brand], contact_name=name, **fields), actor=manager)
        if assignee is not None:
            services.assign(lead, assignee, manager)
        if won is not None:
            services.change_status(lead, "won", manager)
            amount, currency = won
            Lead.objects.filter(pk=lead.pk).update(
                won_amount=Decimal(amount) if amount else None, won_currency=currency
            )
        return Lead.objects.select_related("status", "brand").get(pk=lead.pk)

    return make
