"""The admin page (admins only) that starts an import of the old Leads Manager and shows each run's report."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.models import Role

from .models import LegacyImport
from .reader import SQLITE_HEADER
from .services import configured_url, describe_url, start_import


def is_admin(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and getattr(user, "role", "") == Role.ADMIN)


class StartImportForm(forms.Form):
    database = forms.FileField(
        label=gettext_lazy("The old app's SQLite file"),
        required=False,
        help_text=gettext_lazy("Its db.sqlite3. Leave empty to read the configured database instead."),
    )
    dry_run = forms.BooleanField(
        label=gettext_lazy("Dry run: only report what the import would do"), required=False, initial=True
    )

    def clean_database(self) -> Any:
        upload = self.cleaned_data.get("database")
        if upload is None:
            if not configured_url():
                raise forms.ValidationError(
                    _("Upload the old app's SQLite file (no old database is configured on the server).")
                )
            return None
        if upload.size > settings.LEGACY_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than this server accepts."))
        head = upload.read(len(SQLITE_HEADER))
        upload.seek(0)
        if head != SQLITE_HEADER:
            raise forms.ValidationError(_("This is not an SQLite database file."))
        return upload


def index(request: HttpRequest) -> HttpResponse:
    """Runs so far and the form that starts one."""
    if not is_admin(request.user):
        raise PermissionDenied
    posted = request.method == "POST"
    form = StartImportForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        upload = form.cleaned_data["database"]
        run = start_import(
            request.user,  # type: ignore[arg-type]
            upload=upload,
            name=upload.name if upload is not None else "",
            dry_run=form.cleaned_data["dry_run"],
        )
        messages.success(request, _("The import is under way; this page shows its report."))
        return redirect(reverse("legacy:run", args=[run.pk]))
    url = configured_url()
    return TemplateResponse(
        request,
        "legacy/index.html",
        {
            "form": form,
            "runs": LegacyImport.objects.select_related("started_by")[:50],
            "configured": describe_url(url) if url else "",
            "page_title": _("Old Leads Manager import"),
            "header_icon": "download",
        },
        status=400 if posted else 200,
    )


def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if not is_admin(request.user):
        raise PermissionDenied
    run = get_object_or_404(LegacyImport, pk=pk)
    return TemplateResponse(
        request,
        "legacy/run.html",
        {
            "run": run,
            "report": run.report,
            "working": run.state in (LegacyImport.State.QUEUED, LegacyImport.State.RUNNING),
            "page_title": _("Old Leads Manager import"),
            "header_icon": "download",
        },
    )
