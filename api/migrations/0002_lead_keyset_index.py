"""The index the API's incremental extraction pages by: leads in (updated_at, id) order.

It lives on crm's table but belongs to the API, so it is plain SQL here (no model state changes)."""

from django.db import migrations

INDEX = "api_lead_updated_keyset"


class Migration(migrations.Migration):
    dependencies = [("api", "0001_initial")]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON crm_lead (updated_at, id)",
            f"DROP INDEX IF EXISTS {INDEX}",
        )
    ]
