"""An employee's extraction pages through their own leads: (assignee_id, updated_at, id), so a page reads
only their rows instead of walking everyone's in (updated_at, id) order."""

from django.db import migrations

INDEX = "api_lead_assignee_updated_keyset"


class Migration(migrations.Migration):
    dependencies = [("api", "0002_lead_keyset_index")]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON crm_lead (assignee_id, updated_at, id)",
            f"DROP INDEX IF EXISTS {INDEX}",
        )
    ]
