"""The team rollup per day, person and brand (``PersonBrandDay``), filled from ``PersonDay``."""

from django.db import migrations, models

COUNTERS = ("activity", "contacted", "first_contacts", "quoted", "won")


def fill(apps, schema_editor):
    sums = ", ".join(f"SUM({name})" for name in COUNTERS)
    schema_editor.execute(
        f"INSERT INTO dashboards_personbrandday (day, person_id, brand_id, {', '.join(COUNTERS)}) "  # noqa: S608
        f"SELECT day, person_id, brand_id, {sums} FROM dashboards_personday GROUP BY day, person_id, brand_id"
    )


class Migration(migrations.Migration):

    dependencies = [
        ('dashboards', '0008_lead_assignee_submitted_cover'),
    ]

    operations = [
        migrations.CreateModel(
            name='PersonBrandDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('person_id', models.BigIntegerField()),
                ('brand_id', models.BigIntegerField()),
                ('activity', models.IntegerField(default=0)),
                ('contacted', models.IntegerField(default=0)),
                ('first_contacts', models.IntegerField(default=0)),
                ('quoted', models.IntegerField(default=0)),
                ('won', models.IntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('day', 'person_id', 'brand_id'), name='dashboards_personbrandday_key')],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
    ]
