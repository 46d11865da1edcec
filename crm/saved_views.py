"""Saved views of the lead listing and board: who may save, share, open, rename and delete them, the
built-in views each role is offered, and the default view each person's "Leads" menu opens.

A view is only a query string (filters, search, sort); the listing and the board always start from
``crm.access.leads_for`` of the person opening it, so a view shared with someone never shows them a
lead they could not see anyway. Sharing: employees keep their views to themselves, managers may share
with the people (managers and employees) of their brands, admins with those of any brand or with everyone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrOrPromise

from .access import brand_ids
from .agenda import OVERDUE
from .brand_scope import brands_managed_by
from .filters import ASSIGNEE_MINE, ASSIGNEE_UNASSIGNED, CONTACTED_NO, STAGE_ACTIVE
from .models import Brand, DefaultView, Role, SavedView, User

Kind = SavedView.Kind
Visibility = SavedView.Visibility

SEARCH_PARAM = "q"
ORDERING_PARAM = "ordering"
MAX_QUERY = SavedView._meta.get_field("query").max_length or 2000
MAX_NAME = SavedView._meta.get_field("name").max_length or 80

SHARING: dict[str, tuple[str, ...]] = {
    Role.ADMIN: (Visibility.PRIVATE, Visibility.BRAND, Visibility.EVERYONE),
    Role.MANAGER: (Visibility.PRIVATE, Visibility.BRAND),
    Role.EMPLOYEE: (Visibility.PRIVATE,),
}
"""How each role may share the views it saves (marketing works no leads and saves none)."""


@dataclass(frozen=True)
class BuiltinView:
    """A view every person of ``roles`` is offered, on the listing and on the board."""

    key: str
    label: StrOrPromise
    query: str
    roles: frozenset[str]

    def query_for(self, kind: str) -> str:
        """The query as ``kind`` opens it: the board has no sort."""
        if kind == Kind.LISTING:
            return self.query
        data = QueryDict(self.query, mutable=True)
        data.pop(ORDERING_PARAM, None)
        return data.urlencode()


_WORKERS = frozenset({Role.ADMIN, Role.MANAGER, Role.EMPLOYEE})
_MANAGEMENT = frozenset({Role.ADMIN, Role.MANAGER})

BUILTIN_VIEWS: tuple[BuiltinView, ...] = (
    BuiltinView(
        "my-open",
        gettext_lazy("My open leads by next action"),
        f"assignee={ASSIGNEE_MINE}&ordering=next_action_at&stage={STAGE_ACTIVE}",
        frozenset({Role.EMPLOYEE, Role.MANAGER}),
    ),
    BuiltinView("open", gettext_lazy("Open leads, newest first"), f"stage={STAGE_ACTIVE}", _MANAGEMENT),
    BuiltinView(
        "unassigned",
        gettext_lazy("Unassigned open leads"),
        f"assignee={ASSIGNEE_UNASSIGNED}&stage={STAGE_ACTIVE}",
        _MANAGEMENT,
    ),
    BuiltinView(
        "overdue",
        gettext_lazy("Overdue follow-ups, most overdue first"),
        f"next_action={OVERDUE}&ordering=next_action_at",
        _WORKERS,
    ),
    BuiltinView(
        "not-contacted",
        gettext_lazy("Not contacted yet, oldest first"),
        f"contacted={CONTACTED_NO}&ordering=submitted_at&stage={STAGE_ACTIVE}",
        _WORKERS,
    ),
    BuiltinView("all", gettext_lazy("All leads"), "", _WORKERS),
)

ROLE_DEFAULTS: dict[str, str] = {Role.EMPLOYEE: "my-open", Role.MANAGER: "open", Role.ADMIN: "open"}
"""The built-in view each role's "Leads" menu opens until the person chooses another."""


@dataclass(frozen=True)
class DefaultChoice:
    """What a person's "Leads" menu opens: a saved view, or a built-in view as ``kind``."""

    kind: str
    view: SavedView | None = None
    builtin: BuiltinView | None = None
    chosen: bool = False
    """Whether the person chose it (else it is their role's)."""

    @property
    def label(self) -> StrOrPromise:
        return self.view.name if self.view else self.builtin.label if self.builtin else ""

    def is_view(self, view: SavedView) -> bool:
        return self.view is not None and self.view.pk == view.pk

    def is_builtin(self, builtin: BuiltinView, kind: str) -> bool:
        return self.builtin is not None and self.builtin.key == builtin.key and self.kind == kind


# Who -----------------------------------------------------------------------------------------------------


def works_leads(user: Any) -> bool:
    """Whether ``user`` has a lead listing and board, and so saved views."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.role in _WORKERS)


def visibilities_for(user: User) -> tuple[str, ...]:
    """How ``user`` may share a view they save."""
    return SHARING.get(user.role, ()) if works_leads(user) else ()


def shareable_brands(user: User) -> QuerySet[Brand]:
    """The brands whose team ``user`` may share a view with."""
    if Visibility.BRAND not in visibilities_for(user):
        return Brand.objects.none()
    return brands_managed_by(user)


def builtin_views_for(user: User) -> list[BuiltinView]:
    if not works_leads(user):
        return []
    return [view for view in BUILTIN_VIEWS if user.role in view.roles]


def builtin_view(user: User, key: str) -> BuiltinView | None:
    return next((view for view in builtin_views_for(user) if view.key == key), None)


def views_for(user: User, kind: str | None = None) -> QuerySet[SavedView]:
    """The saved views ``user`` may open: their own, those shared with a brand of theirs (by a manager or
    an admin) and those an admin shared with everyone. Admins also see every view shared with a brand."""
    if not works_leads(user):
        return SavedView.objects.none()
    for_everyone = Q(visibility=Visibility.EVERYONE, owner__role=Role.ADMIN)
    for_brands = Q(visibility=Visibility.BRAND, owner__role__in=sorted(_MANAGEMENT))
    if user.role != Role.ADMIN:
        links = SavedView.brands.through.objects.filter(
            savedview_id=OuterRef("pk"), brand_id__in=sorted(brand_ids(user))
        )
        for_brands &= Q(Exists(links))
    views = SavedView.objects.filter(Q(owner=user) | for_everyone | for_brands).select_related("owner")
    return views.filter(kind=kind) if kind else views


def editable_views(user: User) -> QuerySet[SavedView]:
    """The views ``user`` may rename and reshare: their own."""
    return views_for(user).filter(owner=user)


def deletable_views(user: User) -> QuerySet[SavedView]:
    """The views ``user`` may delete: their own; for admins also every shared view they see."""
    views = views_for(user)
    if works_leads(user) and user.role == Role.ADMIN:
        return views.filter(Q(owner=user) | ~Q(visibility=Visibility.PRIVATE))
    return views.filter(owner=user)


# The query -----------------------------------------------------------------------------------------------


def field_params(name: str, field: Any) -> list[str]:
    """The query parameters a filter form field reads: its name, or its name with each suffix of a
    suffixed widget (a date range's ``submitted_from`` and ``submitted_to``)."""
    suffixes = getattr(field.widget, "suffixes", None)
    return [f"{name}_{suffix}" if suffix else name for suffix in suffixes] if suffixes else [name]


def param_names(form: Any, kind: str) -> frozenset[str]:
    """The parameters a view of ``kind`` keeps: the filter form's, the search and (listing) the sort."""
    names = {SEARCH_PARAM}
    if kind == Kind.LISTING:
        names.add(ORDERING_PARAM)
    for name, field in form.fields.items():
        names.update(field_params(name, field))
    return frozenset(names)


def normalise_query(data: QueryDict, names: Iterable[str]) -> str:
    """The parameters of ``data`` that ``names`` holds, without empty values, in a stable order: two
    requests of the same filters give the same string, whatever order their parameters came in."""
    keep = frozenset(names)
    pairs = sorted(
        (key, value)
        for key in data.keys()  # noqa: SIM118 - a QueryDict's keys, each with all its values
        if key in keep
        for value in data.getlist(key)
        if value.strip()
    )
    query = QueryDict(mutable=True)
    for key, value in pairs:
        query.appendlist(key, value)
    return query.urlencode()


# Saving, renaming, deleting ------------------------------------------------------------------------------


def _names_taken(owner: User, kind: str, view: SavedView | None) -> set[str]:
    """The names of ``owner``'s other views of ``kind``, case folded (in Python: SQLite folds ASCII only)."""
    others = SavedView.objects.filter(owner=owner, kind=kind)
    if view is not None:
        others = others.exclude(pk=view.pk)
    return {name.casefold() for name in others.values_list("name", flat=True)}


def _clean(
    owner: User,
    *,
    name: str,
    kind: str,
    visibility: str,
    brands: Iterable[Brand],
    query: str,
    view: SavedView | None = None,
) -> tuple[str, list[Brand]]:
    errors: dict[str, str] = {}
    name = " ".join(name.split())
    if not name:
        errors["name"] = _("Give the view a name.")
    elif len(name) > MAX_NAME:
        errors["name"] = _("A view's name has at most %(count)d characters.") % {"count": MAX_NAME}
    elif name.casefold() in _names_taken(owner, kind, view):
        errors["name"] = _("You already have a view called “%(name)s”.") % {"name": name}
    if kind not in Kind.values:
        errors["kind"] = _("A view opens as a listing or a board.")
    if len(query) > MAX_QUERY:
        errors["query"] = _("These filters are too many to save as a view.")
    chosen: list[Brand] = []
    if visibility not in visibilities_for(owner):
        errors["visibility"] = _("You may not share a view that way.")
    elif visibility == Visibility.BRAND:
        chosen = list(brands)
        allowed = set(shareable_brands(owner).values_list("pk", flat=True))
        if not chosen:
            errors["brands"] = _("Choose the brands whose team sees the view.")
        elif any(brand.pk not in allowed for brand in chosen):
            errors["brands"] = _("You may share views only with the teams of your brands.")
    if errors:
        raise ValidationError(errors)
    return name, chosen


def save_view(
    owner: User,
    *,
    name: str,
    kind: str,
    query: str,
    visibility: str = Visibility.PRIVATE,
    brands: Iterable[Brand] = (),
    make_default: bool = False,
) -> SavedView:
    """A new view of ``owner``'s. ``query`` is what ``normalise_query`` made of the listing's request."""
    if not works_leads(owner):
        raise PermissionDenied(_("You have no lead listing to save views of."))
    name, chosen = _clean(owner, name=name, kind=kind, visibility=visibility, brands=brands, query=query)
    with transaction.atomic():
        view = SavedView.objects.create(owner=owner, name=name, kind=kind, query=query, visibility=visibility)
        view.brands.set(chosen)
        if make_default:
            set_default(owner, view=view)
    return view


def update_view(
    view: SavedView,
    actor: User,
    *,
    name: str,
    visibility: str,
    brands: Iterable[Brand] = (),
) -> SavedView:
    """Renames and reshares ``view``; only its owner may."""
    if view.owner_id != actor.pk or not works_leads(actor):
        raise PermissionDenied(_("Only its owner may change a view."))
    name, chosen = _clean(
        actor, name=name, kind=view.kind, visibility=visibility, brands=brands, query=view.query, view=view
    )
    with transaction.atomic():
        view.name, view.visibility = name, visibility
        view.save(update_fields=["name", "visibility", "updated_at"])
        view.brands.set(chosen)
    return view


def may_delete(user: User, view: SavedView) -> bool:
    if not works_leads(user):
        return False
    return view.owner_id == user.pk or (user.role == Role.ADMIN and view.is_shared)


def delete_view(view: SavedView, actor: User) -> None:
    """Deletes ``view``: its owner may, and an admin may delete any shared view."""
    if not may_delete(actor, view):
        raise PermissionDenied(_("You may not delete this view."))
    view.delete()


# The default view ----------------------------------------------------------------------------------------


def set_default(
    user: User, *, view: SavedView | None = None, builtin: str = "", kind: str = Kind.LISTING
) -> DefaultView:
    """Makes ``view`` (one ``user`` may open) or the built-in view ``builtin`` (as ``kind``) what
    ``user``'s "Leads" menu opens."""
    if view is not None:
        if not views_for(user).filter(pk=view.pk).exists():
            raise PermissionDenied(_("You cannot open this view."))
        values = {"saved_view": view, "builtin": "", "kind": view.kind}
    else:
        if builtin_view(user, builtin) is None:
            raise ValidationError(_("There is no such built-in view."))
        if kind not in Kind.values:
            raise ValidationError(_("A view opens as a listing or a board."))
        values = {"saved_view": None, "builtin": builtin, "kind": kind}
    chosen, _created = DefaultView.objects.update_or_create(user=user, defaults=values)
    return chosen


def clear_default(user: User) -> None:
    """Back to the role's built-in view."""
    DefaultView.objects.filter(user=user).delete()


def default_for(user: User) -> DefaultChoice | None:
    """What ``user``'s "Leads" menu opens: the view they chose while they may still open it, else their
    role's built-in view as a listing. None for people without a lead listing."""
    if not works_leads(user):
        return None
    chosen = DefaultView.objects.filter(user=user).select_related("saved_view__owner").first()
    if chosen is not None:
        if chosen.saved_view_id is not None:
            if views_for(user).filter(pk=chosen.saved_view_id).exists():
                return DefaultChoice(chosen.kind, view=chosen.saved_view, chosen=True)
        elif (builtin := builtin_view(user, chosen.builtin)) is not None:
            return DefaultChoice(chosen.kind, builtin=builtin, chosen=True)
    builtin = builtin_view(user, ROLE_DEFAULTS[user.role])
    return DefaultChoice(Kind.LISTING, builtin=builtin)
