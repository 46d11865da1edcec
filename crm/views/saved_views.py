"""Saved views of the lead listing and board: save what is on screen, open a view, rename, reshare or
delete one, choose the default the "Leads" menu opens, and the page that lists them.

Thin over ``crm.saved_views``, which says who may do what. A view is looked up among those the person
may open (or change, or delete), so anyone else's is a 404. Opening a view checks its filters against
the opener's own listing: a filter naming what they cannot choose (a person or a brand they do not see)
is left out, with a message, and the listing then shows only their own leads, as always.
"""

from typing import Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from django.views import View
from django.views.decorators.http import require_GET
from django.views.generic import FormView, TemplateView
from django_stubs_ext import StrOrPromise
from wagtail.admin import messages
from wagtail.admin.active_filters import filter_adapter_class_registry
from wagtail.admin.utils import get_valid_next_url_from_request
from wagtail.admin.views.generic import WagtailAdminTemplateMixin

from crm import lead_fields, saved_views
from crm.forms.saved_views import SavedViewForm
from crm.models import Lead, SavedView, User
from crm.views.listing import LeadFilterSet
from crm.views.view_menu import kind_url

Kind = SavedView.Kind


def viewer(request: HttpRequest) -> User:
    """The person asking, who must have a lead listing (marketing has none)."""
    if not saved_views.works_leads(request.user):
        raise PermissionDenied
    return cast(User, request.user)


def listing_filters(request: HttpRequest, data: QueryDict) -> LeadFilterSet:
    """The listing's filters as ``request.user`` has them, reading ``data``."""
    return LeadFilterSet(data, Lead.objects.none(), request=request)


def usable_query(request: HttpRequest, data: QueryDict, kind: str) -> tuple[str, list[str]]:
    """The filters, search and sort of ``data`` that ``request.user``'s own listing accepts, as a view's
    query, and the labels of the filters it refuses (a person or a brand they cannot choose), left out."""
    form = listing_filters(request, data).form
    refused: set[str] = set()
    labels: list[str] = []
    if not form.is_valid():
        for name in form.errors:
            if name in form.fields:
                refused.update(saved_views.field_params(name, form.fields[name]))
                labels.append(str(form.fields[name].label))
    names = saved_views.param_names(form, kind) - refused
    return saved_views.normalise_query(data, names), labels


def open_view(request: HttpRequest, view: SavedView) -> HttpResponse:
    query, refused = usable_query(request, QueryDict(view.query), view.kind)
    if refused:
        messages.warning(
            request,
            _("Some filters of “%(view)s” do not apply to you and were left out: %(filters)s.")
            % {"view": view.name, "filters": ", ".join(refused)},
        )
    return redirect(kind_url(view.kind, query))


def sort_label(ordering: str) -> str:
    key = ordering.removeprefix("-")
    column = next(
        (
            str(field.listing.label or field.heading)
            for field in lead_fields.listing_fields()
            if field.listing and field.listing.sort_key == key
        ),
        key,
    )
    return _("%(column)s, descending") % {"column": column} if ordering.startswith("-") else column


def describe(request: HttpRequest, query: str, kind: str) -> list[tuple[str, str]]:
    """What ``query`` shows, as the listing's filter pills say it: (label, value) pairs."""
    data = QueryDict(query)
    filters = listing_filters(request, data)
    form = filters.form
    form.is_valid()
    rows: list[tuple[str, str]] = []
    for name in form.changed_data:
        if name not in form.cleaned_data or name not in filters.filters:
            continue
        declared = filters.filters[name]
        adapter = filter_adapter_class_registry.get(declared)(
            declared, form[name], form.cleaned_data[name], "", data
        )
        rows += [(str(active.field_label), str(active.value)) for active in adapter.get_active_filters()]
    if data.get(saved_views.SEARCH_PARAM):
        rows.append((_("Search"), data[saved_views.SEARCH_PARAM]))
    if kind == Kind.LISTING and data.get(saved_views.ORDERING_PARAM):
        rows.append((_("Sort"), sort_label(data[saved_views.ORDERING_PARAM])))
    return rows


class ViewsAdminMixin(WagtailAdminTemplateMixin):
    """The pages of saved views: for people with a lead listing, under Leads › Views."""

    header_icon = "view"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        viewer(request)
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [
            *self.breadcrumbs_items,
            {"url": reverse("crm_leads:list"), "label": _("Leads")},
            {"url": reverse("crm_leads:views"), "label": pgettext("saved views", "Views")},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["action_url"] = self.request.get_full_path()
        return context


class SavedViewPage(ViewsAdminMixin, FormView):
    """The form naming and sharing a view; a refusal of ``crm.saved_views`` becomes a form error."""

    form_class = SavedViewForm
    template_name = "crm/saved_views/form.html"
    success_message: StrOrPromise = ""

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "user": self.request.user}

    def save(self, data: dict[str, Any]) -> SavedView:
        raise NotImplementedError

    def form_valid(self, form: SavedViewForm) -> HttpResponse:
        data = {"brands": [], **form.cleaned_data}
        try:
            view = self.save(data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.form_invalid(form)
        messages.success(self.request, self.success_message % {"view": view.name})
        return redirect(reverse("crm_leads:view_open", args=[view.pk]))


class SaveView(SavedViewPage):
    """GET: the form, with what the view will show; POST: saves it and opens it. The query string is
    the listing's or the board's on screen; only its filters (those the listing accepts), search and
    sort are kept."""

    page_title = gettext_lazy("Save this view")
    success_message = gettext_lazy("View “%(view)s” saved.")

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        if kwargs["kind"] not in Kind.values:
            raise Http404
        self.kind = kwargs["kind"]

    @cached_property
    def query(self) -> str:
        return usable_query(self.request, self.request.GET, self.kind)[0]

    def save(self, data: dict[str, Any]) -> SavedView:
        return saved_views.save_view(
            viewer(self.request),
            name=data["name"],
            kind=self.kind,
            query=self.query,
            visibility=data["visibility"],
            brands=data["brands"],
            make_default=data["make_default"],
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            **super().get_context_data(**kwargs),
            "kind": Kind(self.kind).label,
            "filters_shown": describe(self.request, self.query, self.kind),
            "back_url": kind_url(self.kind, self.query),
        }


class EditView(SavedViewPage):
    """Rename and reshare one's own view; choose whether the "Leads" menu opens it."""

    page_title = gettext_lazy("Change the view")
    success_message = gettext_lazy("View “%(view)s” changed.")

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self.view = get_object_or_404(saved_views.editable_views(viewer(request)), pk=kwargs["pk"])

    def get_page_subtitle(self) -> str:
        return self.view.name

    def get_initial(self) -> dict[str, Any]:
        default = saved_views.default_for(viewer(self.request))
        return {
            "name": self.view.name,
            "visibility": self.view.visibility,
            "brands": list(self.view.brands.all()),
            "make_default": default is not None and default.is_view(self.view),
        }

    def save(self, data: dict[str, Any]) -> SavedView:
        user = viewer(self.request)
        view = saved_views.update_view(
            self.view, user, name=data["name"], visibility=data["visibility"], brands=data["brands"]
        )
        if data["make_default"]:
            saved_views.set_default(user, view=view)
        elif self.get_initial()["make_default"]:
            saved_views.clear_default(user)
        return view

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            **super().get_context_data(**kwargs),
            "kind": self.view.get_kind_display(),
            "filters_shown": describe(self.request, self.view.query, self.view.kind),
            "back_url": reverse("crm_leads:views"),
        }


class DeleteView(ViewsAdminMixin, TemplateView):
    """GET: asks; POST: deletes. One's own view, or (admins) any shared view."""

    template_name = "crm/saved_views/delete.html"
    page_title = gettext_lazy("Delete the view")
    http_method_names = ["get", "post"]

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self.view = get_object_or_404(saved_views.deletable_views(viewer(request)), pk=kwargs["pk"])

    def get_page_subtitle(self) -> str:
        return self.view.name

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        name = self.view.name
        saved_views.delete_view(self.view, viewer(request))
        messages.success(request, _("View “%(view)s” deleted.") % {"view": name})
        return redirect("crm_leads:views")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "view": self.view}


class ManageView(ViewsAdminMixin, TemplateView):
    """Every view the person may open: built-in, their own, shared with them; and what is their default."""

    template_name = "crm/saved_views/index.html"
    page_title = pgettext_lazy("saved views", "Views")

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [
            *self.breadcrumbs_items,
            {"url": reverse("crm_leads:list"), "label": _("Leads")},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = viewer(self.request)
        default = saved_views.default_for(user)
        deletable = set(saved_views.deletable_views(user).values_list("pk", flat=True))
        own: list[dict[str, Any]] = []
        shared: list[dict[str, Any]] = []
        for view in saved_views.views_for(user).prefetch_related("brands").order_by("name", "kind", "pk"):
            row = {
                "view": view,
                "url": reverse("crm_leads:view_open", args=[view.pk]),
                "is_default": default is not None and default.is_view(view),
                "may_delete": view.pk in deletable,
                "shared_with": ", ".join(brand.name for brand in view.brands.all())
                if view.visibility == SavedView.Visibility.BRAND
                else view.get_visibility_display(),
            }
            (own if view.owner_id == user.pk else shared).append(row)
        builtins = [
            {
                "view": builtin,
                "url": kind_url(Kind.LISTING, builtin.query_for(Kind.LISTING)),
                "board_url": kind_url(Kind.BOARD, builtin.query_for(Kind.BOARD)),
                "is_default": default is not None and default.is_builtin(builtin, Kind.LISTING),
            }
            for builtin in saved_views.builtin_views_for(user)
        ]
        return {
            **super().get_context_data(**kwargs),
            "own": own,
            "shared": shared,
            "builtins": builtins,
            "default": default,
            "default_url": reverse("crm_leads:view_default"),
            "next_url": reverse("crm_leads:views"),
        }


class DefaultViewChoice(View):
    """POST ``view`` (a view the person may open), or ``builtin`` (and ``kind``), or ``clear``: what the
    "Leads" menu opens. A view they may not open is a 404; a built-in one they are not offered, a 400."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        user = viewer(request)
        if request.POST.get("clear"):
            saved_views.clear_default(user)
            messages.success(request, _("The Leads menu opens the suggested view again."))
        elif request.POST.get("view"):
            pk = request.POST["view"]
            if not pk.isdigit() or len(pk) > 18:
                raise Http404
            view = get_object_or_404(saved_views.views_for(user), pk=int(pk))
            saved_views.set_default(user, view=view)
            messages.success(request, _("The Leads menu now opens “%(view)s”.") % {"view": view.name})
        else:
            try:
                chosen = saved_views.set_default(
                    user,
                    builtin=request.POST.get("builtin", ""),
                    kind=request.POST.get("kind", Kind.LISTING),
                )
            except ValidationError as error:
                return HttpResponseBadRequest(" ".join(error.messages))
            builtin = saved_views.builtin_view(user, chosen.builtin)
            label = builtin.label if builtin else chosen.builtin
            messages.success(request, _("The Leads menu now opens “%(view)s”.") % {"view": label})
        return redirect(get_valid_next_url_from_request(request) or reverse("crm_leads:views"))


@require_GET
def open_saved_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The listing or board of a view the person may open, with the filters that apply to them."""
    return open_view(request, get_object_or_404(saved_views.views_for(viewer(request)), pk=pk))


@require_GET
def open_default_view(request: HttpRequest) -> HttpResponse:
    """Where the "Leads" menu goes: the person's default view, else their role's built-in view."""
    default = saved_views.default_for(viewer(request))
    assert default is not None
    if default.view is not None:
        return open_view(request, default.view)
    assert default.builtin is not None
    return redirect(kind_url(default.kind, default.builtin.query_for(default.kind)))
