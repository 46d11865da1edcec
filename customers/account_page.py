"""What an account's page shows a reader: its contacts, the leads they may see and the won value per currency."""

from decimal import Decimal
from typing import Any

from django.db.models import Sum

from crm import access as lead_access
from crm.models import Lead, Stage

from .models import Account

LEADS_LIMIT = 200


def lead_rows(account: Account, user: Any) -> list[Lead]:
    """The account's leads ``user`` may see, newest first (up to ``LEADS_LIMIT``)."""
    leads = Lead.objects.filter(customer_link__account=account).select_related("status", "brand", "assignee")
    return list(lead_access.leads_for(user, leads).order_by("-submitted_at", "-pk")[:LEADS_LIMIT])


def won_totals(account: Account, user: Any) -> list[tuple[str, Decimal]]:
    """The won amounts of the account's leads ``user`` may see, summed per currency: pesos and dollars
    apart, never converted."""
    leads = Lead.objects.filter(
        customer_link__account=account, status__stage=Stage.WON, won_amount__isnull=False
    )
    rows = (
        lead_access.leads_for(user, leads)
        .exclude(won_currency="")
        .order_by()
        .values_list("won_currency")
        .annotate(total=Sum("won_amount"))
        .order_by("won_currency")
    )
    return [(currency, total) for currency, total in rows]
