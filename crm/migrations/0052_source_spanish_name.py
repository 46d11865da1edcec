from django.db import migrations, models

SPANISH_NAMES = {
    "web_form": "Formulario web",
    "wordpress": "WordPress",
    "phone": "Teléfono",
    "email": "Correo electrónico",
    "whatsapp": "WhatsApp",
    "referral": "Recomendación",
    "walk_in": "Visita al local",
    "other": "Otro",
}


def name_sources_in_spanish(apps, schema_editor):
    Source = apps.get_model("crm", "Source")
    for source in Source.objects.filter(key__in=SPANISH_NAMES, name_es=""):
        source.name_es = SPANISH_NAMES[source.key]
        source.save(update_fields=["name_es"])


class Migration(migrations.Migration):
    dependencies = [("crm", "0051_lead_brand_listing_index")]

    operations = [
        migrations.AlterField(
            model_name="source",
            name="name",
            field=models.CharField(max_length=80, verbose_name="name (English)"),
        ),
        migrations.AddField(
            model_name="source",
            name="name_es",
            field=models.CharField(blank=True, max_length=80, verbose_name="name (Spanish)"),
        ),
        migrations.RunPython(name_sources_in_spanish, migrations.RunPython.noop),
    ]
