"""The "WordPress" admin menu (admins only): sources, sync runs, quarantine."""

from collections.abc import Mapping
from typing import Any

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
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel, ObjectList
from wagtail.admin.ui.components import Component
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet, ViewSetGroup
from wagtail.admin.widgets.button import Button
from wagtail.log_actions import log
from wagtail.permissions import register_permission_policy

from core.permission_policies import ReadOnlyPolicy
from crm.models import User

from .mapping import RecordError
from .models import QuarantinedSubmission, SourceForm, Submission, SyncRun, WordPressSource
from .retry import dismiss_submission, retry_submission
from .services import mark_edited, queue_sync, rotate_webhook_secret, rotate_webhook_token


def _require(user: User | AnonymousUser, perm: str) -> None:
    if not (user.is_active and user.has_perm(perm)):
        raise PermissionDenied


# ---- sources -----------------------------------------------------------------------------------------


class SourceAdminForm(WagtailAdminModelForm):
    """The application password is write-only: typed in, stored, never rendered back."""

    new_app_password = forms.CharField(
        label=gettext_lazy("Application password"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("Leave empty to keep the current one. It is never shown again."),
    )

    def save(self, commit: bool = True) -> WordPressSource:
        source = super().save(commit=False)
        if self.cleaned_data.get("new_app_password"):
            source.app_password = self.cleaned_data["new_app_password"]
        mark_edited(source)
        if commit:
            source.save()
            self.save_m2m()
        return source


SourceForm.panels = [  # type: ignore[attr-defined]  # the inline form panel, kept with the admin
    FieldRowPanel([FieldPanel("form_id"), FieldPanel("brand"), FieldPanel("default_service")]),
    FieldPanel("field_mapping"),
]


class SourceIndexView(generic.IndexView):
    def get_list_more_buttons(self, instance: WordPressSource) -> list[Button]:
        buttons = super().get_list_more_buttons(instance)
        if self.permission_policy.user_has_permission(self.request.user, "change"):
            buttons.append(
                Button(
                    _("Sync now"),
                    url=reverse("wordpress_source:sync_now", args=[instance.pk]),
                    icon_name="resubmit",
                    priority=5,
                )
            )
        return buttons


class SourceEditView(generic.EditView):
    @property
    def header_more_buttons(self) -> list[Button]:
        buttons = list(super().header_more_buttons)
        buttons.append(
            Button(
                _("Sync now"),
                url=reverse("wordpress_source:sync_now", args=[self.object.pk]),
                icon_name="resubmit",
                priority=5,
            )
        )
        buttons.append(
            Button(
                _("Rotate webhook token"),
                url=reverse("wordpress_source:rotate", args=[self.object.pk, "token"]),
                icon_name="key",
                priority=6,
            )
        )
        buttons.append(
            Button(
                _("Rotate webhook secret"),
                url=reverse("wordpress_source:rotate", args=[self.object.pk, "secret"]),
                icon_name="key",
                priority=7,
            )
        )
        return buttons


class SourceViewSet(ModelViewSet):
    model = WordPressSource
    icon = "site"
    menu_label = gettext_lazy("Sources")
    url_prefix = "wordpress/sources"
    name = "wordpress_source"
    index_view_class = SourceIndexView
    edit_view_class = SourceEditView
    inspect_view_enabled = True
    copy_view_enabled = False
    list_display = ["name", "shape", "enabled", "health", "last_success_at", "consecutive_failures"]
    list_filter = ["shape", "enabled", "health"]
    search_fields = ["name", "slug", "url"]
    inspect_view_fields = [
        "name",
        "slug",
        "shape",
        "url",
        "username",
        "timezone",
        "enabled",
        "interval_minutes",
        "health",
        "last_success_at",
        "last_error_at",
        "last_error",
        "consecutive_failures",
        "webhook_secret",
        "webhook_token",
    ]
    edit_handler = ObjectList(
        [
            MultiFieldPanel(
                [
                    FieldPanel("name"),
                    FieldPanel("slug"),
                    FieldPanel("shape"),
                    FieldPanel("url"),
                    FieldPanel("timezone"),
                ],
                heading=gettext_lazy("Site"),
            ),
            MultiFieldPanel(
                [FieldPanel("username"), FieldPanel("new_app_password")], heading=gettext_lazy("Credentials")
            ),
            MultiFieldPanel(
                [
                    FieldPanel("enabled"),
                    FieldPanel("interval_minutes"),
                    FieldPanel("page_size"),
                    FieldPanel("rescan_hours"),
                ],
                heading=gettext_lazy("Schedule"),
            ),
            InlinePanel("forms", heading=gettext_lazy("Forms"), label=gettext_lazy("Form"), min_num=1),
        ],
        base_form_class=SourceAdminForm,
    )

    def get_urlpatterns(self) -> list[URLPattern | URLResolver]:
        return super().get_urlpatterns() + [
            path("<int:pk>/sync/", self.sync_now_view, name="sync_now"),
            path("<int:pk>/rotate/<str:what>/", self.rotate_view, name="rotate"),
        ]

    def sync_now_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return sync_now(request, pk)

    def rotate_view(self, request: HttpRequest, pk: int, what: str) -> HttpResponse:
        return rotate(request, pk, what)


@require_http_methods(["GET", "POST"])
def sync_now(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, "wordpress.change_wordpresssource")
    source = get_object_or_404(WordPressSource, pk=pk)
    if request.method == "POST":
        queue_sync(source, full=request.POST.get("full") == "1")
        log(instance=source, action="wordpress.sync_requested", user=request.user)
        messages.success(request, _("A sync of “%(name)s” has been queued.") % {"name": source.name})
        return redirect("wordpress_run:index")
    return TemplateResponse(
        request,
        "wordpress/confirm.html",
        {
            "source": source,
            "title": _("Sync now"),
            "question": _("Sync “%(name)s” now?") % {"name": source.name},
            "offer_full": True,
        },
    )


@require_http_methods(["GET", "POST"])
def rotate(request: HttpRequest, pk: int, what: str) -> HttpResponse:
    _require(request.user, "wordpress.change_wordpresssource")
    source = get_object_or_404(WordPressSource, pk=pk)
    if what not in ("token", "secret"):
        raise PermissionDenied
    if request.method == "POST":
        (rotate_webhook_token if what == "token" else rotate_webhook_secret)(source)
        log(instance=source, action="wordpress.webhook_rotated", user=request.user, data={"what": what})
        messages.success(request, _("The webhook %(what)s was replaced; update the site.") % {"what": what})
        return redirect("wordpress_source:inspect", source.pk)
    question = _("Replace the webhook %(what)s of “%(name)s”? The old one stops working at once.") % {
        "what": what,
        "name": source.name,
    }
    return TemplateResponse(
        request, "wordpress/confirm.html", {"source": source, "title": _("Rotate"), "question": question}
    )


# ---- runs --------------------------------------------------------------------------------------------


FORM_COUNT_COLUMNS = [
    ("fetched", gettext_lazy("Fetched")),
    ("created", gettext_lazy("Created")),
    ("updated", gettext_lazy("Updated")),
    ("duplicates", gettext_lazy("Duplicates")),
    ("quarantined", gettext_lazy("Quarantined")),
]


class FormCountsTable(Component):
    """A run's per-form counts as a table: one row per form, one column per count, then its error."""

    template_name = "wordpress/form_counts.html"

    def __init__(self, form_counts: object) -> None:
        self.form_counts = form_counts if isinstance(form_counts, dict) else {}

    def get_context_data(self, parent_context: Mapping[str, Any] | None = None) -> dict[str, Any]:
        keys = [key for key, _label in FORM_COUNT_COLUMNS]
        extra = sorted({key for counts in self.form_counts.values() for key in counts} - {*keys, "error"})
        columns = [*FORM_COUNT_COLUMNS, *((key, key.replace("_", " ").capitalize()) for key in extra)]
        rows = [
            {
                "form": form,
                "counts": [counts.get(key, 0) for key, _label in columns],
                "error": counts.get("error", ""),
            }
            for form, counts in sorted(self.form_counts.items(), key=lambda item: _form_order(item[0]))
        ]
        return {"columns": [label for _key, label in columns], "rows": rows}


def _form_order(form_id: str) -> tuple[int, int, str]:
    return (0, int(form_id), "") if str(form_id).isdigit() else (1, 0, str(form_id))


class SyncRunInspectView(generic.InspectView):
    def get_context_for_field(self, field_name: str) -> dict[str, Any]:
        context = super().get_context_for_field(field_name)
        if field_name == "form_counts":
            context["component"] = FormCountsTable(self.object.form_counts)
        return context


class SyncRunViewSet(ModelViewSet):
    model = SyncRun
    icon = "history"
    menu_label = gettext_lazy("Sync runs")
    url_prefix = "wordpress/runs"
    name = "wordpress_run"
    inspect_view_enabled = True
    inspect_view_class = SyncRunInspectView
    copy_view_enabled = False
    list_display = [
        "source",
        "started_at",
        "finished_at",
        "status",
        "trigger",
        "fetched",
        "created",
        "updated",
        "duplicates",
        "quarantined",
    ]
    list_filter = ["source", "status", "trigger"]
    inspect_view_fields = [
        "source",
        "trigger",
        "full",
        "status",
        "started_at",
        "finished_at",
        "fetched",
        "created",
        "updated",
        "duplicates",
        "quarantined",
        "form_counts",
        "error",
    ]
    form_fields = ["source"]


# ---- quarantine --------------------------------------------------------------------------------------


class QuarantineIndexView(generic.IndexView):
    def get_base_queryset(self) -> QuerySet[QuarantinedSubmission]:
        return super().get_base_queryset().filter(state=Submission.State.QUARANTINED).select_related("source")

    def get_list_more_buttons(self, instance: QuarantinedSubmission) -> list[Button]:
        buttons = super().get_list_more_buttons(instance)
        buttons.append(
            Button(
                _("Retry"),
                url=reverse("wordpress_quarantine:act", args=[instance.pk, "retry"]),
                icon_name="resubmit",
                priority=5,
            )
        )
        buttons.append(
            Button(
                _("Dismiss"),
                url=reverse("wordpress_quarantine:act", args=[instance.pk, "dismiss"]),
                icon_name="bin",
                priority=6,
            )
        )
        return buttons


class QuarantineViewSet(ModelViewSet):
    model = QuarantinedSubmission
    icon = "warning"
    menu_label = gettext_lazy("Quarantine")
    url_prefix = "wordpress/quarantine"
    name = "wordpress_quarantine"
    index_view_class = QuarantineIndexView
    inspect_view_enabled = True
    copy_view_enabled = False
    list_display = ["source", "form_id", "external_id", "origin", "reason", "received_at"]
    list_filter = ["source", "origin"]
    inspect_view_fields = [
        "source",
        "form_id",
        "external_id",
        "origin",
        "upstream_status",
        "reason",
        "received_at",
        "payload",
    ]
    form_fields = ["reason"]

    def get_urlpatterns(self) -> list[URLPattern | URLResolver]:
        return super().get_urlpatterns() + [path("<int:pk>/<str:action>/", self.act_view, name="act")]

    def act_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        return quarantine_action(request, pk, action)


@require_http_methods(["GET", "POST"])
def quarantine_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    _require(request.user, "wordpress.change_quarantinedsubmission")
    submission = get_object_or_404(Submission, pk=pk, state=Submission.State.QUARANTINED)
    if action not in ("retry", "dismiss"):
        raise PermissionDenied
    if request.method == "GET":
        question = (
            _("Try to store submission %(id)s as a lead again?")
            if action == "retry"
            else _("Dismiss submission %(id)s? It stays stored but leaves the quarantine list.")
        ) % {"id": submission.external_id}
        return TemplateResponse(
            request, "wordpress/confirm.html", {"title": _("Quarantine"), "question": question}
        )
    if action == "dismiss":
        dismiss_submission(submission)
        messages.success(request, _("Submission dismissed."))
    else:
        try:
            lead = retry_submission(submission)
        except RecordError as error:
            messages.error(request, _("Still quarantined: %(reason)s") % {"reason": error})
        else:
            messages.success(request, _("Stored as lead #%(pk)s.") % {"pk": lead.pk if lead else "?"})
    return redirect("wordpress_quarantine:index")


register_permission_policy(SyncRun, ReadOnlyPolicy(SyncRun), exact_class=True)
register_permission_policy(QuarantinedSubmission, ReadOnlyPolicy(QuarantinedSubmission), exact_class=True)


class WordPressGroup(ViewSetGroup):
    menu_label = gettext_lazy("WordPress")
    menu_icon = "site"
    menu_order = 500
    items = (SourceViewSet, SyncRunViewSet, QuarantineViewSet)
