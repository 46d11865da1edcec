"""The personal-data request page: export (JSON or a readable document) or erase a person's data."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from wagtail.admin import messages

from . import services
from .export import Section, as_json, readable
from .forms import ERASE, EXPORT_JSON, RequestForm
from .subjects import SubjectError


@require_http_methods(["GET", "POST"])
def request_view(request: HttpRequest) -> HttpResponse:
    if not services.may_manage(request.user):
        raise PermissionDenied
    initial = {}
    lead = request.GET.get("lead", "")
    if lead.isdigit() and len(lead) < 19:
        initial = {"subject_kind": "lead", "subject": lead}
    form = RequestForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        kind, value, action = (form.cleaned_data[name] for name in ("subject_kind", "subject", "action"))
        try:
            if action == ERASE:
                done = services.erase_person(kind, value, request.user)  # type: ignore[arg-type]
                messages.success(
                    request,
                    _("Erased: %(count)s lead(s) and everything they held.") % {"count": len(done.lead_ids)},
                )
                return redirect("privacy_request:inspect", done.pk)
            logged, sections = services.export_person(kind, value, request.user)  # type: ignore[arg-type]
        except SubjectError:
            form.add_error("subject", _("No lead has this number."))
        except PermissionDenied as error:
            form.add_error(None, str(error) or _("You may not act on this person."))
        else:
            return _download(logged.pk, sections, action == EXPORT_JSON)
    return TemplateResponse(
        request, "privacy/request.html", {"form": form, "title": _("Personal data request")}
    )


def _download(number: int, sections: dict[str, Section], as_json_file: bool) -> HttpResponse:
    stamp = timezone.localdate().isoformat()
    if as_json_file:
        response = HttpResponse(as_json(sections), content_type="application/json; charset=utf-8")
        name = f"personal-data-{number}-{stamp}.json"
    else:
        html = render_to_string(
            "privacy/document.html", {"sections": readable(sections), "number": number, "day": stamp}
        )
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
        name = f"personal-data-{number}-{stamp}.html"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
