import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="DashboardSettings",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "sla_hours",
                    models.PositiveSmallIntegerField(
                        default=4,
                        help_text="A lead should be contacted within this many hours of being assigned.",
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(720),
                        ],
                        verbose_name="first-contact SLA (hours)",
                    ),
                ),
                (
                    "stale_days",
                    models.PositiveSmallIntegerField(
                        default=7,
                        help_text="An open lead with no activity for this many days counts as stale.",
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(365),
                        ],
                        verbose_name="stale after (days)",
                    ),
                ),
                (
                    "ranking_min_leads",
                    models.PositiveSmallIntegerField(
                        default=5,
                        help_text="Campaign rows with fewer leads are not marked best or worst.",
                        validators=[django.core.validators.MinValueValidator(1)],
                        verbose_name="minimum leads to rank",
                    ),
                ),
            ],
            options={
                "verbose_name": "dashboard settings",
                "verbose_name_plural": "dashboard settings",
                "permissions": [("view_dashboards", "Can view the management dashboards")],
            },
        ),
    ]
