"""Admin registrations: the conversation on the lead page, its URLs, the brands' WhatsApp numbers and mail
accounts."""

from typing import Any

from django.http import HttpRequest
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from crm import access
from crm.models import Lead

from . import urls
from .models import MailAccount, WhatsAppNumber
from .views import ConversationPanel


@hooks.register("register_admin_urls")
def register_conversation_urls() -> list[Any]:
    return [path("conversations/", include(urls, namespace="conversations"))]


@hooks.register("crm_lead_page_panels")
def conversation_panel(request: HttpRequest, lead: Lead) -> ConversationPanel | None:
    if not access.can_act_on_lead(request.user, lead, "contact"):
        return None
    return ConversationPanel(request, lead)


class WhatsAppNumberViewSet(SnippetViewSet):
    """The brands' WhatsApp numbers and approved templates (admins only: no role is given them)."""

    model = WhatsAppNumber
    icon = "comment"
    menu_label = _("WhatsApp numbers")
    add_to_settings_menu = True
    list_display = ["brand", "display_number", "phone_number_id", "is_active"]


register_snippet(WhatsAppNumberViewSet)


class MailAccountViewSet(SnippetViewSet):
    """The brands' sales mailboxes (admins only: no role is given them); passwords stay in the environment."""

    model = MailAccount
    icon = "mail"
    menu_label = _("Mail accounts")
    add_to_settings_menu = True
    list_display = ["brand", "address", "imap_host", "is_active", "last_read_at"]


register_snippet(MailAccountViewSet)
