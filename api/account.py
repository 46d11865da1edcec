"""The person's API tokens in their account area: the list, a new token (shown once) and revoking one."""

from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from crm.models import User

from . import tokens

MAX_DAYS = 366


class NewTokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What the token is for, e.g. the spreadsheet or system that uses it."),
    )
    days = forms.IntegerField(
        label=gettext_lazy("Valid for (days)"),
        min_value=1,
        max_value=MAX_DAYS,
        initial=settings.API_TOKEN_DAYS,
    )


def _person(request: HttpRequest) -> User:
    return cast(User, request.user)


def _context(request: HttpRequest, form: NewTokenForm) -> dict[str, Any]:
    return {
        "tokens": tokens.tokens_of(_person(request)),
        "form": form,
        "docs_url": reverse("api_v1:openapi-view"),
        "rate": settings.API_RATE_PER_MINUTE,
        "page_title": _("API tokens"),
        "header_title": _("API tokens"),
        "header_icon": "key",
    }


@never_cache
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """The person's tokens; a POST makes a new one, whose value this one answer shows."""
    form = NewTokenForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        token, plaintext = tokens.issue(
            _person(request), form.cleaned_data["name"], form.cleaned_data["days"]
        )
        context = _context(request, NewTokenForm())
        context.update(new_token=token, plaintext=plaintext)
        return render(request, "api/tokens.html", context)
    return render(request, "api/tokens.html", _context(request, form))


@require_POST
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    if tokens.revoke(_person(request), token_id):
        messages.success(request, _("The token was revoked: it no longer works."))
    return redirect("api_tokens:list")
