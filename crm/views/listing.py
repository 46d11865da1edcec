"""The lead listing: its columns, filters and search as ``crm.lead_fields`` declares them, and its export.

Only the user's leads, counted cheaply, with no per-row queries: the relations its cells read are
joined, and long texts it does not show are left out (the export reads them).
"""

from collections.abc import Iterator
from typing import Any

import django_filters
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Prefetch, Q, QuerySet
from django.forms.models import ModelChoiceIterator
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse
from django.utils.choices import BaseChoiceIterator
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from wagtail import hooks
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column
from wagtail.admin.widgets.button import HeaderButton
from wagtail.snippets.views import snippets as snippet_views

from crm import lead_fields
from crm.exports import LeadSpreadsheetExportMixin
from crm.field_spec import Cell, LeadField
from crm.filters import ASSIGNEE_MINE, ASSIGNEE_UNASSIGNED, assignable_users, brands_for, user_label
from crm.models import Campaign, Lead, PipelineStatus, Role, Service, User
from crm.pagination import SEARCH_COUNT_CAP, CappedCountPaginator
from crm.search import search_leads
from crm.views.columns import (
    LISTING_TAGS,
    AgeColumn,
    IdUrl,
    LeadCheckboxColumn,
    LeadTable,
    LeadTitleColumn,
    NextActionColumn,
    PlainColumn,
    StatusBadgeColumn,
)
from crm.views.leads import visible_leads
from crm.views.view_menu import views_menu
from crm.views.widget_drawing import FILTER_WIDGETS

CELLS = {
    Cell.TEXT: PlainColumn,
    Cell.STATUS: StatusBadgeColumn,
    Cell.AGE: AgeColumn,
    Cell.NEXT_ACTION: NextActionColumn,
}
MAX_ID_DIGITS = 18  # within a 64-bit primary key
LISTING_FILTER_HOOK = "register_lead_listing_filter"
"""A Wagtail hook by which a feature app adds a filter to the lead listing (crm imports no feature app):
a function returning ``(query parameter, a django-filter Filter)``, called for each listing."""
# Sorted with the leads that have none last, whichever the direction (databases disagree by default).
NULLS_LAST = frozenset({"next_action_at"})
WIDE_ONLY = "crm-wide-only"
"""The class of the listing's columns that a phone's narrow screen hides (``leads.css``)."""
NOT_FILTERS = ("p", "ordering", "export", "_w_filter_fragment", "column", "after")
"""Query parameters that are not the listing's filters or search: they stay behind between listing and board."""
ROW_BUTTON_HOOKS = ("register_snippet_listing_buttons", "construct_snippet_listing_buttons")
ROW_BUTTON_METHODS = (
    "get_list_buttons",
    "get_list_more_buttons",
    "get_edit_url",
    "get_copy_url",
    "get_inspect_url",
    "get_delete_url",
)
"""What makes a row's buttons: Wagtail's methods of the snippet listing, and the hooks that add or change them."""


def filters_query(request: HttpRequest) -> str:
    """The request's filters and search as a query string (with its ``?``), or ``""``."""
    query = request.GET.copy()
    for name in NOT_FILTERS:
        query.pop(name, None)
    return f"?{query.urlencode()}" if query else ""


def pipeline_statuses(request: HttpRequest) -> list[PipelineStatus]:
    """Every status in pipeline order, read once per request (the filters' choices and the board share it)."""
    statuses = getattr(request, "_crm_pipeline_statuses", None)
    if statuses is None:
        statuses = list(PipelineStatus.objects.all())
        request._crm_pipeline_statuses = statuses  # type: ignore[attr-defined]
    return statuses


class _Rows(list[Any]):
    """Rows read by one query, where a ``ModelChoiceIterator`` looks for its queryset: the iterator reads a
    queryset through ``iterator()``, which on PostgreSQL opens a server-side cursor (declare, fetch and
    close: three round trips), but one with prefetches it iterates as it is, and these rows say they have one."""

    _prefetch_related_lookups = ("read",)


class ChoicesReadAtOnce(BaseChoiceIterator):
    """A model choice widget's choices, as its field's iterator gives them, read when first drawn: by one
    plain query, or from ``rows`` already read."""

    def __init__(self, iterator: ModelChoiceIterator, rows: list[Any] | None = None) -> None:
        self.iterator = iterator
        self.rows = rows
        self.choices: list[Any] | None = None

    def read(self) -> list[Any]:
        if self.choices is None:
            rows = _Rows(self.iterator.queryset if self.rows is None else self.rows)
            self.iterator.queryset = rows  # type: ignore[assignment]  # iterated as a queryset is
            self.choices = list(self.iterator)
        return self.choices

    def __iter__(self) -> Iterator[Any]:
        return iter(self.read())

    def __len__(self) -> int:
        return len(self.read())


class LeadFilterSet(WagtailFilterSet):
    """The filters ``crm.lead_fields`` declares, in its order; choices offer only what the user may see."""

    class Meta:
        model = Lead
        fields: list[str] = []

    def __init__(
        self,
        data: Any = None,
        queryset: QuerySet[Lead] | None = None,
        *,
        request: HttpRequest,
        prefix: str | None = None,
    ) -> None:
        super().__init__(data, queryset, request=request, prefix=prefix)
        self.filters = {}
        for field in lead_fields.filter_fields():
            built = self.build_filter(field)
            built.model, built.parent = self.queryset.model, self
            self.filters[field.filter.name or field.name] = built  # type: ignore[union-attr]
        for make in hooks.get_hooks(LISTING_FILTER_HOOK):
            name, built = make()
            built.model, built.parent = self.queryset.model, self
            self.filters[name] = built
        self.narrow_choices(request.user)
        self.statuses = pipeline_statuses(request)

    @property
    def form(self) -> Any:
        """Django-filter's form, its status choices drawn from the statuses the page already read, the other
        model choices read by one query each, its widgets drawn in Python (``crm.views.widget_drawing``)."""
        form = super().form
        form.renderer = FILTER_WIDGETS
        for name, field in form.fields.items():
            choices = getattr(field.widget, "choices", None)
            if not isinstance(choices, ModelChoiceIterator):
                continue
            field.widget.choices = ChoicesReadAtOnce(choices, self.statuses if name == "status" else None)
        return form

    @classmethod
    def build_filter(cls, field: LeadField) -> django_filters.Filter:
        declared = field.filter
        assert declared is not None
        label = declared.label or field.heading
        if declared.make is not None:
            built = declared.make(label=label)
        else:
            built = cls.filter_for_field(field.model_field, field.name, declared.lookup)
            built.label = label
        if built.field_name is None:
            built.field_name = field.name
        return built

    def narrow_choices(self, user: Any) -> None:
        brands = brands_for(user)
        choices = {
            "brand": brands,
            "service": Service.objects.filter(brand__in=brands).select_related("brand"),
            "campaign": Campaign.objects.filter(Q(brand__in=brands) | Q(brand__isnull=True)),
        }
        for name, queryset in choices.items():
            if name in self.filters:
                self.filters[name].queryset = queryset
        if "assignee" in self.filters:
            people = []
            if user.role != Role.EMPLOYEE:
                people = [(str(person.pk), user_label(person)) for person in assignable_users(brands)]
                people += self.former_holder(user, {pk for pk, _label in people})
            self.filters["assignee"].extra["choices"] = [
                (ASSIGNEE_MINE, _("Assigned to me")),
                (ASSIGNEE_UNASSIGNED, _("Unassigned")),
                *people,
            ]

    def former_holder(self, user: Any, offered: set[str]) -> list[tuple[str, str]]:
        """The person a link asks for (``?assignee=<id>``) when they are not offered (left the brand or
        deactivated) but still hold leads the user sees: the homes link to their leads too."""
        requested = str((self.data or {}).get("assignee") or "")
        if not requested.isdigit() or len(requested) > MAX_ID_DIGITS or requested in offered:
            return []
        if not visible_leads(user).filter(assignee_id=int(requested)).exists():
            return []
        return [(str(person.pk), user_label(person)) for person in User.objects.filter(pk=int(requested))]


class LeadIndexView(LeadSpreadsheetExportMixin, snippet_views.IndexView):
    """The lead listing: only the user's leads, counted cheaply, with no per-row queries."""

    search_backend_name = None
    filterset_class = LeadFilterSet
    default_ordering = "-submitted_at"
    paginator_class = CappedCountPaginator
    export_filename = "leads"
    table_class = LeadTable
    table_classname = "listing crm-lead-listing"

    @property
    def search_fields(self) -> list[str]:
        return lead_fields.search_names()

    @search_fields.setter
    def search_fields(self, value: Any) -> None:
        """Wagtail's viewset hands the view its own ``search_fields``; the spec's stay."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if self.is_export and not self.user_has_permission("export"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_base_queryset(self) -> QuerySet[Lead]:
        queryset = Lead.objects.select_related(*lead_fields.listing_related())
        if self.is_export:
            queryset = queryset.prefetch_related("tags")  # type: ignore[misc]  # django-stubs knows no taggit
        else:
            # Each lead's tags as a list for the title cell (a prefetch into the manager's cache makes a
            # tag query object per row).
            queryset = queryset.prefetch_related(Prefetch("tags", to_attr=LISTING_TAGS))  # type: ignore[misc]
            queryset = queryset.defer(*lead_fields.listing_deferred())
        return visible_leads(self.request.user, queryset)

    def order_queryset(self, queryset: QuerySet[Lead]) -> QuerySet[Lead]:
        ordering = self.ordering or self.default_ordering
        tiebreak = "pk" if not ordering.startswith("-") else "-pk"
        if ordering.lstrip("-") in NULLS_LAST:
            field = models.F(ordering.lstrip("-"))
            first = field.desc(nulls_last=True) if ordering.startswith("-") else field.asc(nulls_last=True)
            return queryset.order_by(first, tiebreak)
        queryset = super().order_queryset(queryset)
        return queryset.order_by(*queryset.query.order_by, tiebreak)

    def search_queryset(self, queryset: QuerySet[Lead]) -> QuerySet[Lead]:
        if not self.is_searching:
            return queryset
        return search_leads(queryset, self.search_query)

    def get_paginator(
        self,
        queryset: QuerySet[Lead],
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
        **kwargs: Any,
    ) -> CappedCountPaginator:
        return self.paginator_class(
            queryset,
            per_page,
            orphans=orphans,
            allow_empty_first_page=allow_empty_first_page,
            requested_page=self.request.GET.get(self.page_kwarg) or 1,
            cap=SEARCH_COUNT_CAP if self.is_searching else None,
            **kwargs,
        )

    @cached_property
    def header_buttons(self) -> list[Any]:
        """Wagtail's, then the board of the same leads (same filters and search), as an icon with its
        tooltip so the title keeps its room on a phone, and the saved views menu."""
        board = reverse("crm_leads:board") + filters_query(self.request)
        return [
            *super().header_buttons,
            HeaderButton(_("Board"), url=board, icon_name="table", icon_only=True),
            *views_menu(self.request, "listing", self.filters),
        ]

    @cached_property
    def show_export_buttons(self) -> bool:
        return self.user_has_permission("export")

    def get_page_title(self) -> str:
        if self.request.GET.get("assignee") == ASSIGNEE_MINE:
            return _("My leads")
        return super().get_page_title()

    @cached_property
    def columns(self) -> list[Column]:
        return [
            LeadCheckboxColumn("bulk_actions", obj_type="snippet"),
            *(self.column(field) for field in lead_fields.listing_fields()),
        ]

    def column(self, field: LeadField) -> Column:
        declared = field.listing
        assert declared is not None
        options = {
            "label": declared.label or field.heading,
            "accessor": declared.value or field.name,
            "sort_key": declared.sort_key,
            "classname": None if declared.phone else WIDE_ONLY,
        }
        if declared.cell is Cell.TITLE:
            return self._get_title_column_class(LeadTitleColumn)(
                field.name,
                get_url=IdUrl(Lead.snippet_viewset.get_url_name("inspect")),  # type: ignore[attr-defined]
                get_title_id=lambda lead: f"snippet_{quote(lead.pk)}_title",
                same_buttons_but_id_and_title=self.same_buttons_but_id_and_title(),
                **options,
            )
        return CELLS[declared.cell](field.name, **options)

    def same_buttons_but_id_and_title(self) -> bool:
        """Whether every row's buttons are the same but for the lead's id and title: Wagtail's own (edit,
        inspect, delete as the user may), no hook adding or changing any. The title column then draws them
        once per page."""
        return all(
            getattr(type(self), name) is getattr(snippet_views.IndexView, name) for name in ROW_BUTTON_METHODS
        ) and not any(hooks.get_hooks(hook) for hook in ROW_BUTTON_HOOKS)
