"""The default site gets a name (the admin dashboard and page chooser showed its hostname, "localhost")."""

from django.conf import settings
from django.db import migrations


def name_sites(apps, schema_editor):
    Site = apps.get_model("wagtailcore", "Site")
    Site.objects.filter(site_name="").update(site_name=settings.WAGTAIL_SITE_NAME)


class Migration(migrations.Migration):
    dependencies = [("home", "0004_marketing_page_permissions"), ("wagtailcore", "0046_site_name_remove_null")]

    operations = [migrations.RunPython(name_sites, migrations.RunPython.noop)]
