"""Account settings panels the CRM adds to Wagtail's account area (name, email, password and language are Wagtail's)."""

from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.views.account import BaseSettingsPanel

from crm.forms.people import ContactNumbersForm


class ContactNumbersPanel(BaseSettingsPanel):
    name = "contact_numbers"
    title = _("Phone and WhatsApp")
    order = 150
    form_class = ContactNumbersForm


# Late in the hook order: the account view validates panels in that order on the shared user object,
# so a number changed here wins over the unchanged copy another panel posts.
@hooks.register("register_account_settings_panel", order=100)
def register_contact_numbers_panel(request, user, profile):
    return ContactNumbersPanel(request, user, profile)
