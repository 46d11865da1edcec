"""Money settings in the admin: exchange rates (Settings → Exchange rates: admins add, edit, delete and
import a CSV file; managers read them) and the lost reasons (CRM settings, admins edit, nobody deletes:
a reason in use is deactivated)."""

from django import forms
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView
from wagtail import hooks
from wagtail.admin import messages
from wagtail.admin.views.generic import PermissionCheckedMixin, WagtailAdminTemplateMixin
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import HeaderButton
from wagtail.snippets.views.snippets import SnippetViewSet

from crm import rates
from crm.models import ExchangeRate, LostReason


class RateImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("Columns “day” (YYYY-MM-DD or DD/MM/YYYY) and “ars_per_usd”; one line per day."),
    )


class RateImportView(PermissionCheckedMixin, WagtailAdminTemplateMixin, FormView):
    """Upload a CSV of rates: all lines are checked first; a bad one (by line number) imports nothing."""

    form_class = RateImportForm
    template_name = "crm/money/rate_import.html"
    page_title = _("Import exchange rates")
    header_icon = "upload"
    permission_required = "add"
    permission_policy = None
    index_url_name = ""

    def form_valid(self, form):
        result = rates.import_rates(form.cleaned_data["file"].read())
        if result.errors:
            for error in result.errors[:50]:
                form.add_error("file", error)
            messages.error(self.request, _("Nothing was imported; fix the file and try again."))
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("%(created)s rates added, %(updated)s changed.")
            % {"created": result.created, "updated": result.updated},
        )
        return redirect(reverse(self.index_url_name))

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "action_url": self.request.path}


class ExchangeRateViewSet(ModelViewSet):
    model = ExchangeRate
    icon = "resubmit"
    menu_label = _("Exchange rates")
    menu_order = 640
    add_to_settings_menu = True
    name = "exchange_rates"
    list_display = ["day", "ars_per_usd", "origin", "updated_at"]
    list_filter = ["origin"]
    list_export = ["day", "ars_per_usd", "origin"]
    export_filename = "exchange-rates"
    form_fields = ["day", "ars_per_usd"]
    ordering = ["-day"]
    copy_view_enabled = False
    inspect_view_enabled = False

    def get_urlpatterns(self):
        view = RateImportView.as_view(
            permission_policy=self.permission_policy, index_url_name=self.get_url_name("index")
        )
        return [*super().get_urlpatterns(), path("import/", view, name="import")]

    @property
    def index_view_class(self):
        viewset = self

        class IndexView(super().index_view_class):
            @property
            def header_buttons(self):
                buttons = list(super().header_buttons)
                if viewset.permission_policy.user_has_permission(self.request.user, "add"):
                    buttons.append(
                        HeaderButton(
                            _("Import CSV"), url=reverse(viewset.get_url_name("import")), icon_name="upload"
                        )
                    )
                return buttons

        return IndexView


class LostReasonViewSet(SnippetViewSet):
    """Admins edit the reasons (managers read them); none is deleted, an unused one is deactivated."""

    model = LostReason
    icon = "cross"
    menu_order = 135
    list_display = ["label", "label_es", "key", "order", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["key", "label", "label_es"]
    ordering = ["order"]
    form_fields = ["key", "label", "label_es", "order", "is_active"]


@hooks.register("register_admin_viewset")
def register_exchange_rate_viewset():
    return ExchangeRateViewSet()
