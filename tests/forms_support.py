"""Helpers for the lead form tests: a form page like the demo ones and a valid submission of it."""

import time

from django.utils.text import slugify

from crm.models import Source
from forms_builder.forms import HONEYPOT_FIELD, RENDER_TOKEN_FIELD
from forms_builder.guards import make_render_token
from forms_builder.models import LeadFormField, LeadFormPage
from home.models import HomePage

FIELDS = [
    ("Nombre y apellido", "singleline", "name", True, ""),
    ("Razón social", "singleline", "company", False, ""),
    ("Email", "email", "email", True, ""),
    ("Teléfono", "singleline", "phone", True, ""),
    ("Ubicación", "singleline", "location", False, ""),
    ("Me interesa el servicio", "dropdown", "service", True, "Transporte\nComercio exterior\nOtro"),
    ("Mensaje", "multiline", "message", False, ""),
    ("Cantidad de pallets", "number", "extra", False, ""),
]

VALID = {
    "nombre_y_apellido": "María José Ñandú",
    "razon_social": "Logística Austral S.A.",
    "email": "  Maria@Example.COM ",
    "telefono": "011 4444-5555",
    "ubicacion": "Córdoba",
    "me_interesa_el_servicio": "Transporte",
    "mensaje": "Necesito mover 20 pallets\npor semana.",
    "cantidad_de_pallets": "20",
}


def make_form_page(brand, title="Contacto INTRALOG", *, staff_only=False, source_key="web_form", **extra):
    home = HomePage.objects.order_by("depth", "pk").first()
    page = LeadFormPage(
        title=title,
        slug=slugify(title),
        intro="<p>Contanos qué necesitás.</p>",
        thank_you_text="<p>¡Gracias por escribirnos!</p>",
        brand=brand,
        source=Source.objects.get(key=source_key),
        staff_only=staff_only,
        form_fields=[
            LeadFormField(
                sort_order=i, label=label, field_type=kind, lead_field=lead, required=req, choices=choices
            )
            for i, (label, kind, lead, req, choices) in enumerate(FIELDS)
        ],
        **extra,
    )
    home.add_child(instance=page)
    return LeadFormPage.objects.get(pk=page.pk)


def submission(page, values=None, *, seconds_ago=30, honeypot=""):
    data = dict(VALID if values is None else values)
    data[RENDER_TOKEN_FIELD] = make_render_token(page.pk, time.time() - seconds_ago)
    data[HONEYPOT_FIELD] = honeypot
    return data
