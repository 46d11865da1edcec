"""The team rollup, business-hours SLA settings, and the indexes the faster dashboard queries read."""

import django.core.validators
from django.db import migrations, models


# PostgreSQL only (nothing happens on SQLite). The leads' period index also carries the UTM fields, so
# every per-period figure (campaign combinations included) is read from the index alone; assignments
# get their own; the funnel reads status events by time; the team page no longer reads raw events.
CREATE = {
    "dashboards_lead_period_cover": (
        "crm_lead",
        '("received_at") INCLUDE ("id", "brand_id", "service_id", "source_id", "campaign_id", "status_id", '
        '"assignee_id", "first_contacted_at", "assigned_at", "status_changed_at", "last_activity_at", '
        '"utm_source", "utm_medium", "utm_campaign")',
    ),
    "dashboards_lead_assigned_cover": (
        "crm_lead",
        '("assigned_at") INCLUDE ("id", "assignee_id", "brand_id", "service_id", "source_id", "campaign_id", '
        '"status_id") WHERE "assigned_at" IS NOT NULL',
    ),
    "dashboards_event_status_cover": (
        "crm_leadevent",
        '("created_at") INCLUDE ("lead_id", "to_value") WHERE "kind" IN (\'created\', \'status_changed\')',
    ),
}
REPLACED = {
    "dashboards_lead_received_cover": (
        "crm_lead",
        '("received_at") INCLUDE ("id", "brand_id", "service_id", "source_id", "campaign_id", "status_id", '
        '"assignee_id", "first_contacted_at", "assigned_at", "status_changed_at", "last_activity_at")',
    ),
    "dashboards_event_created_cover": (
        "crm_leadevent",
        '("created_at") INCLUDE ("id", "lead_id", "actor_id", "kind", "to_value")',
    ),
}


def _swap(schema_editor, create, drop):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in drop:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')
    for name, (table, columns) in create.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" {columns}')


def create_indexes(apps, schema_editor):
    _swap(schema_editor, CREATE, REPLACED)


def restore_indexes(apps, schema_editor):
    _swap(schema_editor, REPLACED, CREATE)


def fill_rollup(apps, schema_editor):
    from dashboards import rollup

    rollup.rebuild_person_days()


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0002_dashboard_covering_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="dashboardsettings",
            name="business_day_end",
            field=models.PositiveSmallIntegerField(
                default=18,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(24),
                ],
                verbose_name="business day closes at (hour)",
            ),
        ),
        migrations.AddField(
            model_name="dashboardsettings",
            name="business_day_start",
            field=models.PositiveSmallIntegerField(
                default=9,
                validators=[django.core.validators.MaxValueValidator(23)],
                verbose_name="business day opens at (hour)",
            ),
        ),
        migrations.AddField(
            model_name="dashboardsettings",
            name="sla_business_hours",
            field=models.BooleanField(
                default=False,
                help_text="Measure the first-contact SLA in business hours: Monday to Friday, between the opening and closing hours below (the site's time zone).",
                verbose_name="count only business hours",
            ),
        ),
        migrations.CreateModel(
            name="PersonDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("person_id", models.BigIntegerField()),
                ("brand_id", models.BigIntegerField()),
                ("service_id", models.BigIntegerField(default=0)),
                ("source_id", models.BigIntegerField(default=0)),
                ("campaign_id", models.BigIntegerField(default=0)),
                ("status_id", models.BigIntegerField()),
                ("activity", models.IntegerField(default=0)),
                ("contacted", models.IntegerField(default=0)),
                ("first_contacts", models.IntegerField(default=0)),
                ("quoted", models.IntegerField(default=0)),
                ("won", models.IntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "day",
                            "person_id",
                            "brand_id",
                            "service_id",
                            "source_id",
                            "campaign_id",
                            "status_id",
                        ),
                        name="dashboards_personday_key",
                    )
                ],
            },
        ),
        migrations.RunPython(create_indexes, restore_indexes, elidable=False),
        migrations.RunPython(fill_rollup, migrations.RunPython.noop, elidable=False),
    ]
