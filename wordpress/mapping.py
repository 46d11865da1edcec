"""From a common record to ``LeadData``: field mapping, normalisation and catalogue matching."""

from django.utils.translation import gettext as _

from crm.intake import LeadData
from crm.matching import CampaignRules, ServiceCatalogue
from crm.models import Lead, Source
from crm.normalise import clean_text, clean_value, extract_utm, fold, normalise_email, phone_to_e164

# The original system's Spanish labels (and their usual variants) → lead fields.
DEFAULT_LABELS = {
    "nombre y apellido": "contact_name",
    "nombre y apellidos": "contact_name",
    "nombre completo": "contact_name",
    "nombre": "contact_name",
    "name": "contact_name",
    "razon social": "company",
    "empresa": "company",
    "company": "company",
    "email": "email",
    "e mail": "email",
    "correo": "email",
    "correo electronico": "email",
    "telefono": "phone",
    "celular": "phone",
    "whatsapp": "phone",
    "phone": "phone",
    "ubicacion": "location",
    "localidad": "location",
    "ciudad": "location",
    "provincia": "location",
    "me interesa el servicio": "service",
    "servicio": "service",
    "mensaje": "message",
    "consulta": "message",
    "message": "message",
    "utm source": "utm_source",
    "utm medium": "utm_medium",
    "utm campaign": "utm_campaign",
    "utm term": "utm_term",
    "utm content": "utm_content",
}
LEAD_FIELDS = {
    "contact_name",
    "company",
    "email",
    "phone",
    "location",
    "service",
    "message",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
}
SPAM_TAGS = {"spam": "wp-spam", "trash": "wp-trash", "removed": "wp-removed"}
INVALID_EMAIL_TAG = "invalid-email"
UNKNOWN_SERVICE_TAG = "unknown-service"


def flag_reason(status):
    """Why a lead whose submission the site flagged is junk, for its status upstream."""
    return {
        "spam": _("Marked spam on the WordPress site."),
        "trash": _("Moved to the trash on the WordPress site."),
        "removed": _("No longer listed by the WordPress site (marked spam, trashed or deleted there)."),
    }.get(status, "")


def restore_reason():
    return _("Active again on the WordPress site.")


class RecordError(Exception):
    """The record cannot become a lead; it goes to quarantine with this reason."""


_MAX_LENGTHS = {}


def _max_length(name):
    if name not in _MAX_LENGTHS:
        _MAX_LENGTHS[name] = Lead._meta.get_field(name).max_length
    return _MAX_LENGTHS[name]


class FormContext:
    """What mapping a form's records needs, loaded once per page: mapping, services, campaigns."""

    def __init__(self, source, form):
        self.source = source
        self.form = form
        self.mapping = {}
        for key, target in (form.field_mapping or {}).items():
            if target in LEAD_FIELDS or target == "ignore":
                self.mapping[fold(key)] = target
                self.mapping[str(key).strip()] = target
        self.services = ServiceCatalogue(form.brand)
        self.campaigns = CampaignRules(form.brand)
        self.lead_source = Source.objects.filter(key="wordpress").first()

    def target(self, label, field_ids):
        folded = fold(label)
        for key in (str(label).strip(), folded):
            if key in self.mapping:
                return self.mapping[key]
        for field_id, field_label in field_ids.items():
            if field_label == label and field_id in self.mapping:
                return self.mapping[field_id]
        return DEFAULT_LABELS.get(folded)


def lead_data(record, context, wordpress_source=None):
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
    phone = clean_value(values.get("phone"))
    service_text = clean_value(values.get("service"))
    meta = record.get("meta") or {}
    utm = extract_utm(
        {key: values.get(key, "") for key in values if key.startswith("utm_")}, meta.get("source_url")
    )
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
    status_tag = SPAM_TAGS.get(record.get("status"))
    if status_tag:
        tags.append(status_tag)

    data = {
        "contact_name": clean_value(values.get("contact_name")),
        "company": clean_value(values.get("company")),
        "email": email,
        "phone": phone,
        "location": clean_value(values.get("location")),
        "service_text": service_text,
    }
    for name, value in list(data.items()):
        limit = _max_length(name)
        if len(value) > limit:
            extra[f"{name} (full)"] = value
            data[name] = value[:limit]
    for key, value in utm.items():
        data[key] = value[: _max_length(key)]
    if flags:
        extra["_flags"] = flags
    for key, value in meta.items():
        if value:
            extra[f"_{key}"] = clean_text(value)[:2000]

    return LeadData(
        brand=context.form.brand,
        phone_e164=phone_to_e164(phone),
        service=service,
        message=clean_value(values.get("message"), multiline=True),
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
