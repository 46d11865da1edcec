"""``{{ amount|money:currency }}``: an amount as ``crm.money.display`` writes it."""

from decimal import Decimal

from django import template

from crm import money as crm_money

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    return "" if amount is None else crm_money.display(amount, currency)
