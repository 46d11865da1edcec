"""The retention page (admins only): what a run would do now, the periods, a run on demand, the runs' log."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django_stubs_ext import StrOrPromise
from wagtail.admin import messages

from core.jobs import enqueue
from crm.models import User

from . import runs
from .models import RetentionRun, RetentionSettings

RUNS_SHOWN = 30
PERMISSION = "retention.change_retentionsettings"


def may_manage(user: User) -> bool:
    """Whether ``user`` sees the retention page and starts runs: admins (who hold every permission)."""
    return bool(user.is_active and user.has_perm(PERMISSION))


def _counts(run: RetentionRun, labels: dict[str, StrOrPromise]) -> list[tuple[StrOrPromise, int]]:
    return [(labels.get(key, key), count) for key, count in (run.counts or {}).items()]


def retention_report(request: HttpRequest) -> HttpResponse:
    """GET: the dry-run report and the log; POST: queue a run now."""
    if not may_manage(request.user):  # type: ignore[arg-type]
        raise PermissionDenied
    if request.method == "POST":
        if runs.running() is not None:
            messages.warning(request, _("A retention run is under way; wait for it to finish."))
        else:
            enqueue("retention.jobs.apply_retention_for", request.user.pk, queue="low")
            messages.success(request, _("A retention run has been queued; it appears below when it starts."))
        return redirect("retention_report")
    settings = RetentionSettings.load(request_or_site=request)
    lines = runs.report(settings)
    labels = {line.key: line.label for line in lines}
    return TemplateResponse(
        request,
        "retention/report.html",
        {
            "page_title": _("Data retention"),
            "settings": settings,
            "lines": lines,
            "due_total": sum(line.due or 0 for line in lines),
            "runs": [
                (run, _counts(run, labels))
                for run in RetentionRun.objects.select_related("actor")[:RUNS_SHOWN]
            ],
            "running": runs.running(),
        },
    )
