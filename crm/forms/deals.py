"""Forms of a lead's money: its quote, its won amount, the reason it was lost."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.deals import MAX_AMOUNT
from crm.models import Currency, LostReason


def amount_field(label, *, required=True, help_text=""):
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal("0"),
        max_value=MAX_AMOUNT,
        decimal_places=2,
        max_digits=14,
        help_text=help_text,
        error_messages={"min_value": _("An amount cannot be negative.")},
    )


def date_field(label, *, required=False, help_text=""):
    return forms.DateField(
        label=label, required=required, help_text=help_text, widget=forms.DateInput(attrs={"type": "date"})
    )


class LostReasonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.display_label


def lost_reason_field():
    return LostReasonChoiceField(
        queryset=LostReason.objects.filter(is_active=True),
        label=_("Why was it lost?"),
        required=False,
        empty_label=_("Choose a reason"),
        help_text=_("Required when the lead is lost or not viable."),
    )


class QuoteForm(forms.Form):
    """The quote of one lead (``crm.deals.set_quote`` checks the rules again)."""

    amount = amount_field(_("Quoted amount"))
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)
    quoted_on = date_field(_("Quote date"), help_text=_("Today when left empty."))
    expected_close_on = date_field(_("Expected close date"))

    def clean(self):
        cleaned = super().clean()
        quoted_on, closing = cleaned.get("quoted_on"), cleaned.get("expected_close_on")
        if quoted_on and closing and closing < quoted_on:
            self.add_error("expected_close_on", _("The expected close cannot be before the quote date."))
        return cleaned


class ClearQuoteForm(forms.Form):
    """Nothing to fill in: posting it clears the quote."""


class WonAmountForm(forms.Form):
    """What a won lead was won for (``crm.deals.record_won_amount``); empty: not known."""

    won_amount = amount_field(_("Won amount"), required=False)
    won_currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices, required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("won_amount") is not None and not cleaned.get("won_currency"):
            self.add_error("won_currency", _("Choose pesos (ARS) or dollars (USD)."))
        return cleaned
