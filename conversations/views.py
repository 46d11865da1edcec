"""The lead page's conversation (WhatsApp and email in one list): its panel, its messages (polled by the open
page), sending on either channel, retrying and downloading a received file or an email's document.

Every view finds the lead through ``crm.access.leads_for`` (out of scope: 404) and needs the right to
contact it (``crm.access.can_act_on_lead(..., "contact")``, else 403): reading a conversation is as
guarded as writing to it, and marketing reaches neither.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from wagtail.admin import messages as admin_messages
from wagtail.admin.ui.components import Component

from crm import access
from crm.models import Lead, User

from . import mail, services
from .forms import EmailForm, SendForm
from .models import Attachment, Channel, Message, WhatsAppTemplate

MESSAGES_LIMIT = 100
PANEL_MEDIA_JS = ["conversations/conversation.js"]
PANEL_MEDIA_CSS = ["conversations/conversation.css"]


def _lead(request: HttpRequest, pk: int) -> Lead:
    queryset = Lead.objects.select_related("brand", "status")
    lead = get_object_or_404(access.leads_for(request.user, queryset), pk=pk)
    if not access.can_act_on_lead(request.user, lead, "contact"):
        raise PermissionDenied
    return lead


def lead_messages(lead: Lead) -> tuple[list[Message], bool]:
    """The lead's latest messages, oldest first, with those of the leads merged into it; and whether
    older ones were left out. One query."""
    leads = Lead.objects.filter(Q(pk=lead.pk) | Q(merged_into=lead.pk)).values("pk")
    latest = list(
        Message.objects.filter(lead_id__in=leads)
        .select_related("sent_by")
        .prefetch_related("attachments")
        .order_by("-created_at", "-pk")[: MESSAGES_LIMIT + 1]
    )
    return latest[:MESSAGES_LIMIT][::-1], len(latest) > MESSAGES_LIMIT


def messages_context(lead: Lead, user: User) -> dict[str, Any]:
    shown, truncated = lead_messages(lead)
    return {
        "lead": lead,
        "conversation_messages": shown,
        "truncated": truncated,
        "user_id": user.pk,
        "retry_url_name": "conversations:retry",
        "media_url_name": "conversations:media",
        "attachment_url_name": "conversations:attachment",
        "page_url": lead_page_url(lead),
    }


def lead_page_url(lead: Lead) -> str:
    return reverse("crm_leads:inspect", args=[lead.pk]) + "#crm-conversation"


def _user(request: HttpRequest) -> User:
    """The signed-in person (every view here has checked their rights on a lead first)."""
    return cast(User, request.user)


class ConversationPanel(Component):
    """The lead page's conversation (``crm_lead_page_panels``): the messages, and what may be sent now."""

    template_name = "conversations/panel.html"

    def __init__(self, request: HttpRequest, lead: Lead):
        self.request = request
        self.lead = lead

    @property
    def media(self) -> Any:
        from django import forms

        return forms.Media(css={"all": PANEL_MEDIA_CSS}, js=PANEL_MEDIA_JS)

    def get_context_data(self, parent_context: Any) -> dict[str, Any]:
        lead = self.lead
        return {
            **messages_context(lead, _user(self.request)),
            "request": self.request,
            "csrf_token": parent_context.get("csrf_token"),
            "compose": services.compose(lead),
            "send_url": reverse("conversations:send", args=[lead.pk]),
            "email": mail.compose(lead, _user(self.request), self.request.GET.get("email_language", "")[:2]),
            "email_url": reverse("conversations:email", args=[lead.pk]),
            "email_form": EmailForm(),
            "refresh_url": reverse("conversations:messages", args=[lead.pk]),
        }


@require_GET
def lead_messages_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The messages alone, for the open lead page to refresh."""
    lead = _lead(request, pk)
    html = render_to_string("conversations/messages.html", messages_context(lead, _user(request)), request)
    response = HttpResponse(html)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def send(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead(request, pk)
    form = SendForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                admin_messages.error(request, error)
        return redirect(lead_page_url(lead))
    template_id = form.cleaned_data.get("template")
    try:
        if template_id:
            template = WhatsAppTemplate.objects.filter(pk=template_id).first()
            if template is None:
                raise ValidationError(_("Choose one of the brand's templates."))
            services.send_template(lead, _user(request), template)
        else:
            services.send_text(lead, _user(request), form.cleaned_data.get("text") or "")
    except ValidationError as error:
        for text in error.messages:
            admin_messages.error(request, text)
        return redirect(lead_page_url(lead))
    admin_messages.success(request, _("Message queued for WhatsApp; its status shows in the conversation."))
    return redirect(lead_page_url(lead))


@require_POST
def send_email(request: HttpRequest, pk: int) -> HttpResponse:
    """An email to the lead, its files kept as the lead's documents; sent by a job after commit."""
    lead = _lead(request, pk)
    form = EmailForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                admin_messages.error(request, error)
        return redirect(lead_page_url(lead))
    try:
        mail.send_email(
            lead,
            _user(request),
            sender=form.cleaned_data["sender"],
            subject=form.cleaned_data["subject"],
            body=form.cleaned_data["body"],
            files=form.cleaned_data["attachments"],
        )
    except ValidationError as error:
        for text in error.messages:
            admin_messages.error(request, text)
        return redirect(lead_page_url(lead))
    admin_messages.success(request, _("Email queued; its status shows in the conversation."))
    return redirect(lead_page_url(lead))


def _message(request: HttpRequest, pk: int) -> Message:
    message = get_object_or_404(Message.objects.select_related("lead"), pk=pk)
    _lead(request, message.lead_id)
    return message


@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    message = _message(request, pk)
    try:
        if message.channel == Channel.EMAIL:
            mail.retry(message, _user(request))
        else:
            services.retry(message, _user(request))
    except ValidationError as error:
        for text in error.messages:
            admin_messages.error(request, text)
    else:
        admin_messages.success(request, _("Message queued again."))
    return redirect(lead_page_url(message.lead))


@require_GET
def media(request: HttpRequest, pk: int) -> FileResponse:
    """A file the contact sent, as an attachment (never shown inline: it is the sender's content)."""
    message = _message(request, pk)
    if message.media_state != Message.MediaState.STORED or not message.media_file:
        raise Http404
    return _download(message.media_file, message.file_name, message.media_type)


@require_GET
def attachment(request: HttpRequest, pk: int) -> FileResponse:
    """A document sent with or received in an email, as an attachment, for those who may act on its lead."""
    document = get_object_or_404(Attachment.objects.select_related("message"), pk=pk)
    _lead(request, document.message.lead_id)
    return _download(document.file, document.name, document.content_type)


def _download(stored: FieldFile, name: str, content_type: str) -> FileResponse:
    """A stored file as a download the browser neither renders nor caches (it is the sender's content)."""
    try:
        handle = stored.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    response = FileResponse(
        handle, as_attachment=True, filename=name, content_type=content_type or "application/octet-stream"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
