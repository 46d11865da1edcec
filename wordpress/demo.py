"""Demo data: a WordPress source pointing at the fake site (``manage.py fake_wordpress --port 8765``)."""

from django.utils.translation import gettext as _

from crm.models import Brand

from .fake import FakeWordPress
from .models import SourceForm, WordPressSource

DEMO_PORT = 8765
DEMO_FORMS = {"3": "intralog", "4": "intralog", "5": "intralog", "7": "intrapal"}


def seed(stdout, options):
    site = FakeWordPress(forms={})
    source, _created = WordPressSource.objects.update_or_create(
        name="Demo WordPress",
        defaults={
            "slug": "demo-wordpress",
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
            "Demo WordPress source ready: run “manage.py fake_wordpress --port %(port)s”, then “manage.py wp_sync”."
        )
        % {"port": DEMO_PORT}
    )
