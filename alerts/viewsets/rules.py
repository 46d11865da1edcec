"""The alert rules editor: admins edit every rule, managers those limited to their own brands."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, ObjectList
from wagtail.admin.views import generic
from wagtail.admin.views.generic.usage import UsageView
from wagtail.admin.viewsets.model import ModelViewSet

from crm.brand_scope import ScopedIndexMixin, ScopedObjectMixin, scoped

from ..forms import AlertRuleForm
from ..models import AlertRule


class AlertRuleViewSet(ModelViewSet):
    model = AlertRule
    icon = "warning"
    menu_label = _("Alert rules")
    copy_view_enabled = False
    list_display = ["name", "trigger", "delivery", "is_active"]
    list_filter = ["trigger", "is_active", "delivery"]
    search_fields = ["name"]
    index_view_class = scoped(generic.IndexView, ScopedIndexMixin)
    edit_view_class = scoped(generic.EditView, ScopedObjectMixin)
    delete_view_class = scoped(generic.DeleteView, ScopedObjectMixin)
    history_view_class = scoped(generic.HistoryView, ScopedObjectMixin)
    usage_view_class = scoped(UsageView, ScopedObjectMixin)
    inspect_view_class = scoped(generic.InspectView, ScopedObjectMixin)
    panels = [
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("name"), FieldPanel("name_es")]),
                FieldPanel("is_active"),
                FieldPanel("trigger"),
                FieldPanel("threshold"),
            ],
            heading=_("Trigger"),
        ),
        MultiFieldPanel(
            [
                FieldPanel("statuses"),
                FieldPanel("brands"),
                FieldPanel("services"),
                FieldPanel("sources"),
                FieldPanel("campaigns"),
                FieldPanel("min_priority"),
                FieldPanel("tags"),
                FieldPanel("include_junk"),
            ],
            heading=_("Conditions"),
        ),
        MultiFieldPanel(
            [
                FieldPanel("notify_assignee"),
                FieldPanel("notify_brand_managers"),
                FieldPanel("users"),
                FieldPanel("role"),
            ],
            heading=_("Recipients"),
        ),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("send_email"), FieldPanel("send_whatsapp")]),
                FieldPanel("delivery"),
                FieldRowPanel([FieldPanel("quiet_hours_start"), FieldPanel("quiet_hours_end")]),
                FieldPanel("message_en"),
                FieldPanel("message_es"),
            ],
            heading=_("Delivery"),
        ),
    ]

    def get_edit_handler(self) -> Any:
        return ObjectList(self.panels, base_form_class=AlertRuleForm).bind_to_model(self.model)


alert_rule_viewset = AlertRuleViewSet("alert_rules")
