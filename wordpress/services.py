"""Managing sources: create from the command line or admin, note an edit, rotate webhook proofs, queue a sync."""

import zoneinfo
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _
from rq.job import Job

from core.jobs import enqueue
from crm.models import Brand, Service

from .models import SourceForm, SyncRun, WordPressSource, new_webhook_secret, new_webhook_token


def parse_form_spec(spec: str) -> tuple[str, Brand, Service | None]:
    """``ID:BRAND[:SERVICE NAME]`` → ``(form_id, brand, service or None)``."""
    form_id, _sep, rest = spec.partition(":")
    brand_code, _sep, service_name = rest.partition(":")
    if not form_id.strip() or not brand_code.strip():
        raise ValidationError(
            _("A form is given as ID:BRAND, e.g. 3:intralog (got “%(spec)s”).") % {"spec": spec}
        )
    brand = Brand.objects.filter(code__iexact=brand_code.strip()).first()
    if brand is None:
        raise ValidationError(_("Unknown brand “%(brand)s”.") % {"brand": brand_code})
    service = None
    if service_name.strip():
        service = Service.objects.filter(brand=brand, name__iexact=service_name.strip()).first()
        if service is None:
            raise ValidationError(
                _("Unknown service “%(service)s” for %(brand)s.") % {"service": service_name, "brand": brand}
            )
    return form_id.strip(), brand, service


@transaction.atomic
def create_source(  # noqa: PLR0913 - known debt (ARCHITECTURE.md, Habits)
    name: str,
    shape: str,
    url: str,
    username: str,
    password: str,
    timezone_name: str,
    forms: Iterable[tuple[str, Brand, Service | None]],
    slug: str = "",
    interval_minutes: int = 5,
) -> WordPressSource:
    """Create a source with its forms (``[(form_id, brand, service)]``); validates everything first."""
    if WordPressSource.objects.filter(name=name).exists():
        raise ValidationError(_("A source named “%(name)s” exists already.") % {"name": name})
    if shape not in WordPressSource.Shape.values:
        raise ValidationError(_("Unknown shape “%(shape)s”.") % {"shape": shape})
    try:
        zoneinfo.ZoneInfo(timezone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(_("Unknown time zone “%(tz)s”.") % {"tz": timezone_name}) from error
    source = WordPressSource(
        name=name,
        slug=slug or slugify(name)[:100],
        shape=shape,
        url=url,
        username=username,
        app_password=password,
        timezone=timezone_name,
        interval_minutes=interval_minutes,
    )
    source.full_clean()
    source.save()
    for form_id, brand, service in forms:
        SourceForm.objects.create(source=source, form_id=form_id, brand=brand, default_service=service)
    return source


def rotate_webhook_token(source: WordPressSource) -> str:
    source.webhook_token = new_webhook_token()
    source.save(update_fields=["webhook_token", "updated_at"])
    return source.webhook_token


def rotate_webhook_secret(source: WordPressSource) -> str:
    source.webhook_secret = new_webhook_secret()
    source.save(update_fields=["webhook_secret", "updated_at"])
    return source.webhook_secret


def mark_edited(source: WordPressSource) -> None:
    """An admin edited the source: credentials or rights may be fixed, so scheduled syncs resume."""
    if source.health in WordPressSource.REFUSED_HEALTH:
        source.health = WordPressSource.Health.UNKNOWN
    source.next_sync_at = None


def queue_sync(source: WordPressSource, full: bool = False, trigger: str = SyncRun.Trigger.MANUAL) -> Job:
    return enqueue("wordpress.jobs.sync_source_job", source.pk, full, trigger, queue="default")
