"""PostgreSQL only (nothing happens on SQLite): what the compared dashboards read, from indexes alone.

- ``dashboards_lead_status_submitted_cover``: the period's leads status by status, with what the pipeline
  and campaign figures read (status age, last activity, the dimensions and the filters' columns). The
  status distribution reads it already grouped by status (no sort before the percentiles), the funnel reads
  only the leads of the statuses it asks about, the campaign medians only the won leads.
- ``dashboards_lead_won_submitted_cover`` and ``dashboards_lead_won_on_cover``: the leads with a won
  amount, by submission time (campaign revenue) and by day won (won revenue, per person), with the amount,
  its currency and day and the filters' columns: no visit to a table page per won deal.
"""

from django.db import migrations

FILTERED = '"brand_id", "service_id", "source_id", "campaign_id", "assignee_id"'
INDEXES = {
    "dashboards_lead_status_submitted_cover": (
        '("status_id", "submitted_at") INCLUDE ("id", "status_changed_at", "last_activity_at", '
        f'{FILTERED}, "utm_source", "utm_medium", "utm_campaign")'
    ),
    "dashboards_lead_won_submitted_cover": (
        '("submitted_at") INCLUDE ("won_amount", "won_currency", "won_on", "status_id", '
        f'{FILTERED}, "utm_source", "utm_medium", "utm_campaign") WHERE "won_amount" IS NOT NULL'
    ),
    "dashboards_lead_won_on_cover": (
        '("won_on") INCLUDE ("won_amount", "won_currency", "status_id", '
        f'{FILTERED}) WHERE "won_amount" IS NOT NULL'
    ),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, definition in INDEXES.items():
            schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "crm_lead" {definition}')
        schema_editor.execute("ANALYZE crm_lead")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0010_team_day_indexes"), ("crm", "0069_money_on_the_pipeline")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
