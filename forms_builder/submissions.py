"""Wagtail's list of a form's submissions, exported in Buenos Aires time like every other export."""

from wagtail.contrib.forms.views import SubmissionsListView

from crm.exports import LocalTimeExportMixin


class LeadFormSubmissionsListView(LocalTimeExportMixin, SubmissionsListView):
    time_columns = ("submit_time",)
