from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = _("Dashboards")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.backends.signals import connection_created

        from crm import lead_flags as crm_lead_flags
        from crm.signals import lead_event_recorded, lead_events_recorded

        from . import lead_flags, rollup
        from .sql import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="dashboards_sqlite_functions")
        lead_event_recorded.connect(rollup.on_event, dispatch_uid="dashboards_rollup_event")
        lead_events_recorded.connect(rollup.on_events, dispatch_uid="dashboards_rollup_events")
        crm_lead_flags.register("dashboards", lead_flags.lead_flags)
