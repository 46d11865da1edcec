"""The delivery log (admins): every outbox row with its outcome, filters and a resend action."""

from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.views.generic import IndexView
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import MenuItem
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from .. import delivery
from ..models import Notification


class DeliveryPermissionPolicy(ModelPermissionPolicy):
    """The log is read-only: nobody adds, edits or deletes rows; resending is its own permission."""

    def user_has_permission(self, user: Any, action: str) -> bool:
        if action in ("add", "change", "delete"):
            return False
        if action == "resend":
            return user.is_active and user.has_perm("alerts.resend_notification")
        return super().user_has_permission(user, action)

    def user_has_any_permission(self, user: Any, actions: Iterable[str]) -> bool:
        return any(self.user_has_permission(user, action) for action in actions)


register_permission_policy(Notification, DeliveryPermissionPolicy(Notification))


class DeliveryIndexView(IndexView):
    def get_list_more_buttons(self, instance: Notification) -> list[Any]:
        buttons = super().get_list_more_buttons(instance)
        if self.permission_policy.user_has_permission(self.request.user, "resend"):
            buttons.append(
                MenuItem(
                    _("Resend"),
                    url=reverse("alerts_deliveries:resend", args=[instance.pk]),
                    icon_name="redirect",
                    priority=40,
                )
            )
        return buttons


class DeliveryViewSet(ModelViewSet):
    model = Notification
    icon = "mail"
    menu_label = _("Delivery log")
    index_view_class = DeliveryIndexView
    inspect_view_enabled = True
    copy_view_enabled = False
    form_fields = ["status"]  # never used: nobody may add or edit log rows
    list_display = ["__str__", "status", "error_code", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "channel", "trigger", "needs_admin", "error_code", "rule", "created_at"]
    inspect_view_fields = [
        "rule",
        "trigger",
        "cause",
        "lead",
        "recipient",
        "channel",
        "status",
        "attempts",
        "next_attempt_at",
        "error_code",
        "error",
        "needs_admin",
        "provider_id",
        "created_at",
        "sent_at",
        "delivered_at",
        "read_at",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        return Notification.objects.select_related("rule", "recipient")

    def resend_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.permission_policy.user_has_permission(request.user, "resend"):
            raise PermissionDenied
        notification = get_object_or_404(Notification, pk=pk)
        if request.method == "POST":
            delivery.resend(notification, request.user)
            notification.refresh_from_db()
            if notification.status in (Notification.Status.SENT, Notification.Status.DELIVERED):
                messages.success(request, _("The notification was sent again."))
            else:
                messages.error(
                    request,
                    _("Sending failed: %(code)s %(error)s")
                    % {"code": notification.error_code, "error": notification.get_error_display()},
                )
            return redirect(self.get_url_name("index"))
        return TemplateResponse(
            request,
            "alerts/admin/resend.html",
            {"notification": notification, "index_url": reverse(self.get_url_name("index"))},
        )

    def get_urlpatterns(self) -> list[URLPattern]:
        return [*super().get_urlpatterns(), path("resend/<int:pk>/", self.resend_view, name="resend")]


delivery_viewset = DeliveryViewSet("alerts_deliveries")
