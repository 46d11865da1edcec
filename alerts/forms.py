"""The alert rule form (brand-scoped for managers) and the personal alert preferences form (account area)."""

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from crm.brand_scope import brands_managed_by, is_admin
from crm.models import Campaign, Service, User

from . import registry as channels
from .models import AlertPreferences, Trigger


def field_name(trigger: str, channel: str) -> str:
    return f"{trigger}__{channel}"


class AlertPreferencesForm(forms.ModelForm[User]):
    """Everything is on by default; unticking a box mutes that channel for that trigger."""

    class Meta:
        model = User
        fields = ["whatsapp"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        preferences = AlertPreferences.objects.filter(user=self.instance).first()
        muted = set(preferences.muted) if preferences else set()
        for trigger, trigger_label in Trigger.choices:
            for channel, channel_label in channels.choices():
                self.fields[field_name(trigger, channel)] = forms.BooleanField(
                    label=f"{trigger_label} · {channel_label}",
                    required=False,
                    initial=AlertPreferences.key(trigger, channel) not in muted,
                )
        self.fields["whatsapp"].help_text = _("International format, e.g. +54 9 11 5555 1234.")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if "whatsapp" not in self.changed_data:
            # The "Phone and WhatsApp" panel edits the same user: an unchanged copy must not undo its change.
            cleaned.pop("whatsapp", None)
        return cleaned

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=commit)
        muted = [
            AlertPreferences.key(trigger, channel)
            for trigger in Trigger.values
            for channel, _label in channels.choices()
            if not self.cleaned_data.get(field_name(trigger, channel))
        ]
        AlertPreferences.objects.update_or_create(user=user, defaults={"muted": muted})
        return user


class AlertRuleForm(WagtailAdminModelForm):
    """Managers choose among their own brands (at least one), and those brands' services, campaigns and
    people; chosen users out of their reach (picked by an admin) stay on the rule untouched."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.scoped = bool(self.for_user) and not is_admin(self.for_user)
        if not self.scoped:
            return
        brands = brands_managed_by(self.for_user)
        self.fields["brands"].queryset = brands
        self.fields["brands"].required = True
        self.fields["brands"].help_text = _("The rule applies to leads of these brands.")
        self.fields["services"].queryset = Service.objects.filter(brand__in=brands)
        self.fields["campaigns"].queryset = Campaign.objects.filter(
            Q(brand__isnull=True) | Q(brand__in=brands)
        )
        self.fields["users"].queryset = User.objects.filter(is_active=True, brands__in=brands).distinct()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("trigger") == Trigger.FOLLOW_UP_DUE and not cleaned.get("threshold"):
            self.add_error("threshold", _("Give how many minutes before the due time the reminder goes out."))
        if self.scoped and self.instance.pk and "users" in cleaned:
            offered = self.fields["users"].queryset
            kept = self.instance.users.exclude(pk__in=offered.values("pk"))
            cleaned["users"] = [*cleaned["users"], *kept]
        return cleaned
