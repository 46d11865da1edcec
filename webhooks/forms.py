"""The subscription form: events as checkboxes, brands optional; the secret is never a field."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from .models import EventType, Subscription


class SubscriptionForm(WagtailAdminModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A move into a won or lost status is also “lead won” / “lead lost”."),
    )

    class Meta:
        model = Subscription
        fields = ["name", "url", "events", "brands", "is_active"]
        widgets = {"brands": forms.CheckboxSelectMultiple}

    def clean_events(self) -> list[str]:
        chosen = self.cleaned_data.get("events") or []
        return [value for value, _label in EventType.choices if value in chosen]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["events"] = list(self.instance.events or [])
