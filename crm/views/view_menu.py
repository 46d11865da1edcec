"""The "Views" menu in the header of the lead listing and the board: the built-in views of the person's
role, their own views and those shared with them, the view now open marked; "Save view" and "Manage views".

Drawn again with the header's buttons each time the filters change, so it always saves what is on screen.
"""

from typing import Any
from urllib.parse import parse_qsl

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import pgettext
from wagtail.admin.widgets.button import BaseButton

from crm import saved_views
from crm.models import SavedView

Kind = SavedView.Kind


def kind_url(kind: str, query: str = "") -> str:
    """The listing or the board, opened with ``query``."""
    base = reverse("crm_leads:board" if kind == Kind.BOARD else "crm_leads:list")
    return f"{base}?{query}" if query else base


def same_query(first: str, second: str) -> bool:
    return sorted(parse_qsl(first)) == sorted(parse_qsl(second))


class ViewsMenu(BaseButton):
    """The header's "Views" dropdown for ``kind``; ``current`` is the normalised query on screen.
    A header button (sorted with the others, after them), drawn by its own template."""

    template_name = "crm/leads/views_menu.html"

    def __init__(self, request: HttpRequest, kind: str, current: str) -> None:
        super().__init__(label=kind, priority=2000)
        self.request, self.kind, self.current = request, kind, current

    def get_context_data(self, parent_context: Any = None) -> dict[str, Any]:
        user = self.request.user
        builtins = [
            {
                "label": view.label,
                "url": kind_url(self.kind, query),
                "active": same_query(query, self.current),
            }
            for view in saved_views.builtin_views_for(user)  # type: ignore[arg-type]
            for query in [view.query_for(self.kind)]
        ]
        own: list[dict[str, Any]] = []
        shared: list[dict[str, Any]] = []
        for view in saved_views.views_for(user, self.kind).order_by("name", "pk"):  # type: ignore[arg-type]
            item = {
                "label": view.name,
                "url": reverse("crm_leads:view_open", args=[view.pk]),
                "active": same_query(view.query, self.current),
                "owner": view.owner,
                "shared": view.is_shared,
            }
            (own if view.owner_id == user.pk else shared).append(item)
        every = [*own, *shared, *builtins]
        active = next((item for item in every if item["active"]), None)
        for item in every:
            item["active"] = item is active
        save_url = reverse("crm_leads:view_save", args=[self.kind])
        return {
            "label": active["label"] if active else pgettext("saved views", "Views"),
            "builtins": builtins,
            "own": own,
            "shared": shared,
            "kind_icon": "table" if self.kind == Kind.BOARD else "list-ul",
            "save_url": f"{save_url}?{self.current}" if self.current else save_url,
            "manage_url": reverse("crm_leads:views"),
        }


def views_menu(request: HttpRequest, kind: str, filters: Any) -> list[ViewsMenu]:
    """The menu for the header's buttons, given the listing's filters (its ``LeadFilterSet``); none for
    people without saved views."""
    if filters is None or not saved_views.works_leads(request.user):
        return []
    current = saved_views.normalise_query(request.GET, saved_views.param_names(filters.form, kind))
    return [ViewsMenu(request, kind, current)]
