"""Demo lead form pages: one per brand, with the fields of the original WordPress forms. Idempotent."""

from io import TextIOBase
from typing import Any

from django.utils.translation import gettext as _
from wagtail.models import Page

from crm.models import Brand, Service, Source

from .models import LeadFormField, LeadFormPage

JOB_SEEKER_OPTION = "Busco trabajo/ Ofrezco productos o servicios"

FORMS: dict[str, dict[str, Any]] = {
    "intralog": {
        "slug": "contacto-intralog",
        "title": "Contacto INTRALOG",
        "intro": "<p>Contanos qué necesitás: almacenamiento, transporte o comercio exterior.</p>",
        "company": True,
    },
    "intrapal": {
        "slug": "contacto-intrapal",
        "title": "Contacto INTRAPAL",
        "intro": "<p>Compra, alquiler y pallets a medida: pedinos una cotización.</p>",
        "company": False,
    },
}


def _fields(brand: Brand, with_company: bool) -> list[LeadFormField]:
    services = list(Service.objects.filter(brand=brand, is_active=True).values_list("name", flat=True))
    fields = [("Nombre y apellido", "singleline", "name", True, "")]
    if with_company:
        fields.append(("Razón social", "singleline", "company", False, ""))
    fields += [
        ("Email", "email", "email", True, ""),
        ("Teléfono", "singleline", "phone", True, ""),
        ("Ubicación", "singleline", "location", False, ""),
        ("Me interesa el servicio", "dropdown", "service", True, "\n".join([*services, JOB_SEEKER_OPTION])),
        ("Mensaje", "multiline", "message", False, ""),
    ]
    return [
        LeadFormField(
            sort_order=order,
            label=label,
            field_type=kind,
            lead_field=lead_field,
            required=required,
            choices=choices,
        )
        for order, (label, kind, lead_field, required, choices) in enumerate(fields)
    ]


def ensure_form_pages(parent: Page, stdout: TextIOBase | None = None) -> dict[str, LeadFormPage]:
    """The demo form page of each brand, by brand code, under ``parent`` (created once, left alone afterwards)."""
    pages = {}
    web_form = Source.objects.filter(key="web_form").first()
    for code, spec in FORMS.items():
        brand = Brand.objects.filter(code=code).first()
        if brand is None:
            continue
        page = LeadFormPage.objects.filter(slug=spec["slug"]).first()
        if page is None:
            page = LeadFormPage(
                title=spec["title"],
                slug=spec["slug"],
                intro=spec["intro"],
                thank_you_text="<p>¡Gracias! Recibimos tu consulta y te contactaremos a la brevedad.</p>",
                brand=brand,
                source=web_form,
                submit_label="Enviar",
                show_in_menus=True,
                form_fields=_fields(brand, spec["company"]),
            )
            parent.add_child(instance=page)
            page.save_revision().publish()
            if stdout:
                stdout.write(_("Created the lead form “%(title)s”.") % {"title": page.title})
        pages[code] = page
    return pages
