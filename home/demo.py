"""Demo content of the public home page for both brands, with calls to action to their forms. Idempotent."""

from collections.abc import Mapping
from io import TextIOBase
from typing import Any

from django.utils.translation import gettext as _
from wagtail.models import Page

from .models import HomePage


def _link(label: str, page: Page | None, icon: str) -> dict[str, Any]:
    return {"label": label, "page": page.pk if page else None, "url": "", "icon": icon}


def home_page() -> HomePage | None:
    """The site's home page (the shallowest, oldest one)."""
    return HomePage.objects.order_by("depth", "pk").first()


def home_body(forms: Mapping[str, Page]) -> list[dict[str, Any]]:
    """The demo blocks, with calls to action to ``forms`` (the lead form page of each brand code)."""
    intralog, intrapal = forms.get("intralog"), forms.get("intrapal")
    return [
        {
            "type": "hero",
            "value": {
                "heading": "Logística y pallets para la industria argentina",
                "text": "Almacenamos, transportamos y gestionamos tu comercio exterior. Fabricamos y alquilamos pallets.",
                "image": None,
                "links": [
                    _link("Cotizar logística", intralog, "fa-truck-fast"),
                    _link("Cotizar pallets", intrapal, "fa-pallet"),
                ],
            },
        },
        {
            "type": "brand_services",
            "value": {
                "brand": "INTRALOG",
                "tagline": "Soluciones logísticas integrales.",
                "colour": "w3-indigo",
                "services": [
                    {
                        "icon": "fa-warehouse",
                        "title": "Almacenamiento y depósito",
                        "text": "Depósitos habilitados y control de stock.",
                    },
                    {
                        "icon": "fa-truck",
                        "title": "Transporte",
                        "text": "Distribución y cargas completas en todo el país.",
                    },
                    {
                        "icon": "fa-ship",
                        "title": "Comercio exterior",
                        "text": "Importación, exportación y despacho aduanero.",
                    },
                ],
                "call_to_action": _link("Contactar a INTRALOG", intralog, "fa-envelope"),
            },
        },
        {
            "type": "brand_services",
            "value": {
                "brand": "INTRAPAL",
                "tagline": "Pallets nuevos, usados y a medida.",
                "colour": "w3-deep-orange",
                "services": [
                    {
                        "icon": "fa-pallet",
                        "title": "Compra de pallets",
                        "text": "Stock permanente de medidas estándar.",
                    },
                    {
                        "icon": "fa-recycle",
                        "title": "Alquiler de pallets",
                        "text": "Pool de pallets para tu operación.",
                    },
                    {
                        "icon": "fa-ruler-combined",
                        "title": "Pallets a medida",
                        "text": "Fabricación según tu carga.",
                    },
                ],
                "call_to_action": _link("Contactar a INTRAPAL", intrapal, "fa-envelope"),
            },
        },
        {
            "type": "call_to_action",
            "value": {
                "heading": "¿Hablamos?",
                "text": "Dejanos tus datos y un asesor te contacta en el día.",
                "links": [
                    _link("INTRALOG", intralog, "fa-file-signature"),
                    _link("INTRAPAL", intrapal, "fa-file-signature"),
                ],
            },
        },
    ]


def fill_home_page(home: HomePage, forms: Mapping[str, Page], stdout: TextIOBase) -> None:
    """Publish the demo content on ``home`` unless it already has content of its own."""
    if home.body:
        return
    home.intro = ""
    home.body = home_body(forms)
    home.save_revision().publish()
    stdout.write(_("Filled the home page with the demo content."))
