"""Admin requests whose ids are not 64-bit integers are refused before a view hands them to the database.

Wagtail's admin views pass some ids on unchecked, so a crafted value was a server error:

- query parameters ``?id=`` (choosers' chosen-multiple, the admin API's ``find``, bulk actions) and
  ``?parent_page_id=`` (link choosers): a 400 (``id=all`` of bulk actions stays allowed);
- an integer path argument beyond 64 bits (``<int:...>`` accepts any number of digits): a 404;
- a ``<str:pk>`` path argument that is not a number, for a model whose primary key is one (the
  choosers' ``chosen/<pk>/``): a 404.
"""

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from django.core.exceptions import BadRequest
from django.db import models
from django.db.models.fields.related import RelatedField
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from wagtail.coreutils import resolve_model_string

INTEGER_PARAMETERS = ("id", "parent_page_id")
ALLOWED_WORDS = {"id": {"all"}}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def is_int64(value: str) -> bool:
    text = value.strip()
    if not text or len(text) > 20 or not text.isascii() or not text.lstrip("+-").isdigit():
        return False
    return INT64_MIN <= int(text) <= INT64_MAX


def _view_model(view_func: Callable[..., Any]) -> type[models.Model] | None:
    model = getattr(view_func, "view_initkwargs", {}).get("model")
    if model is None:
        model = getattr(getattr(view_func, "view_class", None), "model", None)
    if isinstance(model, str):
        try:
            model = resolve_model_string(model)
        except (LookupError, ValueError):
            return None
    return model if isinstance(model, type) and issubclass(model, models.Model) else None


def _has_integer_pk(view_func: Callable[..., Any]) -> bool:
    model = _view_model(view_func)
    if model is None:
        return False
    pk = model._meta.pk
    while isinstance(pk, RelatedField):  # a multi-table child's pk is its parent link
        pk = pk.target_field
    return isinstance(pk, models.IntegerField)


class AdminIntegerParametersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @cached_property
    def admin_prefix(self) -> str:
        return reverse("wagtailadmin_home")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(self.admin_prefix):
            for name in INTEGER_PARAMETERS:
                for value in request.GET.getlist(name):
                    if not is_int64(value) and value not in ALLOWED_WORDS.get(name, ()):
                        raise BadRequest(
                            _("The parameter “%(name)s” must be a whole number.") % {"name": name}
                        )
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        if not request.path.startswith(self.admin_prefix):
            return None
        for value in (*view_args, *view_kwargs.values()):
            if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
                raise Http404
        pk = view_kwargs.get("pk")
        if isinstance(pk, str) and not is_int64(unquote(pk)) and _has_integer_pk(view_func):
            raise Http404
        return None
