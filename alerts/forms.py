"""The personal alert preferences form (account area): channels per trigger and the WhatsApp number."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import User

from .models import AlertPreferences, Channel, Trigger


def field_name(trigger, channel):
    return f"{trigger}__{channel}"


class AlertPreferencesForm(forms.ModelForm):
    """Everything is on by default; unticking a box mutes that channel for that trigger."""

    class Meta:
        model = User
        fields = ["whatsapp"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        preferences = AlertPreferences.objects.filter(user=self.instance).first()
        muted = set(preferences.muted) if preferences else set()
        for trigger, trigger_label in Trigger.choices:
            for channel, channel_label in Channel.choices:
                self.fields[field_name(trigger, channel)] = forms.BooleanField(
                    label=f"{trigger_label} · {channel_label}",
                    required=False,
                    initial=AlertPreferences.key(trigger, channel) not in muted,
                )
        self.fields["whatsapp"].help_text = _("International format, e.g. +54 9 11 5555 1234.")

    def clean(self):
        cleaned = super().clean()
        if "whatsapp" not in self.changed_data:
            # The "Phone and WhatsApp" panel edits the same user: an unchanged copy must not undo its change.
            cleaned.pop("whatsapp", None)
        return cleaned

    def save(self, commit=True):
        user = super().save(commit=commit)
        muted = [
            AlertPreferences.key(trigger, channel)
            for trigger in Trigger.values
            for channel in Channel.values
            if not self.cleaned_data.get(field_name(trigger, channel))
        ]
        AlertPreferences.objects.update_or_create(user=user, defaults={"muted": muted})
        return user
