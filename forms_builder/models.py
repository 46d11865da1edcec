"""Lead form pages built in Wagtail's form builder, their submissions and how visitors used them."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.forms.models import AbstractEmailForm, AbstractFormField, AbstractFormSubmission
from wagtail.fields import RichTextField

from crm import lead_fields

from .forms import LeadFormBuilder, LeadFormPageAdminForm

EXTRA = "extra"


class LeadFormField(AbstractFormField):
    """A field of a lead form and the lead field it fills."""

    page = ParentalKey("LeadFormPage", on_delete=models.CASCADE, related_name="form_fields")
    lead_field = models.CharField(
        _("lead field"),
        max_length=16,
        choices=[*lead_fields.form_choices(), (EXTRA, _("Extra (kept with the lead)"))],
        default=EXTRA,
        help_text=_("Which field of the lead this answer fills."),
    )

    panels = [FieldPanel("lead_field"), *AbstractFormField.panels]


class LeadFormPage(AbstractEmailForm):
    """A public (or staff-only) form whose every submission becomes a lead."""

    intro = RichTextField(_("introduction"), blank=True)
    thank_you_text = RichTextField(_("thank-you text"), blank=True)
    brand = models.ForeignKey(
        "crm.Brand", on_delete=models.PROTECT, related_name="+", verbose_name=_("brand")
    )
    default_service = models.ForeignKey(
        "crm.Service",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default service"),
        help_text=_("Used when the visitor picks no service the CRM knows."),
    )
    source = models.ForeignKey(
        "crm.Source",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("source"),
        help_text=_("Where leads from this form come from (web form when empty)."),
    )
    staff_only = models.BooleanField(
        _("staff only"),
        default=False,
        help_text=_("Only signed-in staff may open this form, e.g. to enter phone or walk-in leads."),
    )
    submit_label = models.CharField(_("submit button text"), max_length=60, blank=True)

    base_form_class = LeadFormPageAdminForm
    form_builder = LeadFormBuilder
    template = "forms_builder/lead_form_page.html"
    landing_page_template = "forms_builder/lead_form_page_landing.html"
    parent_page_types = ["home.HomePage", "home.ContentPage"]
    subpage_types = []

    content_panels = AbstractEmailForm.content_panels + [
        FieldPanel("intro"),
        InlinePanel("form_fields", label=_("Form fields")),
        FieldPanel("submit_label"),
        FieldPanel("thank_you_text"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("brand"), FieldPanel("default_service")]),
                FieldRowPanel([FieldPanel("source"), FieldPanel("staff_only")]),
            ],
            heading=_("Leads"),
        ),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("from_address"), FieldPanel("to_address")]),
                FieldPanel("subject"),
            ],
            heading=_("Notification email"),
        ),
    ]

    class Meta:
        verbose_name = _("lead form page")
        verbose_name_plural = _("lead form pages")

    def get_submission_class(self):
        return LeadFormSubmission

    def get_form_parameters(self):
        return {"lead_fields": {field.clean_name: field.lead_field for field in self.get_form_fields()}}

    def get_form_fields(self):
        cached = getattr(self, "_form_fields_cache", None)
        if cached is None:
            cached = self._form_fields_cache = list(self.form_fields.all())
        return cached

    def serve(self, request, *args, **kwargs):
        from .views import serve_lead_form

        return serve_lead_form(self, request, *args, **kwargs)

    def process_form_submission(self, form):
        raise NotImplementedError("Lead forms are submitted through forms_builder.services.submit_lead_form.")


class LeadFormSubmission(AbstractFormSubmission):
    """Wagtail's submission record of a lead form, linked to the lead it created."""

    lead = models.OneToOneField(
        "crm.Lead",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="form_submission",
        verbose_name=_("lead"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )

    class Meta(AbstractFormSubmission.Meta):
        verbose_name = _("lead form submission")
        verbose_name_plural = _("lead form submissions")
        indexes = [models.Index(fields=["page", "submit_time"], name="fb_submission_page_time")]


class DeviceClass(models.TextChoices):
    DESKTOP = "desktop", _("Desktop")
    MOBILE = "mobile", _("Mobile")
    TABLET = "tablet", _("Tablet")
    BOT = "bot", _("Bot")
    UNKNOWN = "unknown", _("Unknown")


class SubmissionBehaviour(models.Model):
    """How the visitor reached and used the form before a successful submission."""

    submission = models.OneToOneField(
        LeadFormSubmission, on_delete=models.CASCADE, related_name="behaviour", verbose_name=_("submission")
    )
    page = models.ForeignKey(
        LeadFormPage, on_delete=models.CASCADE, related_name="behaviours", verbose_name=_("form")
    )
    day = models.DateField(_("day"), default=timezone.localdate)
    utm_source = models.CharField(_("UTM source"), max_length=200, blank=True)
    utm_medium = models.CharField(_("UTM medium"), max_length=200, blank=True)
    utm_campaign = models.CharField(_("UTM campaign"), max_length=200, blank=True)
    utm_term = models.CharField(_("UTM term"), max_length=200, blank=True)
    utm_content = models.CharField(_("UTM content"), max_length=200, blank=True)
    referrer = models.CharField(_("referrer"), max_length=500, blank=True)
    landing_page = models.CharField(_("landing page"), max_length=500, blank=True)
    device = models.CharField(_("device"), max_length=8, choices=DeviceClass.choices)
    ip_prefix = models.CharField(_("IP network (truncated)"), max_length=50, blank=True)
    language = models.CharField(_("language"), max_length=35, blank=True)
    fill_seconds = models.FloatField(_("seconds from render to submit"), null=True, blank=True)
    failed_attempts = models.PositiveIntegerField(_("failed attempts before success"), default=0)
    failed_fields = models.JSONField(_("fields that failed"), default=list, blank=True)

    class Meta:
        verbose_name = _("submission behaviour")
        verbose_name_plural = _("submission behaviours")
        indexes = [models.Index(fields=["page", "day"], name="fb_behaviour_page_day")]

    def __str__(self):
        return f"{self.page_id} · {self.day}"


class FormDailyStats(models.Model):
    """Per form and day: views and invalid attempts, incremented atomically (no row per view)."""

    page = models.ForeignKey(
        LeadFormPage, on_delete=models.CASCADE, related_name="daily_stats", verbose_name=_("form")
    )
    day = models.DateField(_("day"))
    views = models.PositiveIntegerField(_("views"), default=0)
    invalid_attempts = models.PositiveIntegerField(_("invalid attempts"), default=0)

    class Meta:
        verbose_name = _("daily form statistics")
        verbose_name_plural = _("daily form statistics")
        constraints = [models.UniqueConstraint(fields=["page", "day"], name="fb_daily_stats_unique")]
        permissions = [("view_form_report", _("Can view lead form reports"))]

    def __str__(self):
        return f"{self.page_id} · {self.day}"


class FormFieldErrorDaily(models.Model):
    """Per form, day and field: how many invalid attempts failed on that field."""

    page = models.ForeignKey(
        LeadFormPage, on_delete=models.CASCADE, related_name="field_errors", verbose_name=_("form")
    )
    day = models.DateField(_("day"))
    field_name = models.CharField(_("field"), max_length=255)
    errors = models.PositiveIntegerField(_("errors"), default=0)

    class Meta:
        verbose_name = _("daily field errors")
        verbose_name_plural = _("daily field errors")
        constraints = [
            models.UniqueConstraint(fields=["page", "day", "field_name"], name="fb_field_errors_unique")
        ]

    def __str__(self):
        return f"{self.page_id} · {self.day} · {self.field_name}"


class RejectionReason(models.TextChoices):
    HONEYPOT = "honeypot", _("Honeypot field filled")
    TOO_FAST = "too_fast", _("Submitted faster than a person can fill it")
    BAD_TOKEN = "bad_token", _("Missing or forged render token")
    RATE_LIMITED = "rate_limited", _("Too many submissions from one network")
    REUSED_TOKEN = "reused_token", _("Sent again from a page already submitted")
    EXPIRED_TOKEN = "expired_token", _("Sent from a page open for too long")


class RejectedSubmission(models.Model):
    """A submission the spam guards refused; no lead was created."""

    page = models.ForeignKey(
        LeadFormPage, on_delete=models.CASCADE, related_name="rejections", verbose_name=_("form")
    )
    reason = models.CharField(_("reason"), max_length=16, choices=RejectionReason.choices)
    day = models.DateField(_("day"), default=timezone.localdate)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    ip_prefix = models.CharField(_("IP network (truncated)"), max_length=50, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    fill_seconds = models.FloatField(_("seconds from render to submit"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("rejected submission")
        verbose_name_plural = _("rejected submissions")
        indexes = [models.Index(fields=["page", "day"], name="fb_rejected_page_day")]

    def __str__(self):
        return f"{self.get_reason_display()} · {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"
