"""From a common record to ``LeadData``: field mapping, normalisation and catalogue matching."""

from typing import Any

from django.utils.translation import gettext as _

from crm import lead_fields, system_notes
from crm.intake import LeadData
from crm.matching import CampaignRules, ServiceCatalogue
from crm.models import Source
from crm.normalise import clean_text, extract_utm, fold, normalise_email, phone_to_e164

from .models import SourceForm, WordPressSource

SPAM_TAGS = {"spam": "wp-spam", "trash": "wp-trash", "removed": "wp-removed"}
INVALID_EMAIL_TAG = "invalid-email"
UNKNOWN_SERVICE_TAG = "unknown-service"


FLAGGED_UPSTREAM = "wordpress_flagged"
RESTORED_UPSTREAM = "wordpress_restored"


def flag_reason(status: str | None) -> str:
    """Why a lead whose submission the site flagged is junk, for its status upstream: a system note
    (``crm.system_notes``), read in the reader's language."""
    if status not in SPAM_TAGS:
        return ""
    return system_notes.encode(FLAGGED_UPSTREAM, status=status)


def restore_reason() -> str:
    return system_notes.encode(RESTORED_UPSTREAM)


def flagged_message(status: str = "") -> str:
    return {
        "spam": _("Marked spam on the WordPress site."),
        "trash": _("Moved to the trash on the WordPress site."),
        "removed": _("No longer listed by the WordPress site (marked spam, trashed or deleted there)."),
    }.get(status, "")


def restored_message() -> str:
    return _("Active again on the WordPress site.")


class RecordError(Exception):
    """The record cannot become a lead; it goes to quarantine with this reason."""


class FormContext:
    """What mapping a form's records needs, loaded once per page: mapping, services, campaigns."""

    def __init__(self, source: WordPressSource, form: SourceForm) -> None:
        self.source = source
        self.form = form
        self.mapping: dict[str, str] = {}
        keys = lead_fields.wordpress_keys()
        for key, target in (form.field_mapping or {}).items():
            if target in keys or target == "ignore":
                self.mapping[fold(key)] = target
                self.mapping[str(key).strip()] = target
        self.services = ServiceCatalogue(form.brand)
        self.campaigns = CampaignRules(form.brand)
        self.lead_source = Source.objects.filter(key="wordpress").first()
        # Without a mapping of its own, a label's target depends on the label alone.
        self._by_label: dict[str, str | None] = {}

    def target(self, label: str, field_ids: dict[str, str]) -> str | None:
        if not self.mapping:
            try:
                return self._by_label[label]
            except KeyError:
                found = self._by_label[label] = lead_fields.wordpress_labels().get(fold(label))
                return found
        folded = fold(label)
        for key in (str(label).strip(), folded):
            if key in self.mapping:
                return self.mapping[key]
        for field_id, field_label in field_ids.items():
            if field_label == label and field_id in self.mapping:
                return self.mapping[field_id]
        return lead_fields.wordpress_labels().get(folded)


def lead_data(  # noqa: C901 - known debt (ARCHITECTURE.md, Habits)
    record: dict[str, Any], context: FormContext, wordpress_source: Source | None = None
) -> LeadData:
    """``LeadData`` for a record, or ``RecordError`` when it cannot be a lead."""
    if not isinstance(record.get("raw"), dict):
        raise RecordError(_("The submission is not a JSON object."))
    external_id = str(record.get("external_id") or "").strip()
    if not external_id or len(external_id) > 64:
        raise RecordError(_("The submission has no usable id."))
    if record.get("submitted_at") is None:
        raise RecordError(_("The submission has no readable date."))
    fields = record.get("fields")
    if not isinstance(fields, dict):
        raise RecordError(_("The submission has no fields."))

    values, extra = {}, {}
    for label, value in fields.items():
        target = context.target(label, record.get("field_ids") or {})
        if target == "ignore":
            continue
        if target and target not in values:
            values[target] = value
        else:
            extra[clean_text(label)[:200] or "?"] = clean_text(value, multiline=True)

    email, email_valid = normalise_email(values.get("email"))
    meta = record.get("meta") or {}
    utm = extract_utm(
        {key: values.get(key, "") for key in values if key.startswith("utm_")}, meta.get("source_url")
    )
    answers, data = _answers(values, email, utm, extra)
    phone, service_text = answers["phone"], answers["service_text"]
    tags, flags = [], []
    if not email_valid:
        tags.append(INVALID_EMAIL_TAG)
        flags.append("invalid_email")
    if phone and not phone_to_e164(phone):
        flags.append("invalid_phone")
    service = context.services.match(service_text) if service_text else None
    if service_text and service is None:
        tags.append(UNKNOWN_SERVICE_TAG)
        flags.append("unknown_service")
    if service is None and not service_text:
        service = context.form.default_service
    if record.get("cleaned"):
        flags.append("unstorable_characters_removed")
    status_tag = SPAM_TAGS.get(record.get("status") or "")
    if status_tag:
        tags.append(status_tag)
    if flags:
        extra["_flags"] = flags
    for key, value in meta.items():
        if value:
            extra[f"_{key}"] = clean_text(value)[:2000]

    return LeadData(
        brand=context.form.brand,
        phone_e164=phone_to_e164(phone),
        service=service,
        source=wordpress_source,
        campaign=context.campaigns.match(utm["utm_source"], utm["utm_medium"], utm["utm_campaign"]),
        external_source=context.source.external_key,
        external_form=str(context.form.form_id),
        external_id=external_id,
        raw_payload=record["raw"],
        extra=extra,
        submitted_at=record["submitted_at"],
        tags=tags,
        junk_reason=flag_reason(record.get("status")),
        **data,
    )


def _answers(
    values: dict[str, Any], email: str, utm: dict[str, str], extra: dict[str, Any]
) -> tuple[dict[str, str], dict[str, Any]]:
    """The lead fields the record's answers fill (``crm.lead_fields``): as cleaned, and as stored.

    The address is ``email``, as ``normalise_email`` read it; UTM values are ``utm``, from the answers or
    else the page's address. Stored values are cut to their fields' lengths; a longer answer (but a UTM
    value) keeps its full text in ``extra``.
    """
    answers: dict[str, str] = {}
    data: dict[str, Any] = {}
    for field, answer in lead_fields.wordpress_answers():
        name, limit = field.name, field.max_length
        if name in utm:
            value = utm[name]
        elif name == "email":
            value = email
        else:
            value = field.normalise(values.get(answer.key))
        answers[name] = data[name] = value
        if limit and len(value) > limit:
            data[name] = value[:limit]
            if name not in utm:
                extra[f"{name} (full)"] = value
    return answers, data
