"""Paginators for listings that must stay fast at a million rows."""

from django.db.models import QuerySet
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from wagtail.admin.paginator import WagtailPaginator

COUNT_CAP = 10_000
SEARCH_COUNT_CAP = 1_000
"""A search's matches are counted up to here: each is checked against its text, and a search that
matches more is narrowed by another word rather than read to its end."""
PAGES_AHEAD = 10
MAX_PAGE = 1_000_000  # a deeper ``?p=`` is read as this one (the last page shows), never as a bigint overflow


class CappedCountPaginator(WagtailPaginator):
    """Counts at most a bounded number of rows, in one query, whatever the filters.

    ``SELECT COUNT(*) FROM (SELECT ... LIMIT n)`` stops after ``n`` rows, so the count costs no more
    than reading a few pages ahead; the cap grows with the requested page so deep pages stay
    reachable. When the cap is hit the total is shown as "more than N". ``cap``: another than
    ``COUNT_CAP`` (e.g. ``SEARCH_COUNT_CAP``).
    """

    def __init__(self, object_list, per_page, *args, requested_page=1, cap=None, **kwargs):
        super().__init__(object_list, per_page, *args, **kwargs)
        try:
            requested_page = min(max(int(requested_page), 1), MAX_PAGE)
        except (TypeError, ValueError):
            requested_page = 1
        self.count_cap = max(cap or COUNT_CAP, (requested_page + PAGES_AHEAD) * int(per_page))

    @cached_property
    def _capped_count(self):
        return self.object_list.order_by()[: self.count_cap + 1].count()

    @cached_property
    def count(self):
        return min(self._capped_count, self.count_cap)

    @cached_property
    def is_capped(self):
        return self._capped_count > self.count_cap

    def page(self, number):
        """The page's rows, read in two steps so deep pages stay cheap.

        The ids of the page come first, from the ordering columns alone (PostgreSQL walks an index
        for them without touching the rows it skips); then only those rows are loaded with their
        related objects, in that order.
        """
        if not isinstance(self.object_list, QuerySet):
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows = {obj.pk: obj for obj in self.object_list.order_by().filter(pk__in=ids)} if ids else {}
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)

    @cached_property
    def items_count_label(self):
        if self.is_capped:
            return _("More than %(count)s %(items)s") % {
                "count": f"{self.count_cap:,}",
                "items": self.verbose_name_plural,
            }
        return super().items_count_label
