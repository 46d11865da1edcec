from django.db import migrations

from crm.roles import apply_role_permissions

BRANDS = [("intralog", "INTRALOG"), ("intrapal", "INTRAPAL")]

SOURCES = [
    ("web_form", "Web form"),
    ("wordpress", "WordPress"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("whatsapp", "WhatsApp"),
    ("referral", "Referral"),
    ("walk_in", "Walk-in"),
    ("other", "Other"),
]

# key, English label, Spanish label (as users knew it), stage, colour
STATUSES = [
    ("pending", "Pending", "Pendiente", "new", "#6b7280"),
    ("assigned", "Assigned", "Asignado", "open", "#0ea5e9"),
    ("contacted", "Contacted", "Contactado", "open", "#2563eb"),
    ("to_quote", "To quote", "Falta cotizar", "open", "#7c3aed"),
    ("quoted", "Quoted", "Cotizado", "open", "#9333ea"),
    ("interested", "Interested in going ahead", "Interesados en avanzar", "open", "#d97706"),
    ("won", "Won", "Gestión exitosa", "won", "#16a34a"),
    ("postponed", "Postponed", "Pospuesto", "open", "#a16207"),
    ("not_advanced", "Did not advance", "No avanzó", "lost", "#b91c1c"),
    ("not_viable", "Not viable", "No viable", "lost", "#7f1d1d"),
    ("new_client", "New client", "Nuevo cliente", "won", "#15803d"),
    ("negative", "Negative", "Negativo", "junk", "#374151"),
]


def seed(apps, schema_editor):
    Brand = apps.get_model("crm", "Brand")
    Source = apps.get_model("crm", "Source")
    PipelineStatus = apps.get_model("crm", "PipelineStatus")
    Group = apps.get_model("auth", "Group")
    for code, name in BRANDS:
        Brand.objects.update_or_create(code=code, defaults={"name": name})
    for key, name in SOURCES:
        Source.objects.update_or_create(key=key, defaults={"name": name})
    for order, (key, label, label_es, stage, colour) in enumerate(STATUSES, start=1):
        PipelineStatus.objects.update_or_create(
            key=key,
            defaults={"label": label, "label_es": label_es, "stage": stage, "colour": colour, "order": order * 10},
        )
    # Wagtail's sample groups would sit beside the roles and confuse them.
    Group.objects.filter(name__in=["Moderators", "Editors"]).delete()
    apply_role_permissions(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0001_initial"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
        ("wagtailimages", "0002_initial_data"),
        ("wagtaildocs", "0002_initial_data"),
        ("axes", "0001_initial"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
