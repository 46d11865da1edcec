from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    """Spreadsheet imports: CSV and XLSX files brought in as leads through the crm intake."""

    name = "imports"
    verbose_name = _("Imports")
    default_auto_field = "django.db.models.BigAutoField"
