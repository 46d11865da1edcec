"""Wagtail's site history, paged so it stays fast with millions of lead log entries.

Wagtail counts every visible entry and sorts the union of its log models before taking a page; with
millions of lead entries (each one checked against the reader's leads, ``crm.models.audit``) that is
seconds per page. Here each log model's part is read newest first up to a cap (PostgreSQL walks the
timestamp index and stops), the total is counted up to that cap ("more than N"), and deeper pages raise
the cap. Exports, and databases that cannot limit the parts of a union (SQLite), read everything.
"""

from django.db import connection
from django.db.models import IntegerField, Value
from wagtail.admin.views.reports.audit_logging import LogEntriesView
from wagtail.log_actions import registry as log_action_registry

from crm.exports import LocalTimeExportMixin
from crm.pagination import PAGES_AHEAD, CappedCountPaginator

# Deeper than anyone pages; keeps the row limits of a forged ``?p=`` within a database integer.
MAX_PAGE = 100_000


class CappedReportPaginator(CappedCountPaginator):
    """The capped count (from a thousand entries up), with pages sliced from the union itself (its rows
    are dicts, not models)."""

    minimum_cap = 1000

    def __init__(self, object_list, per_page, *args, requested_page=1, **kwargs):
        super().__init__(object_list, per_page, *args, requested_page=requested_page, **kwargs)
        self.count_cap = max(self.minimum_cap, (int(requested_page) + PAGES_AHEAD) * int(per_page))

    def page(self, number):
        return super(CappedCountPaginator, self).page(number)


class SiteHistoryView(LocalTimeExportMixin, LogEntriesView):
    paginator_class = CappedReportPaginator

    def get_paginator(self, queryset, per_page, orphans=0, allow_empty_first_page=True, **kwargs):
        return self.paginator_class(
            queryset,
            per_page,
            orphans=orphans,
            allow_empty_first_page=allow_empty_first_page,
            requested_page=self.requested_page,
            **kwargs,
        )

    @property
    def requested_page(self):
        page = str(self.request.GET.get(self.page_kwarg) or "1")
        return min(int(page), MAX_PAGE) if page.isdigit() else 1

    def get_filtered_queryset(self):
        if self.is_export or not connection.features.supports_slicing_ordering_in_compound:
            return super().get_filtered_queryset()
        # One more than the paginator counts, so a capped part still shows as "more than N".
        counted = self.paginator_class([], self.paginate_by, requested_page=self.requested_page).count_cap
        limit = counted + 1
        self.log_models = list(log_action_registry.get_log_entry_models())
        queryset = None
        for index, log_model in enumerate(self.log_models):
            part = (
                log_model.objects.viewable_by_user(self.request.user)
                .values("pk", "timestamp")
                .annotate(log_model_index=Value(index, output_field=IntegerField()))
            )
            part = self.filter_queryset(part).order_by("-timestamp", "-pk")[:limit]
            queryset = part if queryset is None else queryset.union(part, all=True)
        return queryset.order_by("-timestamp")
