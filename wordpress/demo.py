"""Demo data: a WordPress source pointing at the fake site, which ``manage.py rundev`` (``make run``) serves."""

import logging
from urllib.parse import urlsplit

from django.db import DatabaseError
from django.utils.translation import gettext as _

from crm.models import Brand

from .fake import FakeWordPress
from .models import SourceForm, WordPressSource

DEMO_PORT = 8765
DEMO_SLUG = "demo-wordpress"
DEMO_FORMS = {"3": "intralog", "4": "intralog", "5": "intralog", "7": "intrapal"}
DEMO_SUBMISSIONS_PER_FORM = 50
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

logger = logging.getLogger(__name__)


def seed(stdout, options):
    site = FakeWordPress(forms={})
    source, _created = WordPressSource.objects.update_or_create(
        name="Demo WordPress",
        defaults={
            "slug": DEMO_SLUG,
            "shape": WordPressSource.Shape.COLLECTION,
            "url": f"http://127.0.0.1:{DEMO_PORT}/wp-json/leads/v1/submissions",
            "username": site.username,
            "app_password": site.password,
        },
    )
    brands = {brand.code: brand for brand in Brand.objects.all()}
    for form_id, brand_code in DEMO_FORMS.items():
        if brand_code in brands:
            SourceForm.objects.get_or_create(
                source=source, form_id=form_id, defaults={"brand": brands[brand_code]}
            )
    stdout.write(
        _(
            "Demo WordPress source ready: “make run” (manage.py rundev) serves its site on port %(port)s; "
            "elsewhere run “manage.py fake_wordpress --port %(port)s”."
        )
        % {"port": DEMO_PORT}
    )


def serve_demo_site():
    """Start, in this process, the fake WordPress site the demo source points at (the port of its URL).

    Returns the running ``FakeWordPress``, or None when there is no demo source, it points elsewhere,
    or its port is taken (e.g. ``manage.py fake_wordpress`` already serves it).
    """
    try:
        source = WordPressSource.objects.filter(slug=DEMO_SLUG).first()
    except DatabaseError:
        return None
    address = urlsplit(source.url) if source else None
    if address is None or address.hostname not in LOCAL_HOSTS or address.port is None:
        return None
    site = FakeWordPress(forms=dict.fromkeys(DEMO_FORMS, DEMO_SUBMISSIONS_PER_FORM))
    try:
        site.start(address.port)
    except OSError as error:
        logger.warning("Demo WordPress not started on port %s: %s", address.port, error)
        return None
    return site
