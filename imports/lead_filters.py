"""The lead listing's ``import_run`` filter (through ``crm``'s ``register_lead_listing_filter`` hook): the
leads an import created, for the link from the import's page."""

from typing import Any

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

IMPORT_RUN_PARAMETER = "import_run"
EXTERNAL_SOURCE = "spreadsheet"


class ImportRunFilter(django_filters.NumberFilter):
    def __init__(self, **options: Any) -> None:
        options.setdefault("label", _("Spreadsheet import"))
        options.setdefault("widget", forms.HiddenInput)
        super().__init__(**options)

    def filter(self, qs: Any, value: Any) -> Any:
        if value in (None, ""):
            return qs
        return qs.filter(external_source=EXTERNAL_SOURCE, extra__import_run=int(value))


def import_run_filter() -> tuple[str, django_filters.Filter]:
    return IMPORT_RUN_PARAMETER, ImportRunFilter(field_name="id", min_value=1, max_value=2**62)
