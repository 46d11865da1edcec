"""The upload form and the mapping form of a draft run."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import Brand

from . import mapping
from .models import ImportRun


class UploadForm(forms.Form):
    brand = forms.ModelChoiceField(queryset=Brand.objects.none(), label=_("Brand"))
    file = forms.FileField(label=_("Spreadsheet (CSV or XLSX)"))

    def __init__(self, *args: Any, brands: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brands  # type: ignore[attr-defined]
        if brands.count() == 1:
            self.fields["brand"].initial = brands.first()


class MappingForm(forms.Form):
    """One choice per column of the file, then the mode, the alerts and whether to keep the mapping."""

    mode = forms.ChoiceField(label=_("Rows that are already leads"), choices=ImportRun.Mode.choices)
    send_alerts = forms.BooleanField(
        label=_("Send the usual alerts about the new leads"), required=False, initial=False
    )
    remember = forms.BooleanField(label=_("Use this mapping for my next file"), required=False, initial=True)

    def __init__(self, *args: Any, headers: list[str], columns: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers = headers
        choices = [(value, str(label)) for value, label in mapping.targets()]
        for index, header in enumerate(headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=header or _("Column %(number)s") % {"number": index + 1},
                choices=choices,
                required=False,
                initial=columns[index] if index < len(columns) else mapping.IGNORE,
            )

    def column_fields(self) -> list[forms.BoundField]:
        return [self[f"column_{index}"] for index in range(len(self.headers))]

    def columns(self) -> list[str]:
        return [
            self.cleaned_data.get(f"column_{index}") or mapping.IGNORE for index in range(len(self.headers))
        ]
