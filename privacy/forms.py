"""The personal-data request form: whom it is about and what to do."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import PrivacyRequest
from .subjects import SubjectError, subject_key

EXPORT_JSON, EXPORT_HTML, ERASE = "export_json", "export_html", "erase"


class RequestForm(forms.Form):
    subject_kind = forms.ChoiceField(label=_("The person, by"), choices=PrivacyRequest.SubjectKind.choices)
    subject = forms.CharField(
        label=_("Lead number, email or phone"),
        max_length=254,
        help_text=_(
            "A lead finds its merged leads and duplicates; an email or a phone finds every lead in every brand."
        ),
    )
    action = forms.ChoiceField(
        label=_("Do"),
        choices=[
            (EXPORT_JSON, _("Export everything held (JSON)")),
            (EXPORT_HTML, _("Export everything held (readable document)")),
            (ERASE, _("Erase everything held")),
        ],
        widget=forms.RadioSelect,
        initial=EXPORT_HTML,
    )
    confirm = forms.BooleanField(
        label=_("I understand that erasing cannot be undone"),
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, value = data.get("subject_kind"), data.get("subject")
        if kind and value:
            try:
                data["subject"] = subject_key(kind, value)
            except SubjectError:
                self.add_error("subject", _("This is not a lead number, a valid email or a valid phone."))
        if data.get("action") == ERASE and not data.get("confirm"):
            self.add_error("confirm", _("Tick the box to confirm the erasure."))
        return data
