"""Two-factor sign-in pages: the code after the password, enrolment, the person's own settings and an
admin's reset. The rules are in ``crm.two_factor``."""

from __future__ import annotations

from typing import Any

from axes.helpers import get_credentials, get_lockout_response
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from crm import audit, two_factor
from crm.models import User

CODE_ATTRS = {
    "autocomplete": "one-time-code",
    "autocapitalize": "none",
    "spellcheck": "false",
    "autofocus": True,
}


class VerifyForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("The 6-digit code of your authenticator app, or one of your recovery codes."),
        widget=forms.TextInput(attrs=CODE_ATTRS),
    )
    remember = forms.BooleanField(required=False)

    def __init__(self, *args: Any, remember_days: int = 30, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["remember"].label = ngettext(
            "Remember this browser for %(days)d day", "Remember this browser for %(days)d days", remember_days
        ) % {"days": remember_days}


class EnrolForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=32,
        widget=forms.TextInput(attrs={**CODE_ATTRS, "inputmode": "numeric"}),
    )


class DisableForm(forms.Form):
    code = forms.CharField(label=_("Current code"), max_length=32, widget=forms.TextInput(attrs=CODE_ATTRS))


def next_url(request: HttpRequest) -> str:
    """Where to go once done: a same-site ``next`` or the admin home."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return candidate if candidate and allowed else reverse("wagtailadmin_home")


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The second step after the password: a code from the app or a recovery code."""
    user, destination = _user(request), next_url(request)
    step = two_factor.pending_step(request)
    if step is None:
        return redirect(destination)
    if step == two_factor.Step.ENROL:
        return redirect(f"{reverse('crm_two_factor:enrol')}?{request.GET.urlencode()}")
    if two_factor.is_locked(request, user):
        return _locked_out(request, user)
    form = VerifyForm(request.POST or None, remember_days=settings.TWO_FACTOR_REMEMBER_DAYS)
    if request.method == "POST" and form.is_valid():
        device = two_factor.verify_code(user, form.cleaned_data["code"])
        if device is not None:
            authenticator = two_factor.authenticator(user)
            two_factor.mark_verified(request, authenticator or device)  # new recovery codes keep the session
            two_factor.complete_sign_in(request, user)
            method = "authenticator" if device == authenticator else "recovery_code"
            audit.record(
                audit.SECOND_FACTOR_PASSED, user, target=audit.person_target(user), detail={"method": method}
            )
            response = redirect(destination)
            if form.cleaned_data["remember"] and authenticator is not None:
                two_factor.remember_browser(response, user, authenticator)
            return response
        if two_factor.record_failure(request, user):
            return _locked_out(request, user)
        form.add_error("code", _("That code is not valid (or was already used). Try the current one."))
    return render(request, "crm/two_factor/verify.html", {"form": form, "next": destination})


def _locked_out(request: HttpRequest, user: User) -> HttpResponse:
    credentials = get_credentials(user.get_username())
    logout(request)
    return get_lockout_response(request, None, credentials)


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    """Turn on two-factor sign-in: scan the QR code (or type the key), confirm with a code, keep the
    recovery codes."""
    user, destination = _user(request), next_url(request)
    if two_factor.has_second_factor(user):
        if two_factor.pending_step(request) is not None:
            return redirect(f"{reverse('crm_two_factor:verify')}?{request.GET.urlencode()}")
        return redirect("crm_two_factor:account")
    secret = request.session.get(two_factor.PENDING_KEY_SESSION_KEY)
    if not isinstance(secret, str) or len(secret) != 40:
        secret = two_factor.new_secret()
        request.session[two_factor.PENDING_KEY_SESSION_KEY] = secret
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        enrolled = two_factor.enrol(user, secret, form.cleaned_data["code"])
        if enrolled is not None:
            device, codes = enrolled
            request.session.pop(two_factor.PENDING_KEY_SESSION_KEY, None)
            two_factor.mark_verified(request, device)
            two_factor.complete_sign_in(request, user)
            return render(
                request,
                "crm/two_factor/recovery_codes.html",
                {"codes": codes, "next": destination, "enrolled": True},
            )
        form.add_error(
            "code",
            _("That code does not match. Check the app shows INTRALOG Leads and try the current code."),
        )
    return render(
        request,
        "crm/two_factor/enrol.html",
        {
            "form": form,
            "next": destination,
            "required": two_factor.is_required(user),
            "qr_svg": two_factor.qr_svg(two_factor.provisioning_uri(user, secret)),
            "secret": two_factor.readable_secret(secret),
        },
    )


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    """The person's own two-factor settings: status, new recovery codes, forget browsers, turn off."""
    user = _user(request)
    enabled = two_factor.has_second_factor(user)
    required = two_factor.is_required(user)
    disable_form = DisableForm(request.POST if request.POST.get("action") == "disable" else None)
    action = request.POST.get("action") if request.method == "POST" else None
    if action and enabled:
        if action == "recovery_codes":
            codes = two_factor.new_recovery_codes(user)
            return render(
                request,
                "crm/two_factor/recovery_codes.html",
                {"codes": codes, "next": reverse("crm_two_factor:account")},
            )
        if action == "forget":
            device = two_factor.forget_browsers(user)
            if device is not None:
                two_factor.mark_verified(request, device)
            messages.success(request, _("Every browser will ask for a code at the next sign-in."))
            response = redirect("crm_two_factor:account")
            response.delete_cookie(two_factor.REMEMBER_COOKIE)
            return response
        if action == "disable" and not required and disable_form.is_valid():
            if two_factor.verify_code(user, disable_form.cleaned_data["code"]) is not None:
                two_factor.disable(user)
                messages.success(request, _("Two-factor sign-in is off."))
                response = redirect("crm_two_factor:account")
                response.delete_cookie(two_factor.REMEMBER_COOKIE)
                return response
            disable_form.add_error(
                "code", _("That code is not valid (or was already used). Try the current one.")
            )
    context = {
        "enabled": enabled,
        "required": required,
        "codes_left": two_factor.recovery_codes_left(user) if enabled else 0,
        "disable_form": disable_form,
        "remember_days": settings.TWO_FACTOR_REMEMBER_DAYS,
        "page_title": _("Two-factor sign-in"),
        "header_title": _("Two-factor sign-in"),
        "header_icon": "key",
    }
    return render(request, "crm/two_factor/account.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def reset(request: HttpRequest, user_id: int) -> HttpResponse:
    """An admin removes a person's second factor (confirm, then POST); logged."""
    if not two_factor.can_reset(request.user):
        raise PermissionDenied
    person = get_object_or_404(User, pk=user_id)
    if request.method == "POST":
        two_factor.reset(_user(request), person)
        messages.success(
            request,
            _("Two-factor sign-in of %(person)s reset: they set it up again at their next sign-in.")
            % {"person": person},
        )
        return redirect("wagtailusers_users:edit", person.pk)
    context = {
        "person": person,
        "enabled": two_factor.has_second_factor(person),
        "page_title": _("Reset two-factor sign-in"),
        "page_subtitle": str(person),
        "header_title": _("Reset two-factor sign-in"),
        "header_icon": "key",
    }
    return render(request, "crm/two_factor/reset.html", context)
