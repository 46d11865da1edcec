"""Lead form submissions: a lead, Wagtail's submission record and the behaviour log, in one transaction."""

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, cast

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.jobs import enqueue
from core.visits import UTM_KEYS
from crm import lead_fields
from crm.intake import LeadData, PersonErased, create_lead
from crm.matching import match_campaign, match_service
from crm.models import Source
from crm.normalise import clean_text, clean_utm, phone_to_e164

from .forms import CONSENT_FIELD
from .records import FormDailyStats, FormFieldErrorDaily, LeadFormSubmission, SubmissionBehaviour

if TYPE_CHECKING:
    from .pages import LeadFormField, LeadFormPage

EXTERNAL_SOURCE = "lead_form"


@dataclass
class VisitContext:
    """What the behaviour log records about the visit that ended in a submission."""

    utm: dict[str, str] = field(default_factory=dict)
    referrer: str = ""
    landing_page: str = ""
    device: str = "unknown"
    ip_prefix: str = ""
    language: str = ""
    fill_seconds: float | None = None
    failed_attempts: int = 0
    failed_fields: list[str] = field(default_factory=list)


def _increment(
    model: type[FormDailyStats] | type[FormFieldErrorDaily], lookup: dict[str, Any], field_name: str
) -> None:
    """Add one to ``field_name`` of the row ``lookup`` names, creating it at 1; safe under concurrency."""
    if model.objects.filter(**lookup).update(**{field_name: F(field_name) + 1}):
        return
    try:
        with transaction.atomic():
            model.objects.create(**lookup, **{field_name: 1})
    except IntegrityError:
        model.objects.filter(**lookup).update(**{field_name: F(field_name) + 1})


def record_view(page: "LeadFormPage", day: date | None = None) -> None:
    _increment(FormDailyStats, {"page_id": page.pk, "day": day or timezone.localdate()}, "views")


def record_invalid_attempt(page: "LeadFormPage", field_names: list[str], day: date | None = None) -> None:
    """Count one submission that failed validation, and each field that failed in it."""
    day = day or timezone.localdate()
    _increment(FormDailyStats, {"page_id": page.pk, "day": day}, "invalid_attempts")
    for name in sorted(set(field_names)):
        _increment(FormFieldErrorDaily, {"page_id": page.pk, "day": day, "field_name": name[:255]}, "errors")


def lead_data_for(
    page: "LeadFormPage",
    values: dict[str, Any],
    visit: VisitContext,
    user: Any = None,
    submission: LeadFormSubmission | None = None,
) -> LeadData:
    """The LeadData for one submission of ``page`` with the visitor's ``values`` (clean_name → value)."""
    fields = {form_field.clean_name: form_field for form_field in page.get_form_fields()}
    consented = page.consent_required and values.get(CONSENT_FIELD) is True
    values = {name: value for name, value in values.items() if name != CONSENT_FIELD}
    answers, extra = _answers(fields, values)
    phone = answers.get("phone", "")
    utm = {key: clean_utm(visit.utm.get(key, "")) for key in UTM_KEYS}
    service_text = answers.get("service_text", "")
    staff_user = user if getattr(user, "is_authenticated", False) else None
    return LeadData(
        brand=page.brand,
        phone_e164=phone_to_e164(phone),
        service=match_service(page.brand, service_text) or page.default_service,
        source=page.source or Source.objects.filter(key="web_form").first(),
        campaign=(
            match_campaign(page.brand, utm["utm_source"], utm["utm_medium"], utm["utm_campaign"])
            if any(utm.values())
            else None
        ),
        external_source=EXTERNAL_SOURCE,
        external_form=str(page.pk),
        external_id=str(submission.pk) if submission else "",
        raw_payload={
            "form": page.title,
            "labels": {name: form_field.label for name, form_field in fields.items()},
            "values": values,
            "landing_page": visit.landing_page,
            "referrer": visit.referrer,
        },
        extra=extra,
        created_by=staff_user,
        consent_version=page.consent_policy_version if consented else "",
        consent_at=timezone.now() if consented else None,
        **utm,
        **cast(dict[str, Any], {name: lead_fields.get(name).fit(value) for name, value in answers.items()}),
    )


def _answers(
    fields: dict[str, "LeadFormField"], values: dict[str, Any]
) -> tuple[dict[str, str], dict[str, Any]]:
    """The lead fields the answers fill (``crm.lead_fields``), cleaned but not cut, and the extra answers.

    A field several answers fill joins them when its lead field says how; otherwise the first fills it and
    the rest, like answers filling no lead field, are kept as extra under their labels.
    """
    answers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    for name, value in values.items():
        form_field = fields.get(name)
        lead_field = lead_fields.form_answer(form_field.lead_field) if form_field else None
        joiner = lead_field.form.joiner if lead_field and lead_field.form else None
        if lead_field is None or (lead_field.name in answers and joiner is None):
            if value not in ("", None, []):
                extra[clean_text(form_field.label if form_field else name)] = (
                    [clean_text(item) for item in value]
                    if isinstance(value, list)
                    else clean_text(value, True)
                )
            continue
        text = "" if isinstance(value, bool) else lead_field.normalise(value)
        if text:
            joined = answers.get(lead_field.name)
            answers[lead_field.name] = f"{joined}{joiner}{text}" if joined else text
    return answers, extra


def submit_lead_form(
    page: "LeadFormPage", values: dict[str, Any], visit: VisitContext, user: Any = None
) -> LeadFormSubmission | None:
    """Store a valid submission: Wagtail's record, the lead (through the service layer), the behaviour log.

    The notification email is queued, and leaves only once everything above is committed. The submission
    of a person whose data was erased (``crm.intake.PersonErased``) stores nothing: None.
    """
    try:
        return _submit_lead_form(page, values, visit, user)
    except PersonErased:
        return None


@transaction.atomic
def _submit_lead_form(
    page: "LeadFormPage", values: dict[str, Any], visit: VisitContext, user: Any = None
) -> LeadFormSubmission:
    staff_user = user if getattr(user, "is_authenticated", False) else None
    submission = LeadFormSubmission.objects.create(page=page, form_data=values, created_by=staff_user)
    lead = create_lead(lead_data_for(page, values, visit, staff_user, submission), actor=staff_user)
    submission.lead = lead
    submission.save(update_fields=["lead"])
    SubmissionBehaviour.objects.create(
        submission=submission,
        page=page,
        day=timezone.localdate(submission.submit_time),
        referrer=visit.referrer[:500],
        landing_page=visit.landing_page[:500],
        device=visit.device,
        ip_prefix=visit.ip_prefix[:50],
        language=visit.language[:35],
        fill_seconds=visit.fill_seconds,
        failed_attempts=visit.failed_attempts,
        failed_fields=list(visit.failed_fields),
        **{key: clean_text(visit.utm.get(key, ""))[:200] for key in UTM_KEYS},
    )
    if page.to_address:
        enqueue("forms_builder.jobs.send_submission_notification", submission.pk)
    return submission
