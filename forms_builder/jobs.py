"""Background jobs of the lead forms."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from .models import LeadFormSubmission
from .recipients import allowed_recipients, notification_addresses


def send_submission_notification(submission_id: int) -> int:
    """Email the page's recipients that a lead arrived through the form."""
    submission = LeadFormSubmission.objects.select_related("lead", "page").filter(pk=submission_id).first()
    if submission is None:
        return 0
    page = submission.page.specific
    recipients = allowed_recipients(notification_addresses(page.to_address), page.brand)
    if not recipients:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        labels = {field.clean_name: field.label for field in page.get_form_fields()}
        rows = [
            (labels.get(name, name), ", ".join(map(str, value)) if isinstance(value, list) else value)
            for name, value in submission.form_data.items()
        ]
        body = render_to_string(
            "forms_builder/notification_email.txt", {"page": page, "submission": submission, "rows": rows}
        )
        subject = page.subject or _("New lead from “%(form)s”") % {"form": page.title}
    return send_mail(
        subject, body, page.from_address or settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False
    )
