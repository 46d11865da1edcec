"""The public side of invitations: the invitee sets a name and password and lands in the admin."""

from django import forms
from django.contrib.auth import get_user_model, login, password_validation
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from crm import people


class AcceptInvitationForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput, strip=False)

    def __init__(self, *args, invitation, **kwargs):
        super().__init__(*args, **kwargs)
        self.invitation = invitation
        self.fields["password1"].help_text = password_validation.password_validators_help_text_html()

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("The two passwords do not match."))
        elif password1:
            candidate = get_user_model()(
                username=self.invitation.email,
                email=self.invitation.email,
                first_name=cleaned.get("first_name", ""),
                last_name=cleaned.get("last_name", ""),
            )
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


@never_cache
@sensitive_post_parameters("password1", "password2")
def accept_invitation(request, token):
    try:
        invitation = people.usable_invitation(token)
    except people.InvitationInvalid as error:
        return render(request, "crm/invitation_invalid.html", {"reason": str(error)}, status=410)

    form = AcceptInvitationForm(request.POST or None, invitation=invitation)
    if request.method == "POST" and form.is_valid():
        try:
            user = people.accept_invitation(
                token,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                password=form.cleaned_data["password1"],
            )
        except people.InvitationInvalid as error:
            return render(request, "crm/invitation_invalid.html", {"reason": str(error)}, status=410)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("wagtailadmin_home")
    return render(request, "crm/accept_invitation.html", {"form": form, "invitation": invitation})
