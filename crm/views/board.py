"""The lead board: the listing's leads as columns by status, and the move a drop (or a card's menu) makes.

Thin on purpose: what the board holds is ``crm.board``'s, who may see a lead ``crm.access``'s and every
move ``crm.services.change_status``'s, the same call as the status form's.
"""

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from wagtail.admin import messages
from wagtail.admin.utils import get_valid_next_url_from_request
from wagtail.admin.views.generic.base import BaseListingView
from wagtail.admin.widgets.button import HeaderButton

from crm import access, board, services
from crm.forms.board import BoardMoveForm
from crm.models import Lead, LostReason, PipelineStatus
from crm.search import search_leads
from crm.views.leads import has_lead_access, lead_url, visible_leads
from crm.views.listing import NOT_FILTERS, LeadFilterSet, filters_query, pipeline_statuses
from crm.views.view_menu import views_menu

NEEDS = {
    "note_required": "note",
    "lost_reason_required": "lost_reason",
    "lost_reason_unknown": "lost_reason",
    "follow_up_required": "follow_up_at",
    "follow_up_date": "follow_up_at",
}
"""The service's error codes that the board's dialog answers, and the field it asks for."""


def board_url_name(name: str = "board") -> str:
    return reverse(Lead.snippet_viewset.get_url_name(name))


def listing_url_name() -> str:
    return reverse(Lead.snippet_viewset.get_url_name("list"))


def board_url(request: HttpRequest | None = None) -> str:
    return board_url_name() + (filters_query(request) if request else "")


def listing_url(request: HttpRequest) -> str:
    return listing_url_name() + filters_query(request)


def status_data(status: PipelineStatus) -> dict:
    return {"id": status.pk, "key": status.key, "label": status.display_label, "closed": status.is_closed}


def lost_reason_choices() -> list[dict]:
    """The active lost reasons, for the dialog a lost drop opens (read only when a drop asks for one, so
    the board itself costs no query for them)."""
    return [
        {"id": reason.pk, "label": reason.display_label}
        for reason in LostReason.objects.filter(is_active=True)
    ]


class BoardLeadsMixin:
    """The leads of the board: those the person may see, narrowed by the listing's filters and search."""

    filterset_class = LeadFilterSet
    is_searchable = True
    search_backend_name = None

    def dispatch(self, request, *args, **kwargs):
        if not has_lead_access(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_base_queryset(self):
        return visible_leads(self.request.user)

    def search_queryset(self, queryset):
        return search_leads(queryset, self.search_query) if self.is_searching else queryset


def with_moves(request: HttpRequest, cards: list[Lead], statuses) -> list[Lead]:
    """Gives each card the statuses the person may move it to: their ids (``board_moves``, for the
    script) and the options of its move menu (``board_move_options``), drawn once per status."""
    drawn = {
        current: (
            ",".join(str(status.pk) for status in targets),
            format_html_join(
                "",
                '<option value="{}">{}</option>',
                ((status.pk, status.display_label) for status in targets),
            ),
        )
        for current, targets in board.moves_open_to(request.user, statuses).items()
    }
    for card in cards:
        card.board_moves, card.board_move_options = drawn.get(card.status_id, ("", ""))
    return cards


def render_cards(request: HttpRequest, cards: list[Lead]) -> str:
    with_moves(request, cards, pipeline_statuses(request))
    return render_to_string(
        "crm/leads/board_cards.html", {"cards": cards, "next_url": board_url(request)}, request=request
    )


class BoardView(BoardLeadsMixin, BaseListingView):
    """A column per open status with its count and newest cards; the closed statuses as drop targets."""

    template_name = "crm/leads/board.html"
    results_template_name = "crm/leads/board_results.html"
    page_title = gettext_lazy("Lead board")
    header_icon = "user"
    index_url_name = "crm_leads:board"
    index_results_url_name = "crm_leads:board_results"
    paginate_by = None

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": listing_url(self.request), "label": _("Leads")},
            {"url": "", "label": self.get_page_title()},
        ]

    @cached_property
    def header_buttons(self):
        """The listing of the same leads, as an icon (as the listing's Board button), and the views menu."""
        return [
            HeaderButton(_("List"), url=listing_url(self.request), icon_name="list-ul", icon_only=True),
            *views_menu(self.request, "board", self.filters),
        ]

    def column_url(self, base: str, status: PipelineStatus, after: str = "") -> str:
        """``base`` with the request's filters, the column's status and, given, the cursor after which to read."""
        query = self.request.GET.copy()
        for name in NOT_FILTERS:
            query.pop(name, None)
        if after:
            query.update({"column": status.pk, "after": after})
        else:
            query.setlist("status", [status.pk])
        return f"{base}?{query.urlencode()}"

    def get_context_data(self, **kwargs):
        # Wagtail's listing context paginates and builds a table; the board needs neither, so it starts
        # from the admin page's context and adds the filters and search the header shows.
        context = super(BaseListingView, self).get_context_data(**kwargs)
        the_board = board.read_board(self.object_list, statuses=pipeline_statuses(self.request))
        for column in [*the_board.columns, *the_board.closed]:
            column.listing_url = self.column_url(listing_url_name(), column.status)
            if column.has_more:
                column.more_url = self.column_url(board_url_name("board_more"), column.status, column.cursor)
        with_moves(
            self.request, [card for column in the_board.columns for card in column.cards], the_board.statuses
        )
        media = self.filters.form.media + self.search_form.media
        context.update(
            {
                "board": the_board,
                "index_url": self.index_url,
                "index_results_url": self.index_results_url,
                "filters": self.filters,
                "is_filtering": self.is_filtering,
                "search_form": self.search_form,
                "is_searching": self.is_searching,
                "query_string": self.search_query,
                "render_filters_fragment": self.request.GET.get("_w_filter_fragment") and self.results_only,
                "render_buttons_fragment": self.results_only,
                "filters_query": filters_query(self.request),
                "listing_url": listing_url(self.request),
                "next_url": board_url(self.request),
                "media": media,
            }
        )
        return context


class BoardColumnView(BoardLeadsMixin, BaseListingView):
    """A column's next cards after a cursor, as JSON: their HTML and the address of the ones after."""

    def get(self, request, *args, **kwargs):
        try:
            status = PipelineStatus.objects.get(pk=int(request.GET.get("column", "")))
            cards, has_more = board.column_page(self.get_queryset(), status, request.GET.get("after", ""))
        except (ValueError, PipelineStatus.DoesNotExist):
            return JsonResponse({"message": _("This column cannot be read further.")}, status=400)
        more = ""
        if has_more:
            query = request.GET.copy()
            query["after"] = board.cursor_of(cards[-1])
            more = f"{request.path}?{query.urlencode()}"
        return JsonResponse({"html": render_cards(request, cards), "more_url": more})


class BoardMoveView(View):
    """POST: move a lead to ``status`` from ``from_status`` (the status its card was drawn in).

    Answers JSON: 200 with the card as it now is; 400 (bad input, or a reason or date the status asks
    for: ``needs`` names the field), 403 (a move the person may not make), 404 (not their lead) and 409
    (someone moved it meanwhile: ``status`` is where it is now). Without JavaScript (the card's menu
    posting ``next``), the answer is a message and a redirect back (to the status form when a reason or a
    date is missing); a lead that is not theirs is still a 404.
    """

    http_method_names = ["post"]

    def post(self, request, pk):
        self.html = bool(request.POST.get("next")) and "application/json" not in request.headers.get(
            "Accept", ""
        )
        if not has_lead_access(request.user):
            return self.refuse(PermissionDenied, _("You may not change the status of leads."))
        lead = visible_leads(request.user, Lead.objects.select_related("status")).filter(pk=pk).first()
        if lead is None:
            return self.refuse(Http404, _("This lead is not on your board."))
        if not access.can_act_on_lead(request.user, lead, "change_status"):
            return self.refuse(PermissionDenied, _("You may not change the status of this lead."))
        form = BoardMoveForm(request.POST)
        if not form.is_valid():
            first = next(iter(form.errors.values()))[0]
            return self.answer(400, first, errors=form.errors.get_json_data())
        data = form.cleaned_data
        try:
            services.change_status(
                lead,
                data["status"],
                request.user,
                data["note"],
                follow_up_at=data["follow_up_at"],
                expected_status=data["from_status"],
                lost_reason=data["lost_reason"],
            )
        except services.StatusConflict as conflict:
            return self.answer(
                409, str(conflict), status=status_data(conflict.status), card=self.card(conflict.status, lead)
            )
        except PermissionDenied as refusal:
            return self.answer(403, str(refusal) or _("Not allowed."))
        except ValidationError as error:
            needs = NEEDS.get(getattr(error, "code", None) or "")
            extra = {"reasons": lost_reason_choices()} if needs == "lost_reason" else {}
            return self.answer(400, " ".join(error.messages), needs=needs, lead=lead, **extra)
        moved = data["status"]
        return self.answer(
            200,
            _("%(lead)s moved to %(status)s.") % {"lead": lead, "status": moved.display_label},
            status=status_data(moved),
            card=self.card(moved, lead),
        )

    def card(self, status: PipelineStatus, lead: Lead) -> str:
        """The lead's card as it is now, for its column; none when it sits in a closed status."""
        return "" if status.is_closed or self.html else render_cards(self.request, [board.card(lead.pk)])

    def refuse(self, refusal: type[Exception], message: str) -> HttpResponse:
        """A lead that is not the person's (404) or a role that may not move leads (403): no redirect."""
        if self.html:
            raise refusal(message)
        return JsonResponse({"ok": False, "message": message}, status=404 if refusal is Http404 else 403)

    def answer(self, code: int, message: str, *, lead: Lead | None = None, **data) -> HttpResponse:
        if not self.html:
            return JsonResponse({"ok": code == 200, "message": str(message), **data}, status=code)
        back = get_valid_next_url_from_request(self.request) or board_url()
        if code == 200:
            messages.success(self.request, message)
        elif code == 409:
            messages.warning(self.request, message)
        else:
            messages.error(self.request, message)
        if data.get("needs") and lead is not None:
            # The status form asks for the reason or the date, then comes back to the board.
            return redirect(f"{lead_url('change_status', lead)}?{urlencode({'next': back})}")
        return redirect(back)
