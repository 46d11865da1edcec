"""Contact templates to start from: a WhatsApp message and an email per brand, in Spanish and English.

Admins and managers edit them in CRM settings → Contact templates. A template already there (same brand,
channel and language) is left as it is, so the migration can run again. A lead without a service reads
{service} as "our services" (``crm.contact``).
"""

from django.db import migrations

OFFER = {
    "intralog": {
        "es": "almacenamiento, transporte y comercio exterior",
        "en": "warehousing, transport and foreign trade",
    },
    "intrapal": {"es": "pallets nuevos y reciclados", "en": "new and recycled pallets"},
}


def texts(offer):
    """``{(channel, language): (subject, body)}``, naming the brand's ``offer`` when it has one."""
    es_offer = f" ({offer['es']})" if offer else ""
    en_offer = f" ({offer['en']})" if offer else ""
    return {
        ("whatsapp", "es"): (
            "",
            f"Hola {{name}}, te escribe {{rep}} de {{brand}}{es_offer}. Recibimos tu consulta sobre "
            "{service} y queremos ayudarte. ¿Cuándo te queda cómodo que hablemos?",
        ),
        ("whatsapp", "en"): (
            "",
            f"Hello {{name}}, this is {{rep}} from {{brand}}{en_offer}. We received your enquiry about "
            "{service} and would be glad to help. When would be a good time to talk?",
        ),
        ("email", "es"): (
            "{brand}: tu consulta sobre {service}",
            "Hola {name}:\n\n"
            f"Gracias por contactarte con {{brand}}{es_offer}. Recibimos tu consulta sobre {{service}} "
            "y me ocupo personalmente de responderte.\n\n"
            "Para preparar una propuesta, ¿me contás un poco más sobre lo que necesitás (volúmenes, "
            "plazos, ubicación)?\n\nSaludos,\n{rep}\n{brand}",
        ),
        ("email", "en"): (
            "{brand}: your enquiry about {service}",
            "Hello {name},\n\n"
            f"Thank you for contacting {{brand}}{en_offer}. We received your enquiry about {{service}} "
            "and I will be handling it personally.\n\n"
            "To prepare a proposal, could you tell me a little more about what you need (volumes, "
            "timing, location)?\n\nBest regards,\n{rep}\n{brand}",
        ),
    }


def seed(apps, schema_editor):
    Brand = apps.get_model("crm", "Brand")
    ContactTemplate = apps.get_model("crm", "ContactTemplate")
    for brand in Brand.objects.all():
        for (channel, language), (subject, body) in texts(OFFER.get(brand.code)).items():
            ContactTemplate.objects.get_or_create(
                brand=brand,
                channel=channel,
                language=language,
                defaults={"subject": subject, "body": body},
            )


class Migration(migrations.Migration):
    dependencies = [("crm", "0058_contact_templates")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
