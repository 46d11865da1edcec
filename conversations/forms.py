from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .mail import BODY_LIMIT, SUBJECT_LIMIT, Sender
from .services import TEXT_LIMIT


class SendForm(forms.Form):
    """A message from the lead page: a template (by id) or free text."""

    template = forms.IntegerField(label=_("Template"), required=False, min_value=1, max_value=2**31 - 1)
    text = forms.CharField(
        label=_("Message"),
        required=False,
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (the browser's multiple selection)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class EmailForm(forms.Form):
    """An email from the lead page."""

    sender = forms.ChoiceField(
        label=_("From"),
        choices=[(Sender.REP, _("My address")), (Sender.BRAND, _("The brand's sales address"))],
    )
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_LIMIT)
    body = forms.CharField(
        label=_("Message"), max_length=BODY_LIMIT, widget=forms.Textarea(attrs={"rows": 8})
    )
    attachments = MultipleFileField(label=_("Files"), required=False)
