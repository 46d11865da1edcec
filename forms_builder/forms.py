"""The visitor's form (built from the page's fields plus the spam guard fields) and the page's admin form."""

from typing import Any

import django.forms
from django.utils.translation import gettext_lazy as _
from wagtail.contrib.forms.forms import BaseForm, FormBuilder, WagtailAdminFormPageForm

from crm import lead_fields
from crm.normalise import normalise_email, phone_to_e164

from .recipients import allowed_recipients, notification_addresses

HONEYPOT_FIELD = "website"
RENDER_TOKEN_FIELD = "render_token"  # noqa: S105 (a field name)
CONSENT_FIELD = "privacy_consent"
RESERVED_NAMES = {HONEYPOT_FIELD, RENDER_TOKEN_FIELD, CONSENT_FIELD, "csrfmiddlewaretoken"}

EXTRA_MAX_LENGTH = 1000
TEXT_FIELD_TYPES = {"singleline", "multiline", "email", "hidden", "url"}
NOT_TEXT_BOXES = {"hidden", "checkbox", "radio", "file"}


def answer_max_length(lead_field: str) -> int:
    """The longest answer a form field filling ``lead_field`` takes (see ``crm.lead_fields``)."""
    answer = lead_fields.form_answer(lead_field)
    return (answer.form_max_length if answer else None) or EXTRA_MAX_LENGTH


def autocomplete(lead_field: str) -> str:
    answer = lead_fields.form_answer(lead_field)
    return answer.form.autocomplete if answer and answer.form else "on"


def is_text_box(widget: django.forms.Widget) -> bool:
    """Whether the widget is a box the visitor types into: text, email, number, URL, date, textarea."""
    if isinstance(widget, django.forms.Textarea):
        return True
    return isinstance(widget, django.forms.widgets.Input) and widget.input_type not in NOT_TEXT_BOXES


class LeadForm(BaseForm):
    """A lead form as the visitor sees it: the page's fields, a honeypot and a signed render token."""

    def __init__(
        self,
        *args: Any,
        lead_fields: dict[str, str] | None = None,
        consent_label: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lead_fields = lead_fields or {}
        if consent_label is not None:
            self.fields[CONSENT_FIELD] = django.forms.BooleanField(
                label=consent_label,
                required=True,
                error_messages={"required": _("Tick the box to agree before sending the form.")},
            )
        self.fields[HONEYPOT_FIELD] = django.forms.CharField(
            label=_("Leave this field empty"),
            required=False,
            widget=django.forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
        )
        self.fields[RENDER_TOKEN_FIELD] = django.forms.CharField(
            required=False, widget=django.forms.HiddenInput
        )
        for name, form_field in self.fields.items():
            widget = form_field.widget
            if isinstance(widget, django.forms.Select) and not isinstance(widget, django.forms.RadioSelect):
                widget.attrs.setdefault("class", "w3-select w3-border w3-round")
            elif is_text_box(widget):
                widget.attrs.setdefault("class", "w3-input w3-border w3-round")
            if name in self.lead_fields:
                widget.attrs.setdefault("autocomplete", autocomplete(self.lead_fields[name]))

    @property
    def guard_field_names(self) -> tuple[str, str]:
        return (HONEYPOT_FIELD, RENDER_TOKEN_FIELD)

    def visible_lead_fields(self) -> list[django.forms.BoundField]:
        return [field for field in self if field.name not in self.guard_field_names]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name, lead_field in self.lead_fields.items():
            value = cleaned.get(name)
            if not isinstance(value, str) or not value.strip():
                continue
            if lead_field == "phone" and not phone_to_e164(value):
                self.add_error(
                    name, _("Enter a valid phone number, e.g. 011 4444-5555 or +54 9 11 5555-1234.")
                )
            elif lead_field == "email":
                _email, valid = normalise_email(value)
                if not valid:
                    self.add_error(name, _("Enter a valid email address."))
        return cleaned

    def field_values(self) -> dict[str, Any]:
        """The visitor's answers only (no guard fields), JSON-serialisable."""
        values = {}
        for name, value in self.cleaned_data.items():
            if name in self.guard_field_names:
                continue
            if isinstance(value, (list, tuple)):
                value = [str(item) for item in value]
            elif value is not None and not isinstance(value, (str, bool, int, float)):
                value = str(value)
            values[name] = value
        return values


class LeadFormBuilder(FormBuilder):
    """Wagtail's form builder with length limits that fit the lead and the lead form class."""

    def get_field_options(self, field: Any) -> dict[str, Any]:
        options = super().get_field_options(field)
        if field.field_type in TEXT_FIELD_TYPES:
            options["max_length"] = answer_max_length(getattr(field, "lead_field", "extra"))
        return options

    def create_singleline_field(self, field: Any, options: dict[str, Any]) -> django.forms.CharField:
        return django.forms.CharField(**options)

    def get_form_class(self) -> type["LeadForm"]:
        return type("LeadFormFromBuilder", (LeadForm,), self.formfields)


class LeadFormPageAdminForm(WagtailAdminFormPageForm):
    """Page editor form: reserved field names and a default service of the page's brand."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        forms = self.formsets.get("form_fields")
        if forms is not None:
            for form in forms.forms:
                if not form.is_valid() or form.cleaned_data.get("DELETE"):
                    continue
                label = form.cleaned_data.get("label", "")
                clean_name = form.instance.clean_name or form.instance.get_field_clean_name()
                if label and clean_name in RESERVED_NAMES:
                    form.add_error("label", _("This label is reserved; choose another."))
        brand, service = cleaned.get("brand"), cleaned.get("default_service")
        if brand and cleaned.get("to_address"):
            addresses = notification_addresses(cleaned["to_address"])
            refused = sorted(set(addresses) - set(allowed_recipients(addresses, brand)))
            if refused:
                self.add_error(
                    "to_address",
                    _(
                        "Notifications carry lead details: only admins and this brand's managers may receive them (%(addresses)s)."
                    )
                    % {"addresses": ", ".join(refused)},
                )
        if cleaned.get("consent_required") and not cleaned.get("consent_policy_version"):
            self.add_error("consent_policy_version", _("Give the version of the policy visitors agree to."))
        if brand and service and service.brand_id != brand.pk:
            self.add_error("default_service", _("Choose a service of the page's brand."))
        return cleaned
