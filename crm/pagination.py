"""Paginators for listings that must stay fast at a million rows."""

from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from wagtail.admin.paginator import WagtailPaginator

COUNT_CAP = 10_000
PAGES_AHEAD = 10


class CappedCountPaginator(WagtailPaginator):
    """Counts at most a bounded number of rows, in one query, whatever the filters.

    ``SELECT COUNT(*) FROM (SELECT ... LIMIT n)`` stops after ``n`` rows, so the count costs no more
    than reading a few pages ahead; the cap grows with the requested page so deep pages stay
    reachable. When the cap is hit the total is shown as "more than N".
    """

    def __init__(self, object_list, per_page, *args, requested_page=1, **kwargs):
        super().__init__(object_list, per_page, *args, **kwargs)
        try:
            requested_page = max(int(requested_page), 1)
        except (TypeError, ValueError):
            requested_page = 1
        self.count_cap = max(COUNT_CAP, (requested_page + PAGES_AHEAD) * int(per_page))

    @cached_property
    def _capped_count(self):
        return self.object_list.order_by()[: self.count_cap + 1].count()

    @cached_property
    def count(self):
        return min(self._capped_count, self.count_cap)

    @cached_property
    def is_capped(self):
        return self._capped_count > self.count_cap

    @cached_property
    def items_count_label(self):
        if self.is_capped:
            return _("More than %(count)s %(items)s") % {
                "count": f"{self.count_cap:,}",
                "items": self.verbose_name_plural,
            }
        return super().items_count_label
