from django.db import migrations

SERVICES = {
    "intralog": ["Almacenamiento y depósito", "Transporte", "Comercio exterior"],
    "intrapal": ["Compra de pallets", "Alquiler de pallets", "Pallets a medida"],
}

SPAM_WORDS = (
    r"\b(viagra|cialis|casino|bitcoin|crypto(currency)?|forex|backlinks?|seo (services|agency)"
    r"|porn|sex dating|loan offer|guest post)\b"
)

# name, order, conditions, status key, tags
RULES = [
    (
        "Job seeker or vendor",
        10,
        {"field": "service_text", "match": "regex", "pattern": r"busco\s*trabajo\s*/\s*ofrezco\s+productos\s+o\s+servicios"},
        "negative",
        "job_seeker_or_vendor",
    ),
    ("Link spam", 20, {"min_links": 3}, "negative", "spam"),
    ("Spam keywords", 30, {"field": "message", "match": "regex", "pattern": SPAM_WORDS}, "negative", "spam"),
]


def seed(apps, schema_editor):
    Brand = apps.get_model("crm", "Brand")
    Service = apps.get_model("crm", "Service")
    PipelineStatus = apps.get_model("crm", "PipelineStatus")
    ClassificationRule = apps.get_model("crm", "ClassificationRule")
    for code, names in SERVICES.items():
        brand = Brand.objects.filter(code=code).first()
        if brand is None:
            continue
        for name in names:
            Service.objects.update_or_create(brand=brand, name=name, defaults={"form_option": name})
    for name, order, conditions, status_key, tags in RULES:
        ClassificationRule.objects.update_or_create(
            name=name,
            defaults={
                "order": order,
                "set_status": PipelineStatus.objects.filter(key=status_key).first(),
                "add_tags": tags,
                "skip_alerts": True,
                "stop_processing": True,
                **conditions,
            },
        )


def unseed(apps, schema_editor):
    ClassificationRule = apps.get_model("crm", "ClassificationRule")
    Service = apps.get_model("crm", "Service")
    ClassificationRule.objects.filter(name__in=[rule[0] for rule in RULES]).delete()
    for code, names in SERVICES.items():
        Service.objects.filter(brand__code=code, name__in=names, leads__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("crm", "0003_lead_rules_and_merge")]

    operations = [migrations.RunPython(seed, unseed)]
