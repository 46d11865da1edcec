"""Settings → Webhooks (admins only): subscriptions, their delivery log, resend, resume, rotate the secret
and send a test event. Only admins (superusers) hold the webhooks permissions."""

from collections.abc import Iterable
from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import Button
from wagtail.log_actions import log
from wagtail.permission_policies.base import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from crm.models import User

from . import services
from .forms import SubscriptionForm
from .models import TEST_EVENT, Delivery, EventType, Subscription

MANAGE_PERMISSION = "webhooks.change_subscription"


def may_manage(user: User | AnonymousUser) -> bool:
    return bool(user.is_active and user.has_perm(MANAGE_PERMISSION))


def _require(user: User | AnonymousUser) -> None:
    if not may_manage(user):
        raise PermissionDenied


class DeliveryPolicy(ModelPermissionPolicy):
    """The delivery log is read only, and only by those who manage subscriptions (admins)."""

    def user_has_permission(self, user: User | AnonymousUser, action: str) -> bool:
        return action in ("view", "inspect") and may_manage(user)

    def user_has_any_permission(self, user: User | AnonymousUser, actions: Iterable[str]) -> bool:
        return any(self.user_has_permission(user, action) for action in actions)


# ---- subscriptions -------------------------------------------------------------------------------------


def _secret_page(request: HttpRequest, subscription: Subscription, secret: str, title: str) -> HttpResponse:
    return TemplateResponse(
        request,
        "webhooks/secret.html",
        {"subscription": subscription, "secret": secret, "title": title},
        headers={"Cache-Control": "no-store"},
    )


class SubscriptionCreateView(generic.CreateView):
    def form_valid(self, form: SubscriptionForm) -> HttpResponse:
        super().form_valid(form)
        return _secret_page(self.request, self.object, self.object.secret, _("Subscription created"))


class SubscriptionEditView(generic.EditView):
    @property
    def header_more_buttons(self) -> list[Button]:
        buttons = list(super().header_more_buttons)
        pk = self.object.pk
        actions = [
            (_("Delivery log"), reverse("webhooks_delivery:index") + f"?subscription={pk}", "history"),
            (_("Send test event"), reverse("webhooks_subscription:act", args=[pk, "test"]), "resubmit"),
            (_("Rotate secret"), reverse("webhooks_subscription:act", args=[pk, "rotate"]), "key"),
        ]
        if self.object.is_paused:
            actions.append(
                (_("Resume"), reverse("webhooks_subscription:act", args=[pk, "resume"]), "resubmit")
            )
        for priority, (label, url, icon) in enumerate(actions, start=5):
            buttons.append(Button(label, url=url, icon_name=icon, priority=priority))
        return buttons


class SubscriptionViewSet(ModelViewSet):
    model = Subscription
    icon = "link-external"
    menu_label = gettext_lazy("Webhooks")
    add_to_settings_menu = True
    menu_order = 950
    url_prefix = "webhooks/subscriptions"
    name = "webhooks_subscription"
    add_view_class = SubscriptionCreateView
    edit_view_class = SubscriptionEditView
    copy_view_enabled = False
    list_display = ["name", "url", "is_active", "paused_at", "consecutive_failures"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]

    def get_form_class(self, for_update: bool = False) -> type[SubscriptionForm]:
        return SubscriptionForm

    def get_urlpatterns(self) -> list[URLPattern | URLResolver]:
        return super().get_urlpatterns() + [
            path("<int:pk>/<str:action>/", self.act_view, name="act"),
        ]

    def act_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        return subscription_action(request, pk, action)


SUBSCRIPTION_ACTIONS = ("resume", "rotate", "test")


@require_http_methods(["GET", "POST"])
def subscription_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    _require(request.user)
    if action not in SUBSCRIPTION_ACTIONS:
        raise PermissionDenied
    subscription = get_object_or_404(Subscription, pk=pk)
    if request.method == "GET":
        questions = {
            "resume": _("Resume “%(name)s”? Its waiting deliveries go out at once."),
            "rotate": _("Replace the signing secret of “%(name)s”? The old one stops working at once."),
            "test": _("Send a test event to “%(name)s”?"),
        }
        return TemplateResponse(
            request,
            "webhooks/confirm.html",
            {"title": subscription.name, "question": questions[action] % {"name": subscription.name}},
        )
    log(instance=subscription, action=f"webhooks.{action}", user=request.user)
    if action == "rotate":
        secret = services.rotate_secret(subscription)
        return _secret_page(request, subscription, secret, _("New signing secret"))
    if action == "resume":
        services.resume(subscription)
        messages.success(request, _("“%(name)s” resumed.") % {"name": subscription.name})
    else:
        services.send_test(subscription)
        messages.success(request, _("A test event was queued for “%(name)s”.") % {"name": subscription.name})
    return redirect(reverse("webhooks_delivery:index") + f"?subscription={subscription.pk}")


# ---- deliveries ----------------------------------------------------------------------------------------


class DeliveryFilterSet(WagtailFilterSet):
    subscription = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Subscription"), queryset=Subscription.objects.all(), widget=forms.Select
    )
    status = django_filters.ChoiceFilter(label=gettext_lazy("Status"), choices=Delivery.Status.choices)
    event_type = django_filters.ChoiceFilter(
        label=gettext_lazy("Event"),
        field_name="event__event_type",
        choices=[*EventType.choices, (TEST_EVENT, gettext_lazy("Test event"))],
    )
    lead = django_filters.NumberFilter(label=gettext_lazy("Lead"), field_name="event__lead_id")

    class Meta:
        model = Delivery
        fields = ["subscription", "status", "event_type", "lead"]


class DeliveryIndexView(generic.IndexView):
    def get_base_queryset(self) -> QuerySet[Delivery]:
        return super().get_base_queryset().select_related("event", "subscription")

    def get_list_more_buttons(self, instance: Delivery) -> list[Button]:
        buttons = super().get_list_more_buttons(instance)
        buttons.append(
            Button(
                _("Resend"), url=reverse("webhooks_delivery:resend", args=[instance.pk]), icon_name="resubmit"
            )
        )
        return buttons


class DeliveryInspectView(generic.InspectView):
    template_name = "webhooks/delivery_inspect.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["attempts"] = self.object.attempt_log.order_by("number")
        context["resend_url"] = reverse("webhooks_delivery:resend", args=[self.object.pk])
        return context


class DeliveryViewSet(ModelViewSet):
    model = Delivery
    icon = "history"
    menu_label = gettext_lazy("Webhook deliveries")
    add_to_admin_menu = False
    url_prefix = "webhooks/deliveries"
    name = "webhooks_delivery"
    index_view_class = DeliveryIndexView
    inspect_view_enabled = True
    inspect_view_class = DeliveryInspectView
    copy_view_enabled = False
    filterset_class = DeliveryFilterSet
    list_display = ["uid", "subscription", "event_type", "lead_id", "status", "attempts", "last_status_code"]
    inspect_view_fields = [
        "uid",
        "subscription",
        "event_type",
        "lead_id",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "delivered_at",
        "last_status_code",
        "last_error",
    ]
    form_fields = ["status"]

    def get_urlpatterns(self) -> list[URLPattern | URLResolver]:
        return super().get_urlpatterns() + [path("<int:pk>/resend/", self.resend_view, name="resend")]

    def resend_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return resend(request, pk)


@require_http_methods(["GET", "POST"])
def resend(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user)
    delivery = get_object_or_404(Delivery, pk=pk)
    if request.method == "GET":
        question = _("Send delivery %(uid)s again, under the same delivery id?") % {"uid": delivery.uid}
        return TemplateResponse(
            request, "webhooks/confirm.html", {"title": _("Resend"), "question": question}
        )
    if services.resend(delivery):
        log(
            instance=delivery.subscription,
            action="webhooks.resend",
            user=request.user,
            data={"uid": str(delivery.uid)},
        )
        messages.success(request, _("Delivery queued again."))
    else:
        messages.warning(request, _("That delivery is being sent right now; try again in a minute."))
    return redirect("webhooks_delivery:inspect", delivery.pk)


register_permission_policy(Delivery, DeliveryPolicy(Delivery), exact_class=True)
