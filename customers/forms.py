"""The form that turns a won lead into a customer: an account suggested for it, or a new one."""

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from crm.brand_scope import brands_managed_by, is_admin
from crm.models import Brand, Lead

from . import cuit as cuit_rules
from .models import Account
from .services import AccountData, ContactData

NEW = "new"


class ConvertForm(forms.Form):
    account = forms.ChoiceField(label=_("Account"), widget=forms.RadioSelect)
    legal_name = forms.CharField(label=_("Legal name (razón social)"), max_length=200, required=False)
    cuit = forms.CharField(label=_("CUIT"), max_length=20, required=False, help_text=_("e.g. 30-71234567-1"))
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    contact_name = forms.CharField(label=_("Contact name"), max_length=200, required=False)
    contact_role = forms.CharField(label=_("Position"), max_length=120, required=False)
    contact_email = forms.CharField(label=_("Contact email"), max_length=254, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=64, required=False)

    def __init__(self, *args: Any, lead: Lead, suggested: list[Account], **kwargs: Any):
        initial = {
            "account": str(suggested[0].pk) if suggested else NEW,
            "legal_name": lead.company,
            "contact_name": lead.contact_name,
            "contact_email": lead.email,
            "contact_phone": lead.phone,
        }
        kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.suggested = {str(account.pk): account for account in suggested}
        choices = [(pk, account.legal_name) for pk, account in self.suggested.items()]
        cast(forms.ChoiceField, self.fields["account"]).choices = [*choices, (NEW, _("A new account"))]

    def clean_cuit(self) -> str:
        value = self.cleaned_data.get("cuit", "").strip()
        return cuit_rules.normalise(value) if value else ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            cleaned.get("account") == NEW
            and not cleaned.get("legal_name", "").strip()
            and not cleaned.get("cuit")
        ):
            self.add_error("legal_name", ValidationError(_("Enter the account's legal name (razón social).")))
        return cleaned

    def chosen_account(self) -> Account | None:
        return self.suggested.get(self.cleaned_data["account"])

    def account_data(self) -> AccountData:
        data = self.cleaned_data
        return AccountData(legal_name=data["legal_name"], cuit=data["cuit"], address=data["address"])

    def contact_data(self) -> ContactData:
        data = self.cleaned_data
        return ContactData(
            name=data["contact_name"],
            email=data["contact_email"],
            phone=data["contact_phone"],
            role=data["contact_role"],
        )


class AccountForm(WagtailAdminModelForm):
    """The account editor: a CUIT typed with dashes or dots is checked and stored as its 11 digits."""

    cuit = forms.CharField(label=_("CUIT"), max_length=20, required=False, help_text=_("e.g. 30-71234567-1"))

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.kept_brands: list[Brand] = []
        user = getattr(self, "for_user", None)
        if user is not None and not is_admin(user):
            field = cast(forms.ModelMultipleChoiceField, self.fields["brands"])
            field.queryset = brands_managed_by(user)
            if self.instance.pk:
                self.kept_brands = list(
                    Brand.objects.filter(customer_accounts=self.instance).exclude(pk__in=field.queryset)
                )

    def clean_cuit(self) -> str | None:
        value = self.cleaned_data.get("cuit", "").strip()
        return cuit_rules.normalise(value) if value else None

    def clean_brands(self) -> list[Brand]:
        """A manager chooses among their brands; the account's other brands stay as they were."""
        return [*(self.cleaned_data.get("brands") or []), *self.kept_brands]
