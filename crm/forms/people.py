"""Admin forms for people: user create/edit limited by the actor's role, invitations, account panel."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from wagtail.users.forms import UserCreationForm as WagtailUserCreationForm
from wagtail.users.forms import UserEditForm as WagtailUserEditForm

from crm import people
from crm.models import Brand, Invitation, Role, User
from crm.roles import grantable_roles

USER_FIELDS = ["username", "email", "first_name", "last_name", "role", "brands", "phone", "whatsapp"]


def _role_choices(actor):
    return [(role.value, role.label) for role in grantable_roles(actor)]


def _brand_queryset(actor):
    return Brand.objects.all() if actor.role == Role.ADMIN else actor.brands.all()


class RoleLimitedUserFormMixin:
    """Role and brand choices limited to what ``actor`` may grant; the role decides the group."""

    def setup_role_fields(self, actor):
        self.actor = actor
        self.fields["role"].choices = _role_choices(actor)
        self.fields["brands"].queryset = _brand_queryset(actor)
        self.fields["brands"].widget = forms.CheckboxSelectMultiple(choices=self.fields["brands"].choices)
        if actor.role != Role.ADMIN:
            self.fields["brands"].required = True

    def clean_brands(self):
        self.chosen_brands = list(self.cleaned_data.get("brands") or [])
        return people.brands_after_edit(self.actor, self.instance, self.chosen_brands)

    def clean(self):
        cleaned = super().clean()
        role = cleaned.get("role") if "role" in self.fields else self.instance.role
        if role and "brands" in cleaned:
            try:
                people.check_role_grant(self.actor, role, self.chosen_brands)
            except PermissionDenied as error:
                raise forms.ValidationError(str(error)) from error
        return cleaned


class UserCreationForm(RoleLimitedUserFormMixin, WagtailUserCreationForm):
    is_superuser = None

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_role_fields(actor)

    class Meta(WagtailUserCreationForm.Meta):
        model = User
        fields = USER_FIELDS


class UserEditForm(RoleLimitedUserFormMixin, WagtailUserEditForm):
    is_superuser = None

    def __init__(self, *args, actor, editing_self=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_role_fields(actor)
        if editing_self:
            # Nobody changes their own role or switches themselves off.
            del self.fields["is_active"]
            del self.fields["role"]

    class Meta(WagtailUserEditForm.Meta):
        model = User
        fields = USER_FIELDS + ["is_active"]


class InvitationForm(forms.ModelForm):
    """Invite an email address with a role the actor may grant, for the actor's brands."""

    def __init__(self, *args, for_user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = for_user
        self.fields["role"].choices = _role_choices(for_user)
        self.fields["brands"].queryset = _brand_queryset(for_user)
        self.fields["brands"].widget = forms.CheckboxSelectMultiple(choices=self.fields["brands"].choices)
        self.fields["brands"].required = for_user.role != Role.ADMIN

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("A user with this email address already exists."))
        return email

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("role"):
            try:
                people.check_role_grant(self.actor, cleaned["role"], list(cleaned.get("brands") or []))
            except PermissionDenied as error:
                raise forms.ValidationError(str(error)) from error
        return cleaned

    def save(self, commit=True):
        """Create the invitation through ``crm.people.invite`` (which checks again and queues the email)."""
        self.instance = people.invite(
            self.actor,
            self.cleaned_data["email"],
            self.cleaned_data["role"],
            list(self.cleaned_data.get("brands") or []),
        )
        return self.instance

    class Meta:
        model = Invitation
        fields = ["email", "role", "brands"]


class ContactNumbersForm(forms.ModelForm):
    """The account panel for the user's own phone and WhatsApp numbers.

    Other panels may show the WhatsApp number too (alert preferences); all panels share one user object,
    so a number left unchanged here is left alone rather than written back over another panel's change.
    """

    def clean(self):
        cleaned = super().clean()
        for name in list(cleaned):
            if name not in self.changed_data:
                del cleaned[name]
        return cleaned

    class Meta:
        model = User
        fields = ["phone", "whatsapp"]
