"""Lead form pages built in Wagtail's form builder: each page's fields, and serving it to visitors.

The page uses Wagtail's form hooks: ``get_form`` adds the render token, ``serve`` puts the spam guards
in front of Wagtail's form view and keeps the visit cookie, and ``process_form_submission`` turns a
valid submission into a lead (``services.submit_lead_form``).
"""

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.forms.models import AbstractEmailForm, AbstractFormField
from wagtail.fields import RichTextField

from core import once
from core.client_ip import client_ip
from core.visits import Visit, browser_language, device_class, read_visit, save_visit, truncate_ip
from crm import lead_fields

from . import guards, services
from .forms import RENDER_TOKEN_FIELD, LeadForm, LeadFormBuilder, LeadFormPageAdminForm
from .records import LeadFormSubmission, RejectionReason


class _RenderTokenUsed(Exception):
    """The render token of a valid submission was claimed by an earlier one: a page load submits once."""


def _is_preview(request: HttpRequest) -> bool:
    return bool(getattr(request, "is_preview", False))


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

    _visit: Visit  # the visit cookie of the request being served
    _submitting_request: HttpRequest  # the POST whose valid form ``process_form_submission`` stores

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
    consent_required = models.BooleanField(
        _("require consent"),
        default=False,
        help_text=_("Visitors must tick a box agreeing to the privacy policy before the form is sent."),
    )
    consent_label = models.CharField(
        _("consent box text"),
        max_length=500,
        blank=True,
        help_text=_("What the visitor agrees to, e.g. a sentence naming the privacy policy."),
    )
    consent_policy_version = models.CharField(
        _("privacy policy version"),
        max_length=64,
        blank=True,
        help_text=_("Stored on each lead with the time of consent, e.g. 2026-03."),
    )

    base_form_class = LeadFormPageAdminForm
    form_builder = LeadFormBuilder
    template = "forms_builder/lead_form_page.html"
    landing_page_template = "forms_builder/lead_form_page_landing.html"
    parent_page_types = ["home.HomePage", "home.ContentPage"]
    subpage_types: list[str] = []

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
                FieldPanel("consent_required"),
                FieldRowPanel([FieldPanel("consent_label"), FieldPanel("consent_policy_version")]),
            ],
            heading=_("Consent"),
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

    def get_submissions_list_view_class(self) -> type:
        # Wagtail's submissions view loads page models when imported: not while this module loads.
        from .submissions import LeadFormSubmissionsListView

        return LeadFormSubmissionsListView

    def get_submission_class(self) -> type[LeadFormSubmission]:
        return LeadFormSubmission

    def get_form_parameters(self) -> dict[str, Any]:
        return {
            "lead_fields": {field.clean_name: field.lead_field for field in self.get_form_fields()},
            "consent_label": self.consent_text() if self.consent_required else None,
        }

    def consent_text(self) -> str:
        """The consent box's text: the page's, or a standard sentence."""
        return self.consent_label or str(_("I agree to the privacy policy and to being contacted."))

    def get_form_fields(self) -> list[LeadFormField]:
        cached = getattr(self, "_form_fields_cache", None)
        if cached is None:
            cached = self._form_fields_cache = list(self.form_fields.all())
        return cached

    def get_form(self, *args: Any, **kwargs: Any) -> LeadForm:
        """The visitor's form; a page load's (unbound) form carries a fresh render token."""
        form = super().get_form(*args, **kwargs)
        if not form.is_bound:
            form.initial = {**form.initial, RENDER_TOKEN_FIELD: guards.make_render_token(self.pk)}
        return form

    def get_context(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Wagtail's context, with the form's action: this page with the query it was opened with (its
        UTM), marked ``once`` (``core.once``) since a submission is stored once per render token, so a
        proxy may send it again."""
        context = super().get_context(request, *args, **kwargs)
        query = request.GET.copy()
        query.pop(once.PARAMETER, None)
        url = self.get_url(request) or ""
        context["form_action"] = once.with_key(f"{url}?{query.urlencode()}" if query else url)
        return context

    def get_preview_context(self, request: HttpRequest, mode_name: str) -> dict[str, Any]:
        """A preview's form has no render token: sent from the preview, it is refused."""
        context = super().get_preview_context(request, mode_name)
        if "form" in context:
            context["form"].initial.pop(RENDER_TOKEN_FIELD, None)
        return context

    def serve(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Wagtail's form view, behind the spam guards on a POST; counts views and keeps the visit cookie."""
        if self.staff_only and not guards.is_staff(request.user):
            return redirect_to_login(request.get_full_path(), reverse("wagtailadmin_login"))
        self._visit = read_visit(request)
        if request.method == "POST":
            response = self._serve_submission(request, *args, **kwargs)
        else:
            response = super().serve(request, *args, **kwargs)
            if not _is_preview(request):
                services.record_view(self)
        add_never_cache_headers(response)
        if self.staff_only:
            patch_cache_control(response, private=True)
        return response if _is_preview(request) else save_visit(response, self._visit)

    def process_form_submission(self, form: LeadForm) -> LeadFormSubmission | None:
        """Store a valid submission, once per render token: Wagtail's record, the lead, the behaviour log.

        Wagtail's ``serve`` calls it with the valid form of the POST ``_serve_submission`` let through.
        """
        request = self._submitting_request
        with transaction.atomic():
            if not guards.claim_render_token(request):
                raise _RenderTokenUsed
            submission = services.submit_lead_form(
                self, form.field_values(), self._visit_context(request, self._visit), form.user
            )
        self._visit.clear_attempts(self.pk)
        return submission

    def _serve_submission(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        reason = guards.rejection_reason(request, self)
        if reason == RejectionReason.TOO_FAST:
            guards.log_rejection(request, self, reason)
            return self._render_form(request, self._form_again(request), too_fast=True)
        if not reason:
            self._submitting_request = request
            try:
                response = super().serve(request, *args, **kwargs)
            except _RenderTokenUsed:
                reason = RejectionReason.REUSED_TOKEN
            else:
                self._count_invalid_attempt(response)
                return response
        guards.log_rejection(request, self, reason)
        return self._render_form(request, rejected=reason)

    def _count_invalid_attempt(self, response: HttpResponse) -> None:
        """Wagtail answers an invalid submission with the form again: count it, and its fields, as failed."""
        form = getattr(response, "context_data", {}).get("form")
        if form is None or not form.errors:
            return
        failed = sorted(form.errors)
        services.record_invalid_attempt(self, failed)
        self._visit.add_failed_attempt(self.pk, failed)

    def _visit_context(self, request: HttpRequest, visit: Visit) -> services.VisitContext:
        failed, failed_fields = visit.failed_attempts(self.pk)
        return services.VisitContext(
            utm=dict(visit.utm),
            referrer=visit.referrer,
            landing_page=visit.landing_page,
            device=device_class(request.headers.get("user-agent", "")),
            ip_prefix=truncate_ip(client_ip(request)),
            language=browser_language(request),
            fill_seconds=guards.fill_seconds(request, self),
            failed_attempts=failed,
            failed_fields=failed_fields,
        )

    def _form_again(self, request: HttpRequest) -> LeadForm:
        """The visitor's answers in the form once more, with a fresh render token."""
        data = request.POST.copy()
        data[RENDER_TOKEN_FIELD] = guards.make_render_token(self.pk)
        return self.get_form(data, request.FILES, page=self, user=request.user)

    def _render_form(
        self,
        request: HttpRequest,
        form: LeadForm | None = None,
        *,
        rejected: str = "",
        too_fast: bool = False,
    ) -> TemplateResponse:
        context = self.get_context(request)
        context.update({"form": form, "rejected": rejected, "too_fast": too_fast})
        return TemplateResponse(request, self.get_template(request), context)
