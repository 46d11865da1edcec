"""Alert rules get a Spanish name, shown to people who use the admin in Spanish; the demo rules get theirs."""

from django.db import migrations, models

DEMO_SPANISH_NAMES = {
    "New leads to the brand managers": "Leads nuevos a los gerentes de la marca",
    "Leads assigned to me": "Leads que me asignan",
    "Unassigned for 30 minutes": "Sin asignar durante 30 minutos",
    "Not contacted 4 hours after assignment": "Sin contactar 4 horas después de asignado",
    "Stale leads (weekly look)": "Leads estancados (revisión semanal)",
    "WordPress source failing": "Origen de WordPress con fallas",
}


def name_demo_rules_in_spanish(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    for name, name_es in DEMO_SPANISH_NAMES.items():
        AlertRule.objects.filter(name=name, name_es="").update(name_es=name_es)


class Migration(migrations.Migration):
    dependencies = [("alerts", "0004_created_at_database_default")]

    operations = [
        migrations.AddField(
            model_name="alertrule",
            name="name_es",
            field=models.CharField(
                blank=True,
                help_text="Shown to people who use the admin in Spanish; blank: the name above.",
                max_length=150,
                verbose_name="name (Spanish)",
            ),
        ),
        migrations.RunPython(name_demo_rules_in_spanish, migrations.RunPython.noop),
    ]
