"""The Accounts menu: the listing with search, the account page (contacts, the reader's leads, won value
per currency) and the editor, each narrowed to the accounts the reader may see (``customers.access``)."""

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.panels import FieldPanel, InlinePanel, ObjectList
from wagtail.snippets.views import snippets as snippet_views
from wagtail.snippets.views.snippets import SnippetViewSet

from crm.brand_scope import ScopedObjectMixin, reachable, scoped
from crm.views.leads import lead_url
from crm.viewsets.catalogues import ScopedSnippetChooserViewSet

from . import account_page
from .forms import AccountForm
from .models import Account


class AccountInspectView(snippet_views.InspectView):
    template_name = "customers/account.html"

    def get_fields_context(self) -> list[Any]:
        return []

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        account, user = self.object, self.request.user
        leads = account_page.lead_rows(account, user)
        context.update(
            {
                "account": account,
                "contacts": list(account.contacts.all()),
                "brands": list(account.brands.all()),
                "leads": [(lead, lead_url("inspect", lead)) for lead in leads],
                "leads_truncated": len(leads) >= account_page.LEADS_LIMIT,
                "won_totals": account_page.won_totals(account, user),
            }
        )
        return context

    def get_page_title(self) -> str:
        return _("Customer account")


class AccountViewSet(SnippetViewSet):
    model = Account
    icon = "group"
    menu_label = gettext_lazy("Accounts")
    menu_name = "customer_accounts"
    menu_order = 210
    add_to_admin_menu = True
    inspect_view_enabled = True
    list_display = ["legal_name", "formatted_cuit", "address", "created_at"]
    search_fields = ["legal_name", "cuit", "address"]
    search_backend_name = None
    edit_view_class = scoped(snippet_views.EditView, ScopedObjectMixin)
    delete_view_class = scoped(snippet_views.DeleteView, ScopedObjectMixin)
    copy_view_class = scoped(snippet_views.CopyView, ScopedObjectMixin)
    usage_view_class = scoped(snippet_views.UsageView, ScopedObjectMixin)
    history_view_class = scoped(snippet_views.HistoryView, ScopedObjectMixin)
    inspect_view_class = scoped(AccountInspectView, ScopedObjectMixin)
    chooser_viewset_class = ScopedSnippetChooserViewSet
    edit_handler = ObjectList(
        [
            FieldPanel("legal_name"),
            FieldPanel("cuit"),
            FieldPanel("address"),
            FieldPanel("brands"),
            InlinePanel("contacts", label=gettext_lazy("Contacts")),
        ],
        base_form_class=AccountForm,
    )

    def get_queryset(self, request: Any) -> Any:
        return reachable(self.permission_policy, request.user)
