"""The lead page's customer box and the conversion page; every view checks the reader's rights on the lead."""

from typing import Any, cast

from django import forms
from django.contrib import messages as admin_messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from wagtail.admin.ui.components import Component

from crm import access as lead_access
from crm.models import Lead, User

from . import matching, services
from .forms import ConvertForm
from .models import Account


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def lead_page_url(lead: Lead) -> str:
    return reverse("crm_leads:inspect", args=[lead.pk]) + "#crm-customer"


def account_url(account: Account) -> str:
    return reverse(Account.snippet_viewset.get_url_name("inspect"), args=[account.pk])


class CustomerPanel(Component):
    """The lead page's customer box (``crm_lead_page_panels``): the lead's account, or accounts it matches
    and the conversion of a won lead. One query (``matching.suggestions``)."""

    template_name = "customers/panel.html"

    def __init__(self, request: HttpRequest, lead: Lead):
        self.request = request
        self.lead = lead
        self.account, self.suggestions = matching.suggestions(lead, _user(request))
        self.convertible = self.account is None and services.may_convert(_user(request), lead)

    @property
    def is_empty(self) -> bool:
        return self.account is None and not self.suggestions and not self.convertible

    @property
    def media(self) -> Any:
        return forms.Media()

    def get_context_data(self, parent_context: Any) -> dict[str, Any]:
        return {
            "account": self.account,
            "account_url": account_url(self.account) if self.account else "",
            "suggestions": [(row, account_url(row.account)) for row in self.suggestions],
            "convert_url": reverse("customers:convert", args=[self.lead.pk]) if self.convertible else "",
        }


def convert(request: HttpRequest, pk: int) -> HttpResponse:
    """Convert a won lead into a customer: choose one of the accounts it matches or create one."""
    user = _user(request)
    lead = get_object_or_404(
        lead_access.leads_for(user, Lead.objects.select_related("status", "brand")), pk=pk
    )
    try:
        services.check_may_convert(user, lead)
    except ValidationError as error:
        for text in error.messages:
            admin_messages.error(request, text)
        return redirect(lead_page_url(lead))
    _linked, suggested = matching.suggestions(lead, user)
    accounts = [row.account for row in suggested]
    form = ConvertForm(request.POST or None, lead=lead, suggested=accounts)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.convert_to_customer(
                lead,
                user,
                account=form.chosen_account(),
                account_data=None if form.chosen_account() else form.account_data(),
                contact=form.contact_data(),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            for text in result.messages:
                admin_messages.info(request, text)
            admin_messages.success(
                request,
                _("%(lead)s is now a customer: %(account)s.") % {"lead": lead, "account": result.account},
            )
            return redirect(lead_page_url(lead))
    context = {
        "lead": lead,
        "form": form,
        "suggestions": suggested,
        "lead_url": lead_page_url(lead),
        "page_title": _("Convert to customer"),
    }
    return TemplateResponse(request, "customers/convert.html", context)
