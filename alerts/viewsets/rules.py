"""The alert rules editor (managers and admins)."""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.admin.viewsets.model import ModelViewSet

from ..models import AlertRule


class AlertRuleViewSet(ModelViewSet):
    model = AlertRule
    icon = "warning"
    menu_label = _("Alert rules")
    copy_view_enabled = False
    list_display = ["name", "trigger", "delivery", "is_active"]
    list_filter = ["trigger", "is_active", "delivery"]
    search_fields = ["name"]
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


alert_rule_viewset = AlertRuleViewSet("alert_rules")
